import Foundation
import LayeronCore
import LayeronCrypto

/// One row of `layeron secrets list`: everything about a secret except its value.
public struct SecretListing: Sendable, Equatable {
    public let name: String
    public let environment: String
    /// The primary value's version.
    public let version: Int64
    /// Values that verify now: the primary, plus old ones still in a rotation's grace.
    public let liveValues: Int
    /// When the primary was set, Unix ms.
    public let updatedAt: Int64
    /// When the last old value in grace stops verifying, Unix ms; nil when none is in grace.
    public let graceEndsAt: Int64?
}

/// The encrypted secrets store: its own SQLite file beside the events database, mode 0600. Every value
/// is sealed with AES-256-GCM under the master key, with the name, environment and version as
/// associated data, so a value copied to another row refuses to open. Each call opens its own
/// connection: writes come from the CLI and reads from a reload, both rare, and a value type with no
/// open handle is safe to share between threads.
public struct SecretStore: Sendable {
    public let path: String
    private let key: MasterKey

    /// `secrets.db` in the database's folder.
    public static func path(besideDatabase database: String) -> String {
        sibling(of: database, named: "secrets.db")
    }

    /// `master.key` in the database's folder: where development keeps its generated key.
    public static func keyFile(besideDatabase database: String) -> String {
        sibling(of: database, named: "master.key")
    }

    private static func sibling(of file: String, named name: String) -> String {
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? name : "\(directory)/\(name)"
    }

