import CSQLite

/// A failed SQLite call, with SQLite's own message and the statement it came from.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public var description: String { "SQLite error \(code): \(message)" }
}

/// One SQLite connection. Not thread-safe by design: each is owned by one thread at a time (the writer
/// thread, or a reader checked out of the pool), so SQLite's own mutexes are switched off.
final class SQLiteConnection {
    let handle: OpaquePointer
    // A connection is one thread's at a time (above), so its state skips Swift's runtime exclusivity
    // check, which every statement of the writer paid (docs/performance.md, item 52).
    @exclusivity(unchecked) private var statements: [String: Statement] = [:]
    /// Statements whose SQL is a literal, found by the literal's address: hashing the SQL text of
    /// every hot-path statement on every call cost more than binding its parameters.
    @exclusivity(unchecked) private var literalStatements: [UnsafeRawPointer: Statement] = [:]
    /// Released only after this connection has closed (a deinit's body runs before the stored
    /// properties are released): what must outlive the connection's own descriptors, such as
    /// `WrittenPageRelease`'s descriptor on the same file.
    var heldUntilClosed: AnyObject?

    /// Process-wide settings, applied before SQLite's first use (the first connection, or the
    /// writer's VFS registration). Memory statistics off: Debian's SQLite is built without its
    /// lookaside allocator, so it calls `malloc` often, and with statistics on each call also takes
    /// a process-wide mutex. Nothing here reads the statistics (docs/performance.md, item 46).
    static let processSettings: Void = { _ = layeron_sqlite_memstatus_off() }()

    /// `vfs` names a registered SQLite VFS; nil is the default one.
    init(path: String, readOnly: Bool = false, vfs: String? = nil) throws(SQLiteError) {
        Self.processSettings
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, vfs)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "\(path): \(message)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        sqlite3_wal_hook(handle, nil, nil)
        statements.removeAll()
        literalStatements.removeAll()
        sqlite3_close_v2(handle)
    }

    func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message)
        }
    }

    /// Runs a statement without results through the statement cache (transaction control on the
    /// writer's hot path), so it is not re-parsed as `execute` would.
    func run(_ sql: StaticString) throws(SQLiteError) {
        try prepared(sql).run()
    }

    /// A prepared statement, cached by its SQL text: SQL built at run time (the admin list's filters)
    /// is parsed once per distinct text.
    func statement(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try prepare(sql)
        statements[sql] = statement
        return statement
    }

    /// A prepared statement for literal SQL, cached by the literal's address: what the hot path uses.
    func prepared(_ sql: StaticString) throws(SQLiteError) -> Statement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = literalStatements[key] {
            cached.reset()
            return cached
        }
        let statement = try prepare(sql.description)
        literalStatements[key] = statement
        return statement
    }

    private func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc) }
        return Statement(stmt, connection: self)
    }

    func error(_ rc: Int32) -> SQLiteError {
        SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Frames in the WAL after this connection's last commit, once `trackWALFrames()` has been called.
    @exclusivity(unchecked) private(set) var walFrames: Int32 = 0

    /// Replaces SQLite's automatic checkpoint (which shares the WAL hook) with a count of the WAL's
    /// frames after each commit, read from `walFrames`; checkpoints are then the caller's to run.
    func trackWALFrames() {
        sqlite3_wal_hook(handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().walFrames = frames
            return SQLITE_OK
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// A passive checkpoint of the main database: copies what it can without waiting for anyone.
    @discardableResult
    func checkpointPassive() -> PassiveCheckpoint {
        var backfilled: Int32 = -1
        let code = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, &backfilled)
        return PassiveCheckpoint(code: code, backfilledFrames: backfilled)
    }

    /// Syncs this connection's handle on the WAL file, as SQLite's own checkpoint does before it
    /// copies frames. Returns SQLite's result, or nil when the connection has no WAL open.
    @discardableResult
    func syncWAL() -> Int32? {
        sync(SQLITE_FCNTL_JOURNAL_POINTER)
    }

    /// Syncs this connection's handle on the database file, as SQLite's own checkpoint does once it
    /// has copied every frame. Through SQLite's handle rather than a descriptor of our own: closing
    /// any descriptor of the file would drop the POSIX locks every connection of the process holds
    /// on it. Returns SQLite's result, or nil when the file is not open.
    @discardableResult
    func syncDatabase() -> Int32? {
        sync(SQLITE_FCNTL_FILE_POINTER)
    }

    /// Syncs the file that `pointerOperation` (a `SQLITE_FCNTL_…_POINTER`) names, nil when it is not open.
    private func sync(_ pointerOperation: Int32) -> Int32? {
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(handle, "main", pointerOperation, &file) == SQLITE_OK,
              let file, let methods = file.pointee.pMethods, let sync = methods.pointee.xSync else { return nil }
        return sync(file, SQLITE_SYNC_NORMAL)
    }

    /// The database's page size in bytes (the size of one WAL frame's page).
    var pageSize: Int {
        guard let stmt = try? prepare("PRAGMA page_size"), (try? stmt.step()) == true else { return 4096 }
        return Int(stmt.int(0))
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement. Parameters are bound by 1-based position; columns are read by 0-based index.
final class Statement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection
    /// Holds the text and blob parameters, bound as static (`BindArena`); freed after the finalize.
    // Its connection's thread's alone, like the connection's own state (item 52).
    @exclusivity(unchecked) private var arena = BindArena()

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        arena.reset()
    }

    /// Binds the UTF-8 bytes with their length, so SQLite neither measures nor re-scans them.
    @discardableResult
    func bind(_ index: Int32, _ value: String?) -> Statement {
        guard var value else {
            sqlite3_bind_null(stmt, index)
            return self
        }
        value.withUTF8 { bindText(index, UnsafeRawBufferPointer($0)) }
        return self
    }

    /// Binds UTF-8 bytes the caller has made as text (for example JSON written from strings).
    @discardableResult
    func bind(_ index: Int32, text utf8: [UInt8]) -> Statement {
        utf8.withUnsafeBytes { bindText(index, $0) }
        return self
    }

    /// The arena's copy always has an address, also for empty text (SQLite would bind a missing
    /// address as NULL).
    private func bindText(_ index: Int32, _ utf8: UnsafeRawBufferPointer) {
        let copy = arena.copy(utf8)
        sqlite3_bind_text(stmt, index, copy.assumingMemoryBound(to: CChar.self), Int32(utf8.count), nil)
    }

    @discardableResult
    func bind(_ index: Int32, _ value: Int64?) -> Statement {
        if let value { sqlite3_bind_int64(stmt, index, value) } else { sqlite3_bind_null(stmt, index) }
        return self
    }

    @discardableResult
    func bind(_ index: Int32, blob: [UInt8]) -> Statement {
        let copy = blob.withUnsafeBytes { arena.copy($0) }
        sqlite3_bind_blob64(stmt, index, copy, sqlite3_uint64(blob.count), nil)
        return self
    }

    /// Advances one row: true while rows remain.
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws(SQLiteError) {
        while try step() {}
    }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }

    func optionalInt(_ column: Int32) -> Int64? {
        sqlite3_column_type(stmt, column) == SQLITE_NULL ? nil : sqlite3_column_int64(stmt, column)
    }

    /// Read by its byte count, not up to a NUL: text such as a handler's message is given as bytes
    /// and a length, and a NUL in it is kept (and read back) like any other byte.
    func string(_ column: Int32) -> String? {
        guard let text = sqlite3_column_text(stmt, column) else { return nil }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard count > 0, let pointer = sqlite3_column_blob(stmt, column) else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
