import CSQLite
import CWALWriteBuffer
import Foundation
import LayeronCore
import LayeronCrypto

/// The events database: one writer thread with group commit, a small pool of read connections.
public final class EventStore: @unchecked Sendable {
    let writer: GroupCommitWriter
    let readers: ReaderPool
    public let path: String
    /// The most bytes the WAL file keeps once it starts over (`PRAGMA journal_size_limit`).
    static let walSizeLimit = 96 << 20
    /// Answers most dedupe misses without a lookup; used only inside writer jobs.
    private let dedupeWindow: DedupeWindow
    /// Numbers new events; used only inside writer jobs.
    let numbering: EventNumbering
    /// Backfills the WAL off the writer thread; stopped after the writer.
    private let checkpointer: WALCheckpointer

    public init(path: String, durability: Durability = .normal, readers readerCount: Int = 2) throws(EventStoreOpenError) {
        self.path = path
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue { throw .directory }
        PrivateFolders.make(toFile: path)
        // Webhook bodies and headers are customers' data: a new database is readable by its owner
        // only (SQLite gives its -wal and -shm files the database's mode). An existing file keeps the
        // mode its operator chose.
        let created = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if created >= 0 { Glibc.close(created) }
        // The writer's WAL frames reach the kernel in one write per commit (CWALWriteBuffer); should
        // the VFS not register, the default one does the same job with two writes per frame.
        SQLiteConnection.processSettings
        let vfs = layeron_wal_buffer_register() == SQLITE_OK ? LAYERON_WAL_BUFFER_VFS : nil
        let connection: SQLiteConnection
        let synchronous = durability == .fsync ? "FULL" : "NORMAL"
        let version: Int64
        do throws(SQLiteError) {
            connection = try SQLiteConnection(path: path, vfs: vfs)
            try connection.execute("PRAGMA journal_mode=WAL")
            try connection.execute("PRAGMA synchronous=\(synchronous)")
            // The WAL file keeps its size when it starts over. A cycle ends near 64 MB, at most 72
            // plus one batch (`WALCycle`, `GroupCommitWriter.maxBatchBytes`), so this limit never
            // cuts a normal cycle; a WAL that one large transaction grew past it (a store written by
            // a build whose batches had no byte cap reached 209 MB) is cut back to it when the
            // writer's next commit after its own checkpoint starts it over.
            try connection.execute("PRAGMA journal_size_limit=\(EventStore.walSizeLimit)")
            try connection.execute("PRAGMA foreign_keys=OFF")
            try Migrations.migrate(connection)
            let statement = try connection.statement("PRAGMA user_version")
            _ = try statement.step()
            version = statement.int(0)
            statement.reset()
        } catch {
            throw .sqlite(error)
        }
        guard version <= Int64(Migrations.steps.count) else {
            throw .newerSchema(version: version, known: Migrations.steps.count)
        }
        do throws(SQLiteError) {
            // Keys recorded before this start are not in memory: misses are checked in the store until
            // the last of them has expired, which the stored horizon bounds.
            let horizon = try connection.prepared("SELECT COALESCE(MAX(live_until), 0) FROM dedupe_horizon")
            _ = try horizon.step()
            let window = DedupeWindow(preexistingLiveUntil: horizon.int(0))
            horizon.reset()
            dedupeWindow = window
            numbering = try EventNumbering(reading: connection)
            // Opened once the file exists; every connection of the store holds it, so that its
            // descriptor closes after theirs.
            let release = WrittenPageRelease(path: path, pageSize: connection.pageSize)
            connection.heldUntilClosed = release
            let checkpointer = try WALCheckpointer(path: path, synchronous: synchronous, release: release)
            self.checkpointer = checkpointer
            writer = GroupCommitWriter(connection: connection, checkpointer: checkpointer, afterRollback: { window.rolledBack() })
            readers = try ReaderPool(path: path, count: readerCount, heldUntilClosed: release)
        } catch {
            throw .sqlite(error)
        }
    }

    /// Runs `hook` on the completion thread after the completions of each committed (or failed) batch:
    /// completions can collect what they hand to other threads and `hook` passes it on at once, one
    /// lock and one wake-up per batch instead of per event. Hooks run in the order they were added.
    public func afterEachBatch(_ hook: @escaping @Sendable () -> Void) {
        writer.afterEachBatch(hook)
    }

    /// The writer's batches and the jobs they held since the store opened (the metrics page's batch size).
    public var writerBatchCounts: BatchCounts { writer.counts }