    public static func isValidEnvironment(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_")
        }
    }

    /// Opens the store, creating it (mode 0600) and its schema when missing, and proves the key opens it.
    public init(path: String, key: MasterKey) throws(SecretStoreError) {
        self.path = path
        self.key = key
        try createPrivateFile()
        try withConnection { db in
            try Migrations.migrate(db, steps: SecretStoreSchema.steps)
            let current = try Self.scalar(db, "PRAGMA user_version") ?? 0
            if current > Int64(SecretStoreSchema.steps.count) {
                throw SecretStoreError.newerSchema(path: path, version: current, known: SecretStoreSchema.steps.count)
            }
            try checkKey(db)
        }
    }

    // MARK: Writes

    /// Makes `value` the only value of `name` in `environment`; any older value stops verifying now.
    @discardableResult
    public func set(_ name: String, environment: String, value: SecretValue, now: Int64) throws(SecretStoreError) -> Int64 {
        try validate(name, environment, value)
        return try transaction(now: now) { db in
            let version = try nextVersion(db, name, environment)
            try db.statement("DELETE FROM secret_versions WHERE name = ?1 AND environment = ?2")
                .bind(1, name).bind(2, environment).run()
            try insert(db, name, environment, version, value, now: now)
            return version
        }
    }

    /// Makes `value` the primary and keeps the current primary verifying until `now + grace`. Old
    /// values already in grace keep their own end. Returns the new version and when the grace ends.
    @discardableResult
    public func rotate(_ name: String, environment: String, value: SecretValue, grace: TimeSpan,
                       now: Int64) throws(SecretStoreError) -> (version: Int64, graceEndsAt: Int64) {
        try validate(name, environment, value)
        return try transaction(now: now) { db in
            let primaries = try Self.scalar(db, "SELECT COUNT(*) FROM secret_versions WHERE name = ?1 AND environment = ?2 AND expires_at IS NULL") {
                $0.bind(1, name).bind(2, environment)
            }
            guard (primaries ?? 0) > 0 else { throw SecretStoreError.notFound(name: name, environment: environment) }
            let version = try nextVersion(db, name, environment)
            let ends = now + grace.milliseconds
            try db.statement("UPDATE secret_versions SET expires_at = ?3 WHERE name = ?1 AND environment = ?2 AND expires_at IS NULL")
                .bind(1, name).bind(2, environment).bind(3, ends).run()
            try insert(db, name, environment, version, value, now: now)
            return (version, ends)
        }
    }

    /// Removes every version of `name` in `environment`.
    public func remove(_ name: String, environment: String, now: Int64) throws(SecretStoreError) {
        try transaction(now: now) { db in
            try db.statement("DELETE FROM secret_versions WHERE name = ?1 AND environment = ?2")
                .bind(1, name).bind(2, environment).run()
            if db.changes == 0 { throw SecretStoreError.notFound(name: name, environment: environment) }
        }
    }

    // MARK: Reads

    /// The values of `name` that verify at `now`, the primary first; empty when the store has none.
    public func values(_ name: String, environment: String, now: Int64) throws(SecretStoreError) -> [SecretValue] {
        try allValues(environment: environment, now: now, only: name)[name] ?? []
    }

    /// Every name's live values in `environment`, each primary first: what a snapshot resolves from.
    public func allValues(environment: String, now: Int64) throws(SecretStoreError) -> [String: [SecretValue]] {
        try allValues(environment: environment, now: now, only: nil)
    }

    private func allValues(environment: String, now: Int64, only name: String?) throws(SecretStoreError) -> [String: [SecretValue]] {
        try withConnection { db in
            let query = try db.statement("""
                SELECT name, version, sealed FROM secret_versions
                WHERE environment = ?1 AND (?2 IS NULL OR name = ?2) AND (expires_at IS NULL OR expires_at > ?3)
                ORDER BY name, expires_at IS NOT NULL, version DESC
                """)
            query.bind(1, environment).bind(2, name).bind(3, now)
            var out: [String: [SecretValue]] = [:]
            while try query.step() {
                let rowName = query.string(0) ?? ""
                let version = query.int(1)
                let plaintext: [UInt8]
                do {
                    plaintext = try AESGCM.open(query.blob(2), key: key.bytes,
                                                associatedData: Self.binding(rowName, environment, version))
                } catch {
                    query.reset()
                    // A store rekeyed since this one was opened fails every value: say that, not
                    // that one value was tampered with.
                    try checkKey(db)
                    throw SecretStoreError.cannotDecrypt(path: path, name: rowName, environment: environment, version: version)
                }
                out[rowName, default: []].append(SecretValue(bytes: plaintext))
            }
            query.reset()
            return out
        }
    }

    /// Names, environments, versions and times; never a value, so listing needs no decryption.
    public func list(now: Int64) throws(SecretStoreError) -> [SecretListing] {
        try withConnection { db in
            let query = try db.statement("""
                SELECT name, environment,
                       MAX(CASE WHEN expires_at IS NULL THEN version END),
                       COUNT(*),
                       MAX(CASE WHEN expires_at IS NULL THEN created_at END),
                       MAX(expires_at)
                FROM secret_versions
                WHERE expires_at IS NULL OR expires_at > ?1
                GROUP BY name, environment ORDER BY name, environment
                """)
            query.bind(1, now)
            var out: [SecretListing] = []
            while try query.step() {
                out.append(SecretListing(name: query.string(0) ?? "", environment: query.string(1) ?? "",
                                         version: query.int(2), liveValues: Int(query.int(3)),
                                         updatedAt: query.int(4), graceEndsAt: query.optionalInt(5)))
            }
            query.reset()
            return out
        }
    }

    /// The next moment after `now` at which an old value in `environment` stops verifying: when a
    /// running server must rebuild its snapshot even though the file did not change.
    public func nextGraceEnd(environment: String, after now: Int64) throws(SecretStoreError) -> Int64? {
        try withConnection { db in
            try Self.scalar(db, "SELECT MIN(expires_at) FROM secret_versions WHERE environment = ?1 AND expires_at > ?2") {
                $0.bind(1, environment).bind(2, now)
            }
        }
    }

    /// Seals every value, and the key check, under `newKey` instead of this store's key, in one
    /// transaction: a crash leaves the store wholly under one key or the other. Returns how many
    /// values were resealed. Expired grace values are purged first, as by every write.
    @discardableResult
    public func rekey(to newKey: MasterKey, now: Int64) throws(SecretStoreError) -> Int {
        try transaction(now: now) { db in
            try checkKey(db)
            let rows = try db.statement("SELECT name, environment, version, sealed FROM secret_versions")
            var resealed: [(name: String, environment: String, version: Int64, sealed: [UInt8])] = []
            while try rows.step() {
                let name = rows.string(0) ?? ""
                let environment = rows.string(1) ?? ""
                let version = rows.int(2)
                let binding = Self.binding(name, environment, version)
                guard let value = try? AESGCM.open(rows.blob(3), key: key.bytes, associatedData: binding) else {
                    rows.reset()
                    throw SecretStoreError.cannotDecrypt(path: path, name: name, environment: environment, version: version)
                }
                resealed.append((name, environment, version, try AESGCM.seal(value, key: newKey.bytes, associatedData: binding)))
            }
            rows.reset()
            let update = try db.statement("UPDATE secret_versions SET sealed = ?4 WHERE name = ?1 AND environment = ?2 AND version = ?3")
            for row in resealed {
                try update.bind(1, row.name).bind(2, row.environment).bind(3, row.version).bind(4, blob: row.sealed).run()
                // Binding a statement that has run but not been reset is refused, and the step would
                // repeat the previous row's update.
                update.reset()
            }
            let check = try AESGCM.seal(Self.keyCheckText, key: newKey.bytes, associatedData: Self.keyCheckBinding)
            try db.statement("UPDATE store_key_check SET sealed = ?1 WHERE id = 1").bind(1, blob: check).run()
            return resealed.count
        }
    }

    // MARK: Internals

    /// The associated data that binds a sealed value to its row.
    static func binding(_ name: String, _ environment: String, _ version: Int64) -> [UInt8] {
        Array("layeron-secret\u{0}\(name)\u{0}\(environment)\u{0}\(version)".utf8)
    }

    private static let keyCheckText = Array("layeron secrets store key check".utf8)
    private static let keyCheckBinding = Array("layeron-key-check".utf8)

    /// A new store records a known text sealed under its key; an existing one must open it, so a wrong
    /// key is one clear error at start rather than every secret failing to decrypt.
    private func checkKey(_ db: SQLiteConnection) throws {
        let query = try db.statement("SELECT sealed FROM store_key_check WHERE id = 1")
        if try query.step() {
            let sealed = query.blob(0)
            query.reset()
            guard let text = try? AESGCM.open(sealed, key: key.bytes, associatedData: Self.keyCheckBinding),
                  text == Self.keyCheckText else { throw SecretStoreError.wrongKey(path: path) }
            return
        }
        query.reset()
        let sealed = try AESGCM.seal(Self.keyCheckText, key: key.bytes, associatedData: Self.keyCheckBinding)
        try db.statement("INSERT OR IGNORE INTO store_key_check (id, sealed) VALUES (1, ?1)").bind(1, blob: sealed).run()
    }

    private func validate(_ name: String, _ environment: String, _ value: SecretValue) throws(SecretStoreError) {
        guard SecretReference.isValidName(name) else { throw .invalidName }
        guard Self.isValidEnvironment(environment) else { throw .invalidEnvironment(environment) }
        guard !value.bytes.isEmpty else { throw .emptyValue(name: name) }
    }

    private func nextVersion(_ db: SQLiteConnection, _ name: String, _ environment: String) throws -> Int64 {
        try Self.scalar(db, "SELECT COALESCE(MAX(version), 0) + 1 FROM secret_versions WHERE name = ?1 AND environment = ?2") {
            $0.bind(1, name).bind(2, environment)
        } ?? 1
    }

    /// The first column of the first row, nil when it is NULL.
    private static func scalar(_ db: SQLiteConnection, _ sql: String, bind: (Statement) -> Void = { _ in }) throws -> Int64? {
        let query = try db.statement(sql)
        bind(query)
        _ = try query.step()
        let value = query.optionalInt(0)
        query.reset()
        return value
    }

    private func insert(_ db: SQLiteConnection, _ name: String, _ environment: String, _ version: Int64,
                        _ value: SecretValue, now: Int64) throws {
        let sealed = try AESGCM.seal(value.bytes, key: key.bytes, associatedData: Self.binding(name, environment, version))
        try db.statement("INSERT INTO secret_versions (name, environment, version, sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .bind(1, name).bind(2, environment).bind(3, version).bind(4, blob: sealed).bind(5, now).run()
    }

    /// Creates the file with mode 0600 before SQLite opens it (SQLite gives its journal the same mode),
    /// and tightens a file someone loosened.
    private func createPrivateFile() throws(SecretStoreError) {
        PrivateFolders.make(toFile: path)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .sqlite(path: path, SQLiteError(code: errno, message: "cannot create: \(String(cString: strerror(errno)))"))
        }
        // Only when loosened: a change of mode is a change of the file, and a running server takes
        // that for a store change and reloads (`layeron secrets list` must not make it).
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & 0o777 != 0o600 { _ = fchmod(fd, 0o600) }
        close(fd)
    }

    /// One write transaction; expired grace values are purged on the way, so they leave the file.
    private func transaction<T>(now: Int64, _ body: (SQLiteConnection) throws -> T) throws(SecretStoreError) -> T {
        try withConnection { db in
            try db.execute("BEGIN IMMEDIATE")
            do {
                try db.statement("DELETE FROM secret_versions WHERE expires_at IS NOT NULL AND expires_at <= ?1").bind(1, now).run()
                let result = try body(db)
                try db.execute("COMMIT")
                return result
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws -> T) throws(SecretStoreError) -> T {
        do {
            let db = try SQLiteConnection(path: path)
            // Deleted rows (old versions, removed secrets) are overwritten on disk, not left in free pages.
            try db.execute("PRAGMA secure_delete = ON")
            return try body(db)
        } catch let error as SecretStoreError {
            throw error
        } catch let error as SQLiteError {
            throw .sqlite(path: path, error)
        } catch let error as AESGCMError {
            throw .crypto(path: path, error)
        } catch {
            throw .sqlite(path: path, SQLiteError(code: -1, message: "\(error)"))
        }
    }
}
