/// An event with operators' replays due (`EventStore.dueReplays`).
public struct DueReplays: Sendable, Equatable {
    public var seq: Int64
    public var webhook: String
    /// How many replays of the event are due.
    public var count: Int

    public init(seq: Int64, webhook: String, count: Int) {
        self.seq = seq
        self.webhook = webhook
        self.count = count
    }
}

/// An operator's replays (`POST /admin/events/{id}/replay`, `?at=`, bulk), one `replay_requests` row
/// each from the request until its attempt starts. A request is acknowledged once its row is
/// committed, and the attempt's start record takes the row in the same transaction: a crash loses no
/// acknowledged replay and cannot run one twice, whatever the dispatchers held in memory.
extension EventStore {
    /// Records one replay of each event at its time (now, `?at=`, or a bulk replay's spacing), in one
    /// transaction; returns once committed, with the events that are gone (purged since the caller
    /// read them), for which nothing was recorded. The check is part of the insert, in the writer: a
    /// request read-then-inserted could land after a purge of its event, and such a row never runs
    /// (`dueReplays` joins the events) while the caller had promised it would.
    @discardableResult
    public func requestReplays(_ requests: [(seq: Int64, at: Int64)]) throws(SQLiteError) -> Set<Int64> {
        guard !requests.isEmpty else { return [] }
        let box = ResultBox<Set<Int64>>()
        try writer.perform { (db) throws(SQLiteError) in
            var gone: Set<Int64> = []
            for request in requests {
                try db.prepared("INSERT INTO replay_requests (event_seq, due_at) SELECT seq, ?2 FROM events WHERE seq = ?1")
                    .bind(1, request.seq).bind(2, request.at).run()
                if db.changes == 0 { gone.insert(request.seq) }
            }
            box.value = gone
        }
        return box.value ?? []
    }

    /// When each of the event's replays not yet started was asked to run (now, `?at=`, a bulk
    /// replay's spacing), earliest first: the single-event view shows them, so an operator can see
    /// a replay scheduled for later before asking for another.
    public func replaysWaiting(seq: Int64) throws(SQLiteError) -> [Int64] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT due_at FROM replay_requests WHERE event_seq = ?1 ORDER BY due_at, id")
            stmt.bind(1, seq)
            defer { stmt.reset() }
            var out: [Int64] = []
            while try stmt.step() { out.append(stmt.int(0)) }
            return out
        }
    }

    /// The events of `direction` with replays due at `now`, the longest due first. The dispatchers
    /// start what they do not already hold in memory; a request taken meanwhile only makes a run find
    /// nothing to take (`takeReplay`). An event behind an earlier pending event with its ordering key
    /// is left out: its replays wait for that one (per-key order), and listed they filled the page
    /// pass after pass, so 64 of them held up every other due replay.
    public func dueReplays(now: Int64, limit: Int, direction: EventDirection) throws(SQLiteError) -> [DueReplays] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("""
                SELECT r.event_seq, e.webhook, COUNT(*) FROM replay_requests r JOIN events e ON e.seq = r.event_seq
                WHERE r.due_at <= ?1 AND e.direction = ?3
                  AND (e.ordering_key IS NULL OR NOT EXISTS (
                      SELECT 1 FROM events b WHERE b.webhook = e.webhook AND b.ordering_key = e.ordering_key
                                                AND b.status = 'pending' AND b.seq < e.seq))
                GROUP BY r.event_seq ORDER BY MIN(r.due_at) LIMIT ?2
                """)
            stmt.bind(1, now).bind(2, Int64(limit)).bind(3, direction.rawValue)
            defer { stmt.reset() }
            var out: [DueReplays] = []
            while try stmt.step() { out.append(DueReplays(seq: stmt.int(0), webhook: stmt.string(1) ?? "", count: Int(stmt.int(2)))) }
            return out
        }
    }

    /// Takes the event's longest-due replay request due at `now` and records `attempt`'s start with
    /// it, in one transaction; returns once committed. False, with nothing recorded, when no request
    /// was left: another run took it, and this one must not run. With no `attempt`, the request is
    /// only taken: a replay that cannot run (its destination is disabled) and must not stay due.
    public func takeReplay(seq: Int64, now: Int64, starting attempt: AttemptRecord?) throws(SQLiteError) -> Bool {
        let box = ResultBox<Bool>()
        try writer.perform { (db) throws(SQLiteError) in
            try db.prepared("""
                DELETE FROM replay_requests WHERE id =
                    (SELECT id FROM replay_requests WHERE event_seq = ?1 AND due_at <= ?2 ORDER BY due_at, id LIMIT 1)
                """).bind(1, seq).bind(2, now).run()
            let taken = db.changes == 1
            if taken, let attempt { try Self.insertStart(seq: seq, attempt, into: db) }
            box.value = taken
        }
        return box.value ?? false
    }
}