    /// The writes that failed since the store opened, and whether the store fails now: the last
    /// batch committed nothing, and nothing has committed since.
    public var writeHealth: StoreWriteHealth { writer.health }

    /// Queues a write that changes a row without changing anything it means (the dedupe horizon set to
    /// itself), so that a failing store learns it can write again without waiting for a webhook,
    /// which a load balancer that reads `/readyz` would no longer send. `done` runs once it committed or failed.
    public func probeWrite(done: @escaping @Sendable () -> Void) {
        writer.enqueue({ (db) throws(SQLiteError) in
            try db.run("UPDATE dedupe_horizon SET live_until = live_until")
        }, done: { _ in done() })
    }

    /// Calls `observer` with the seconds each of the writer's own WAL checkpoints held its commits
    /// (once per WAL cycle: the checkpoint that lets the WAL restart). On the writer thread: keep it short.
    public func afterEachWALRestart(_ observer: @escaping @Sendable (Double) -> Void) {
        writer.afterEachWALRestart(observer)
    }

    /// Commits what is queued and closes the connections.
    public func close() {
        writer.stop()
        checkpointer.stop()
    }

    // MARK: Writes

    /// Records an inbound event, or folds it into a live event with the same dedupe key. Returns once
    /// the result is committed: the caller may then acknowledge the provider.
    public func append(_ event: NewEvent) throws(SQLiteError) -> AppendResult {
        let box = ResultBox<AppendResult>()
        let headers = HeaderCoding.encode(event.headers)
        try writer.perform({ (db) throws(SQLiteError) in
            box.value = try self.insert(event, headers: headers, into: db)
        }, bytes: event.body.count + headers.count)
        return box.value!
    }

    /// Records like `append(_:)` without holding the caller's thread: `completion` runs on the
    /// completion thread once the batch holding the event has committed. HTTP threads use this, so every
    /// connection waiting for durability can join the same batch, not only one per HTTP thread.
    public func append(_ event: NewEvent, completion: @escaping @Sendable (Result<AppendResult, SQLiteError>) -> Void) {
        let box = ResultBox<AppendResult>()
        // Encoded on the caller's thread: the single writer is the scarcest thread.
        let headers = HeaderCoding.encode(event.headers)
        writer.enqueue({ (db) throws(SQLiteError) in
            box.value = try self.insert(event, headers: headers, into: db)
        }, bytes: event.body.count + headers.count, done: { error in
            if let error { completion(.failure(error)) } else { completion(.success(box.value!)) }
        })
    }

    private func insert(_ event: NewEvent, headers: [UInt8], into db: SQLiteConnection) throws(SQLiteError) -> AppendResult {
        let expires = event.dedupeKey == nil ? nil : event.dedupeExpiresAt
        if let key = event.dedupeKey, expires != nil,
           dedupeWindow.needsLookup(webhook: event.webhook, key: key, now: event.receivedAt) {
            if let duplicate = try Self.foldIntoLiveEvent(webhook: event.webhook, key: key, now: event.receivedAt, db: db) {
                return try Self.routeIgnored(duplicate, by: event, db: db) ?? duplicate
            }
        }
        let seq = numbering.next()
        let insert = try db.prepared("""
            INSERT INTO events (id, webhook, direction, provider, type, provider_event_id, dedupe_key, status,
                                received_at, handler, next_attempt_at, ordering_key, dedupe_expires_at, seq)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
            """)
        insert.bind(1, event.id).bind(2, event.webhook).bind(3, event.direction.rawValue).bind(4, event.provider)
            .bind(5, event.type).bind(6, event.providerEventID).bind(7, event.dedupeKey)
            .bind(8, (event.handler == nil ? EventStatus.ignored : .pending).rawValue)
            .bind(9, event.receivedAt).bind(10, event.handler).bind(11, event.handler == nil ? nil : event.firstAttemptAt)
            .bind(12, event.orderingKey).bind(13, expires).bind(14, seq)
        try insert.run()
        try Self.insertPayload(seq: seq, headers: headers, body: event.body, into: db)
        if let key = event.dedupeKey, let expires {
            try Self.recordDedupeKey(webhook: event.webhook, key: key, expiresAt: expires, now: event.receivedAt,
                                     window: dedupeWindow, db: db)
        }
        return .recorded(seq: seq)
    }

    /// Stores an event's headers and body beside its row (migration 7): they never change, while the
    /// row is updated at least once more when its handler finishes, and a small row keeps that update
    /// to a small page write.
    static func insertPayload(seq: Int64, headers: [UInt8], body: [UInt8], into db: SQLiteConnection) throws(SQLiteError) {
        try db.prepared("INSERT INTO event_payloads (seq, headers, body) VALUES (?1, ?2, ?3)")
            .bind(1, seq).bind(2, text: headers).bind(3, blob: body).run()
    }

    /// The live event `key` already names for `webhook` (inbound webhook or outbound destination), with
    /// its `duplicates` counted up; nil when there is none. The newest event with the key that has not
    /// expired is the one retries fold into. Runs inside a writer job.
    static func foldIntoLiveEvent(webhook: String, key: String, now: Int64, db: SQLiteConnection) throws(SQLiteError) -> AppendResult? {
        let find = try db.prepared("""
            SELECT seq, id, status, response, next_attempt_at FROM events
            WHERE dedupe_key = ?2 AND webhook = ?1 AND dedupe_expires_at > ?3 ORDER BY seq DESC LIMIT 1
            """)
        find.bind(1, webhook).bind(2, key).bind(3, now)
        guard try find.step() else {
            find.reset()
            return nil
        }
        let seq = find.int(0)
        let id = find.string(1) ?? ""
        let status = EventStatus(rawValue: find.string(2) ?? "") ?? .pending
        let response = find.string(3).flatMap(ResponseCoding.decode)
        let nextAttemptAt = find.optionalInt(4)
        find.reset()
        try db.prepared("UPDATE events SET duplicates = duplicates + 1 WHERE seq = ?1").bind(1, seq).run()
        var handlerDidNotRun = false
        if status == .pending, response != nil {
            let last = try db.prepared("""
                SELECT finished_at IS NOT NULL AND outcome = 'retry' AND plugin_version IS NULL FROM attempts
                WHERE event_seq = ?1 AND replay = 0 ORDER BY n DESC LIMIT 1
                """)
            last.bind(1, seq)
            handlerDidNotRun = try last.step() && last.int(0) == 1
            last.reset()
        }
        return .duplicate(ofID: id, seq: seq, status: status, response: response, nextAttemptAt: nextAttemptAt,
                          handlerDidNotRun: handlerDidNotRun)
    }

    /// A provider's retry of an `ignored` event whose type the config now routes (`event.handler`,
    /// chosen for the retry as for a new event): the event takes that handler and becomes pending,
    /// due as the retry would be, in the fold's transaction, so the handler's run follows a commit
    /// that records it. An `"unhandled": "reject"` webhook answers 422 so that the provider retries
    /// until the operator adds a handler; folded as a plain duplicate, that retry could never run it.
    /// Nil (a plain duplicate) for any other original, or one of another type than the retry.
    static func routeIgnored(_ duplicate: AppendResult, by event: NewEvent, db: SQLiteConnection) throws(SQLiteError) -> AppendResult? {
        guard case let .duplicate(id, seq, .ignored, _, _, _) = duplicate, let handler = event.handler else { return nil }
        try db.prepared("""
            UPDATE events SET handler = ?2, status = 'pending', next_attempt_at = ?3
            WHERE seq = ?1 AND status = 'ignored' AND type = ?4
            """).bind(1, seq).bind(2, handler).bind(3, event.firstAttemptAt).bind(4, event.type).run()
        return db.changes == 1 ? .routed(ofID: id, seq: seq) : nil
    }

    /// Gives `ignored` events the handlers the config routes their types to now, for an operator's
    /// replay to run them, and returns once committed. Their status stays `ignored` until a replay
    /// settles them (a replay is one extra run: it schedules nothing). An event that has a handler
    /// already (routed meanwhile by its provider's retry) keeps it.
    public func assignHandlers(_ routes: [(seq: Int64, handler: String)]) throws(SQLiteError) {
        guard !routes.isEmpty else { return }
        try writer.perform { (db) throws(SQLiteError) in
            for route in routes {
                try db.prepared("UPDATE events SET handler = ?2 WHERE seq = ?1 AND status = 'ignored' AND handler IS NULL")
                    .bind(1, route.seq).bind(2, route.handler).run()
            }
        }
    }

    /// The event just inserted carries its key and expiry itself; what is left is to keep the stored
    /// horizon past the expiry (so a restart knows until when misses must ask the store) and to
    /// remember the key in memory. Runs inside a writer job, after the event's insert.
    static func recordDedupeKey(webhook: String, key: String, expiresAt: Int64, now: Int64, window: DedupeWindow,
                                db: SQLiteConnection) throws(SQLiteError) {
        if let horizon = window.horizonToStore(covering: expiresAt) {
            try db.prepared("UPDATE dedupe_horizon SET live_until = MAX(live_until, ?1)").bind(1, horizon).run()
            window.horizonStored(horizon)
        }
        window.recorded(webhook: webhook, key: key, expiresAt: expiresAt, now: now)
    }

    /// Records that attempt `n` started, before the handler runs, so that an attempt cut off by a crash
    /// is visible after the restart. Does not wait for the commit. Pass the result to
    /// `finishAttempt(…replacing:…)`: when the handler is done before the writer has taken this record,
    /// the finish writes the attempt once, finished, instead of a start and then its finish (a crash
    /// before that commit leaves no attempt row, and the event, still pending, runs again).
    @discardableResult
    public func startAttempt(seq: Int64, attempt: AttemptRecord) -> AttemptStart {
        // The event's attempt_count moves when the attempt finishes (or, after a crash, when
        // `recoverInterruptedAttempts` closes it): one write fewer on the hot path.
        AttemptStart(queued: writer.enqueueReplaceable { (db) throws(SQLiteError) in try Self.insertStart(seq: seq, attempt, into: db) })
    }

    /// The same, returning once the start is committed: an attempt that may crash the process
    /// (it did before: a retry, a run after a restart) then leaves a record that counts it.
    public func startAttemptCommitted(seq: Int64, attempt: AttemptRecord) throws(SQLiteError) {
        try writer.perform { (db) throws(SQLiteError) in try Self.insertStart(seq: seq, attempt, into: db) }
    }

    static func insertStart(seq: Int64, _ attempt: AttemptRecord, into db: SQLiteConnection) throws(SQLiteError) {
        try db.prepared("""
            INSERT OR REPLACE INTO attempts (event_seq, n, started_at, finished_at, outcome, error, replay, plugin, plugin_version)
            VALUES (?1, ?2, ?3, NULL, NULL, NULL, ?4, ?5, ?6)
            """)
            .bind(1, seq).bind(2, attempt.n).bind(3, attempt.startedAt).bind(4, attempt.replay ? 1 : 0)
            .bind(5, attempt.plugin).bind(6, attempt.pluginVersion).run()
    }

    /// Records how attempt `n` ended and what the event's status and next attempt become, and
    /// returns once that is committed.
    public func finishAttempt(seq: Int64, attempt: AttemptRecord, status: EventStatus, nextAttemptAt: Int64?,
                              response: StoredResponse? = nil, settlesUnlessOvertaken: Bool = false) throws(SQLiteError) {
        let finish = AttemptFinishes.Finish(seq: seq, attempt: attempt, status: status, nextAttemptAt: nextAttemptAt,
                                            response: response, settlesUnlessOvertaken: settlesUnlessOvertaken, recorded: { _ in })
        try writer.perform { (db) throws(SQLiteError) in try AttemptFinishes.write([finish], into: db) }
    }

    /// The same without waiting: `recorded` runs on the completion thread once the batch committed (nil)
    /// or failed, so it must be short. `start` is the attempt's queued start record, which this
    /// finish replaces if the writer has not taken it yet. `settlesUnlessOvertaken`: the event's
    /// status, schedule and answer change only if no other run of it ended while this one ran (a
    /// run that may overlap another, `AttemptFinishes.Finish`).
    public func finishAttempt(seq: Int64, attempt: AttemptRecord, status: EventStatus, nextAttemptAt: Int64?,
                              response: StoredResponse? = nil, replacing start: AttemptStart? = nil, settlesUnlessOvertaken: Bool = false,
                              recorded: @escaping @Sendable (SQLiteError?) -> Void) {
        writer.add(AttemptFinishes.Finish(seq: seq, attempt: attempt, status: status, nextAttemptAt: nextAttemptAt,
                                          response: response, settlesUnlessOvertaken: settlesUnlessOvertaken, recorded: recorded),
                   to: finishes, replacing: start?.queued)
    }

    /// Where the finishes of one batch meet (`finishAttempt(…recorded:)`).
    private let finishes = Bulk<AttemptFinishes.Finish>(
        write: { (finishes, db) throws(SQLiteError) in try AttemptFinishes.write(finishes, into: db) },
        done: { finishes, error in for finish in finishes { finish.recorded(error) } })

    /// Schedules an event for another run at `at` (a replay), keeping its status until it runs.
    public func schedule(seq: Int64, at: Int64) throws(SQLiteError) {
        try writer.perform { (db) throws(SQLiteError) in
            try db.prepared("UPDATE events SET next_attempt_at = ?2 WHERE seq = ?1").bind(1, seq).bind(2, at).run()
        }
    }

    // MARK: Reads

    /// The next attempt time of the oldest earlier event with the same ordering key that is still
    /// pending (`seq` must wait for it), or nil when nothing is ahead of `seq`.
    public func earlierPending(webhook: String, orderingKey: String, before seq: Int64) throws(SQLiteError) -> Int64?? {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT next_attempt_at FROM events WHERE webhook = ?1 AND ordering_key = ?2 AND status = 'pending' AND seq < ?3 ORDER BY seq LIMIT 1")
            stmt.bind(1, webhook).bind(2, orderingKey).bind(3, seq)
            defer { stmt.reset() }
            return try stmt.step() ? .some(stmt.optionalInt(0)) : nil
        }
    }

    /// The columns `row(_:full:)` reads, in its order, from `events e`; the single-event reads spell
    /// them out as literals (their statements are cached by their static text) followed by headers,
    /// body and response. The attempt count is of the attempts started, in every read, so a list and
    /// a single event agree: `attempt_count` moves when an attempt finishes (its start is one write
    /// fewer on the hot path), so one still running is counted by its start row, a primary-key probe.
    private static let summaryColumns = """
        e.seq, id, webhook, direction, provider, type, provider_event_id, dedupe_key, status, received_at,
        duplicates, MAX(attempt_count, COALESCE((SELECT MAX(n) FROM attempts a WHERE a.event_seq = e.seq), 0)),
        handler, next_attempt_at, ordering_key
        """

    /// One event with headers and body, by our id. Its attempt count is of the attempts started
    /// (`summaryColumns`), so the next run takes the next number instead of overwriting one still
    /// running (past its lease, say).
    public func event(id: String) throws(SQLiteError) -> StoredEvent? {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("""
                SELECT e.seq, id, webhook, direction, provider, type, provider_event_id, dedupe_key, status, received_at,
                       duplicates, MAX(attempt_count, COALESCE((SELECT MAX(n) FROM attempts a WHERE a.event_seq = e.seq), 0)),
                       handler, next_attempt_at, ordering_key, p.headers, p.body, response
                FROM events e LEFT JOIN event_payloads p ON p.seq = e.seq WHERE e.id = ?1
                """)
            stmt.bind(1, id)
            defer { stmt.reset() }
            return try stmt.step() ? Self.row(stmt, full: true) : nil
        }
    }

    /// Where an event stands, without its headers and body: what the dispatcher re-checks before it
    /// runs an event it already holds in memory.
    public func schedulingState(seq: Int64) throws(SQLiteError) -> (status: EventStatus, nextAttemptAt: Int64?, attemptCount: Int64)? {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT status, next_attempt_at, attempt_count FROM events WHERE seq = ?1")
            stmt.bind(1, seq)
            defer { stmt.reset() }
            guard try stmt.step() else { return nil }
            return (EventStatus(rawValue: stmt.string(0) ?? "") ?? .pending, stmt.optionalInt(1), stmt.int(2))
        }
    }

    /// One event with headers and body, by row number; attempts counted as by `event(id:)`.
    public func event(seq: Int64) throws(SQLiteError) -> StoredEvent? {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("""
                SELECT e.seq, id, webhook, direction, provider, type, provider_event_id, dedupe_key, status, received_at,
                       duplicates, MAX(attempt_count, COALESCE((SELECT MAX(n) FROM attempts a WHERE a.event_seq = e.seq), 0)),
                       handler, next_attempt_at, ordering_key, p.headers, p.body, response
                FROM events e LEFT JOIN event_payloads p ON p.seq = e.seq WHERE e.seq = ?1
                """)
            stmt.bind(1, seq)
            defer { stmt.reset() }
            return try stmt.step() ? Self.row(stmt, full: true) : nil
        }
    }

    public func attempts(seq: Int64) throws(SQLiteError) -> [AttemptRecord] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT n, started_at, finished_at, outcome, error, replay, plugin, plugin_version FROM attempts WHERE event_seq = ?1 ORDER BY n")
            stmt.bind(1, seq)
            defer { stmt.reset() }
            var out: [AttemptRecord] = []
            while try stmt.step() {
                out.append(AttemptRecord(n: stmt.int(0), startedAt: stmt.int(1), finishedAt: stmt.optionalInt(2),
                                         outcome: stmt.string(3).flatMap(AttemptOutcome.init(rawValue:)),
                                         error: stmt.string(4), replay: stmt.int(5) != 0,
                                         plugin: stmt.string(6), pluginVersion: stmt.string(7)))
            }
            return out
        }
    }

    /// Events newest first, without headers and body.
    public func list(_ query: EventQuery) throws(SQLiteError) -> [StoredEvent] {
        guard let prefix = query.typePrefix else { return try listExact(query) }
        // A prefix spans many types, and the (type, seq) index is ordered by seq only within one
        // type: a range over it would sort every match. The few types under the prefix are found
        // with index seeks, each is listed newest first through the index, and the pages are merged.
        let types = try types(withPrefix: prefix, atMost: 64)
        guard let types else {
            var ranged = query
            ranged.typePrefix = nil
            return try listExact(ranged, typeRange: prefix)
        }
        var merged: [StoredEvent] = []
        for type in types {
            var one = query
            one.typePrefix = nil
            one.type = type
            merged += try listExact(one)
        }
        return Array(merged.sorted { $0.seq > $1.seq }.prefix(max(1, query.limit)))
    }

    /// The distinct types starting with `prefix`, by successive index seeks; nil when there are more
    /// than `atMost`.
    private func types(withPrefix prefix: String, atMost: Int) throws(SQLiteError) -> [String]? {
        try readers.with { (db) throws(SQLiteError) in
            let end = prefix + "\u{10FFFF}"
            var found: [String] = []
            var lower = prefix
            var inclusive = true
            while found.count <= atMost {
                let stmt = try db.statement(inclusive
                    ? "SELECT type FROM events WHERE type >= ?1 AND type < ?2 ORDER BY type LIMIT 1"
                    : "SELECT type FROM events WHERE type > ?1 AND type < ?2 ORDER BY type LIMIT 1")
                stmt.bind(1, lower).bind(2, end)
                let next = try stmt.step() ? stmt.string(0) : nil
                stmt.reset()
                guard let type = next else { break }
                found.append(type)
                lower = type
                inclusive = false
            }
            return found.count > atMost ? nil : found
        }
    }

    private func listExact(_ query: EventQuery, typeRange: String? = nil) throws(SQLiteError) -> [StoredEvent] {
        var conditions: [String] = []
        var texts: [String] = []
        var numbers: [Int64] = []
        func text(_ sql: String, _ value: String) {
            texts.append(value)
            conditions.append(sql.replacingOccurrences(of: "?", with: "?\(texts.count)"))
        }
        func number(_ sql: String, _ value: Int64) {
            numbers.append(value)
            conditions.append(sql.replacingOccurrences(of: "?", with: "?\(100 + numbers.count)"))
        }
        if let webhook = query.webhook { text("webhook = ?", webhook) }
        if let direction = query.direction { text("direction = ?", direction.rawValue) }
        if let status = query.status { text("status = ?", status.rawValue) }
        if let type = query.type { text("type = ?", type) }
        if let prefix = typeRange {
            text("type >= ?", prefix)
            text("type < ?", prefix + "\u{10FFFF}")
        }
        if let search = query.search {
            texts.append(search)
            // The middle term repeats the index's condition so that events_by_other_provider_id may serve
            // it; the events it leaves out have dedupe_key = provider_event_id and match the first term.
            let n = texts.count
            conditions.append("(dedupe_key = ?\(n) OR (provider_event_id = ?\(n) AND provider_event_id IS NOT dedupe_key) OR id = ?\(n))")
        }
        // Through the id's index, whose ids begin with their event's received_at (`EventID.lowerBound`).
        if let since = query.since {
            text("id >= ?", EventID.lowerBound(milliseconds: since))
            number("received_at >= ?", since)
        }
        if let until = query.until {
            text("id < ?", EventID.lowerBound(milliseconds: until))
            number("received_at < ?", until)
        }
        if let before = query.beforeSeq { number("seq < ?", before) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.summaryColumns) FROM events e \(whereClause) ORDER BY seq DESC LIMIT \(max(1, query.limit))"
        return try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.statement(sql)
            for (i, value) in texts.enumerated() { stmt.bind(Int32(i + 1), value) }
            for (i, value) in numbers.enumerated() { stmt.bind(Int32(101 + i), value) }
            defer { stmt.reset() }
            var out: [StoredEvent] = []
            while try stmt.step() { out.append(Self.row(stmt, full: false)) }
            return out
        }
    }

    /// How many of `seq`'s attempts before attempt `n` were replays: they take no place in the
    /// retry schedule, so attempt `n` is the schedule's `n` minus these.
    public func replaysBefore(seq: Int64, attempt n: Int64) throws(SQLiteError) -> Int64 {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT COUNT(*) FROM attempts WHERE event_seq = ?1 AND n < ?2 AND replay = 1")
            stmt.bind(1, seq).bind(2, n)
            defer { stmt.reset() }
            _ = try stmt.step()
            return stmt.int(0)
        }
    }

    /// Deletes up to `batch` events received before `before` (Unix ms) with their attempts. Small
    /// batches keep each transaction short so ingestion never waits long behind one. Dedupe keys of
    /// purged events no longer match (the lookup joins the event) and are swept when they expire.
    ///
    /// An event something may still run is kept, however old: a pending one (its next attempt, or
    /// the one running), one with an attempt still open (a replay of a processed or failed event,
    /// an outbound re-delivery) and one with a replay asked for. Their runs would record attempts
    /// and outcomes for an event that is gone. The dispatchers' in-memory bookkeeping of an event
    /// deleted after its last attempt was recorded names a seq no other event will take
    /// (`EventNumbering`): a run it starts finds no event and ends there.
    public func purge(before: Int64, batch: Int = 500) throws(SQLiteError) -> Int {
        let box = ResultBox<Int>()
        try writer.perform { (db) throws(SQLiteError) in
            try db.execute("CREATE TEMP TABLE IF NOT EXISTS purge_batch (seq INTEGER PRIMARY KEY)")
            try db.execute("DELETE FROM purge_batch")
            // Oldest first through the id's index: an id begins with its event's received_at.
            try db.prepared("""
                INSERT INTO purge_batch SELECT seq FROM events e
                WHERE id < ?3 AND received_at < ?1 AND status != 'pending'
                    AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.event_seq = e.seq AND a.outcome IS NULL)
                    AND NOT EXISTS (SELECT 1 FROM replay_requests r WHERE r.event_seq = e.seq)
                ORDER BY id LIMIT ?2
                """)
                .bind(1, before).bind(2, Int64(batch)).bind(3, EventID.lowerBound(milliseconds: before)).run()
            guard db.changes > 0 else {
                box.value = 0
                return
            }
            try db.execute("UPDATE seq_high_water SET seq = MAX(seq, (SELECT MAX(seq) FROM purge_batch))")
            try db.execute("DELETE FROM attempts WHERE event_seq IN (SELECT seq FROM purge_batch)")
            try db.execute("DELETE FROM event_payloads WHERE seq IN (SELECT seq FROM purge_batch)")
            try db.execute("DELETE FROM events WHERE seq IN (SELECT seq FROM purge_batch)")
            box.value = db.changes
        }
        return box.value ?? 0
    }

    /// Counts for the metrics page: events waiting for their first or next attempt.
    public func queueCounts(now: Int64) throws(SQLiteError) -> (due: Int64, scheduled: Int64) {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT COALESCE(SUM(next_attempt_at <= ?1), 0), COALESCE(SUM(next_attempt_at > ?1), 0) FROM events WHERE next_attempt_at IS NOT NULL")
            stmt.bind(1, now)
            defer { stmt.reset() }
            _ = try stmt.step()
            return (stmt.int(0), stmt.int(1))
        }
    }

    /// Inbound rows due for an attempt at `now`, oldest due first; only `webhook`'s when given.
    /// Outbound rows are the delivery scheduler's (`dueDeliveries`). A webhook's event behind an
    /// earlier pending event with its ordering key (`ordering: per-key`) is left out, as in
    /// `dueReplays`: it cannot run before that one settles, and listed it took one of a capped
    /// webhook's places only to be rescheduled, so blocked events held the places the first
    /// event of each key needed.
    public func dueEvents(now: Int64, limit: Int, webhook: String? = nil) throws(SQLiteError) -> [Int64] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt: Statement
            if let webhook {
                stmt = try db.prepared("""
                    SELECT seq FROM events e WHERE webhook = ?3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 AND direction = 'inbound'
                      AND (ordering_key IS NULL OR NOT EXISTS (
                          SELECT 1 FROM events b WHERE b.webhook = e.webhook AND b.ordering_key = e.ordering_key
                                                    AND b.status = 'pending' AND b.seq < e.seq))
                    ORDER BY next_attempt_at LIMIT ?2
                    """)
                stmt.bind(3, webhook)
            } else {
                stmt = try db.prepared("SELECT seq FROM events WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 AND direction = 'inbound' ORDER BY next_attempt_at LIMIT ?2")
            }
            stmt.bind(1, now).bind(2, Int64(limit))
            defer { stmt.reset() }
            var out: [Int64] = []
            while try stmt.step() { out.append(stmt.int(0)) }
            return out
        }
    }

    /// Due rows of webhooks not in `configured` (removed from the config, whose events wait for it),
    /// oldest due first, with their webhook, without reading the events themselves. The webhooks
    /// with due rows are found one index seek each (a loose scan of `events_due_by_webhook`), then
    /// only the unconfigured ones are read: a single query filtering out the configured names read
    /// every due row and sorted them, which behind a backlog of 50,000 events took about 10 ms on
    /// each of the scheduler's passes (docs/performance.md, item 48).
    public func dueEvents(now: Int64, limit: Int, outside configured: [String]) throws(SQLiteError) -> [(seq: Int64, webhook: String)] {
        try readers.with { (db) throws(SQLiteError) in
            let webhooks = try db.prepared("""
                WITH RECURSIVE due_webhooks(name) AS (
                    SELECT (SELECT MIN(webhook) FROM events WHERE next_attempt_at IS NOT NULL)
                    UNION ALL
                    SELECT (SELECT MIN(webhook) FROM events WHERE next_attempt_at IS NOT NULL AND webhook > due_webhooks.name)
                    FROM due_webhooks WHERE due_webhooks.name IS NOT NULL
                )
                SELECT name FROM due_webhooks WHERE name IS NOT NULL
                """)
            var unconfigured: [String] = []
            while try webhooks.step() {
                if let name = webhooks.string(0), !configured.contains(name) { unconfigured.append(name) }
            }
            webhooks.reset()
            var due: [(seq: Int64, webhook: String, at: Int64)] = []
            for webhook in unconfigured {
                let stmt = try db.prepared("""
                    SELECT seq, next_attempt_at FROM events WHERE webhook = ?3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1
                        AND direction = 'inbound' ORDER BY next_attempt_at LIMIT ?2
                    """)
                stmt.bind(1, now).bind(2, Int64(limit)).bind(3, webhook)
                while try stmt.step() { due.append((stmt.int(0), webhook, stmt.int(1))) }
                stmt.reset()
            }
            return due.sorted { ($0.at, $0.seq) < ($1.at, $1.seq) }.prefix(limit).map { ($0.seq, $0.webhook) }
        }
    }

    private static func row(_ stmt: Statement, full: Bool) -> StoredEvent {
        StoredEvent(seq: stmt.int(0), id: stmt.string(1) ?? "", webhook: stmt.string(2) ?? "",
                    direction: EventDirection(rawValue: stmt.string(3) ?? "") ?? .inbound,
                    provider: stmt.string(4) ?? "", type: stmt.string(5) ?? "",
                    providerEventID: stmt.string(6), dedupeKey: stmt.string(7),
                    status: EventStatus(rawValue: stmt.string(8) ?? "") ?? .pending,
                    receivedAt: stmt.int(9), duplicates: stmt.int(10), attemptCount: stmt.int(11),
                    handler: stmt.string(12), nextAttemptAt: stmt.optionalInt(13), orderingKey: stmt.string(14),
                    headers: full ? HeaderCoding.decode(stmt.string(15) ?? "[]") : [],
                    body: full ? stmt.blob(16) : [],
                    response: full ? stmt.string(17).flatMap(ResponseCoding.decode) : nil)
    }
}

/// An attempt's start record as queued for the writer; see `EventStore.startAttempt`.
public struct AttemptStart: Sendable {
    let queued: GroupCommitWriter.Replaceable
}

/// Passes a value out of a writer job; the writer's completion orders the accesses.
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A stored response is a JSON object: status, headers as `[name, value]` pairs, body in base64.
enum ResponseCoding {
    static func encode(_ r: StoredResponse) -> String {
        JSONValue.object([
            ("status", .int(Int64(r.status))),
            ("headers", .array(r.headers.map { .array([.string($0.name), .string($0.value)]) })),
            ("body_base64", .string(ByteEncoding.base64.encode(r.body))),
        ]).serialized()
    }

    static func decode(_ text: String) -> StoredResponse? {
        guard let json = try? JSONParser.parse(text), case let .number(status)? = json["status"], let code = Int(exactly: status.value) else { return nil }
        return StoredResponse(status: code, headers: HeaderCoding.decode(json["headers"]?.serialized() ?? "[]"),
                              body: json["body_base64"]?.stringValue.flatMap { ByteEncoding.base64.decode(Substring($0)) } ?? [])
    }
}
