import LayeronCore

/// What one outbound delivery attempt got back, beside its `AttemptRecord`.
public struct DeliveryRecord: Sendable {
    public var statusCode: Int?
    public var latencyMilliseconds: Int64
    public var responseHeaders: [(name: String, value: String)]
    public var responseBody: [UInt8]
    public var transportError: String?

    public init(statusCode: Int?, latencyMilliseconds: Int64, responseHeaders: [(name: String, value: String)],
                responseBody: [UInt8], transportError: String?) {
        self.statusCode = statusCode
        self.latencyMilliseconds = latencyMilliseconds
        self.responseHeaders = responseHeaders
        self.responseBody = responseBody
        self.transportError = transportError
    }
}

/// How far an outbound event's schedule has gone (`EventStore.deliveryProgress`).
public struct DeliveryProgress: Sendable, Equatable {
    /// Attempts that took a step of the destination's schedule.
    public var scheduledAttempts: Int
    /// When the run of deliveries the server could not send began, none sent since; nil when the
    /// last attempt that counted is the latest (or there is none).
    public var notSentSince: Int64?

    public init(scheduledAttempts: Int, notSentSince: Int64?) {
        self.scheduledAttempts = scheduledAttempts
        self.notSentSince = notSentSince
    }
}

/// A destination the receiver told to go away (410 Gone); deliveries stop until an operator enables it.
public struct DisabledDestination: Sendable {
    public var name: String
    public var at: Int64
    public var reason: String

    public init(name: String, at: Int64, reason: String) {
        self.name = name
        self.at = at
        self.reason = reason
    }
}

/// Outbound events: emitted ones are recorded like inbound events (`direction = 'outbound'`), with the
/// delivery schedule in `next_attempt_at`, so the same list, detail and replay serve both directions.
extension EventStore {
    /// Records an emitted event, due at once unless `deliver` is false (the destination does not
    /// subscribe to its type: recorded as ignored). An idempotency key (`event.dedupeKey`) seen before
    /// on this destination returns the first event instead. Returns once committed.
    public func appendOutbound(_ event: NewEvent, deliver: Bool) throws(SQLiteError) -> AppendResult {
        let box = ResultBox<AppendResult>()
        let headers = HeaderCoding.encode(event.headers)
        try writer.perform(Self.outboundWork(event, headers: headers, deliver: deliver, numbering: numbering, into: box),
                           bytes: event.body.count + headers.count)
        return box.value!
    }

    /// The same without holding the caller's thread: `completion` runs on the completion thread once
    /// the batch holding the event committed (or failed), so it must be short. The admin API's emit
    /// uses it, so that emits share group commits as inbound requests do instead of each holding one
    /// of the admin listener's two threads until its commit.
    public func appendOutbound(_ event: NewEvent, deliver: Bool,
                               completion: @escaping @Sendable (Result<AppendResult, SQLiteError>) -> Void) {
        let box = ResultBox<AppendResult>()
        // Encoded on the caller's thread, as an inbound append's: the single writer is the scarcest thread.
        let headers = HeaderCoding.encode(event.headers)
        writer.enqueue(Self.outboundWork(event, headers: headers, deliver: deliver, numbering: numbering, into: box),
                       bytes: event.body.count + headers.count, done: { error in
            if let error { completion(.failure(error)) } else { completion(.success(box.value!)) }
        })
    }

    private static func outboundWork(_ event: NewEvent, headers: [UInt8], deliver: Bool, numbering: EventNumbering,
                                     into box: ResultBox<AppendResult>) -> GroupCommitWriter.Work {
        { (db) throws(SQLiteError) in
            if let key = event.dedupeKey,
               let duplicate = try Self.foldIntoLiveEvent(webhook: event.webhook, key: key, now: event.receivedAt, db: db) {
                box.value = duplicate
                return
            }
            let seq = numbering.next()
            try db.prepared("""
                INSERT INTO events (id, webhook, direction, provider, type, provider_event_id, dedupe_key, status,
                                    received_at, handler, next_attempt_at, dedupe_expires_at, seq)
                VALUES (?1, ?2, 'outbound', ?3, ?4, NULL, ?5, ?6, ?7, NULL, ?8, ?9, ?10)
                """)
                .bind(1, event.id).bind(2, event.webhook).bind(3, event.provider).bind(4, event.type).bind(5, event.dedupeKey)
                .bind(6, (deliver ? EventStatus.pending : .ignored).rawValue).bind(7, event.receivedAt)
                .bind(8, deliver ? event.receivedAt : nil).bind(9, event.dedupeKey == nil ? nil : event.dedupeExpiresAt)
                .bind(10, seq).run()
            // Emits always ask the store (above), so their keys need neither the in-memory window nor
            // the restart horizon.
            try Self.insertPayload(seq: seq, headers: headers, body: event.body, into: db)
            box.value = .recorded(seq: seq)
        }
    }

    /// Records how a delivery attempt ended and what the event's status and next attempt become.
    /// Returns once committed, so the event is not picked again on its stale schedule. `disabling`
    /// (the receiver answered 410 Gone) disables the destination in the same transaction
    /// (`disable`): the store takes the attempt and the disable together or neither, so a refused
    /// write is retried whole and no recorded 410 leaves its destination enabled.
    public func finishDelivery(seq: Int64, attempt: AttemptRecord, delivery: DeliveryRecord, status: EventStatus,
                               nextAttemptAt: Int64?, disabling: DisabledDestination? = nil) throws(SQLiteError) {
        try writer.perform { (db) throws(SQLiteError) in
            try db.prepared("""
                INSERT OR REPLACE INTO attempts (event_seq, n, started_at, finished_at, outcome, error, replay, plugin, plugin_version,
                                                 status_code, latency_ms, response_headers, response_body, transport_error)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8, ?9, ?10, ?11, ?12)
                """)
                .bind(1, seq).bind(2, attempt.n).bind(3, attempt.startedAt).bind(4, attempt.finishedAt)
                .bind(5, attempt.outcome?.rawValue).bind(6, attempt.error).bind(7, attempt.replay ? 1 : 0)
                .bind(8, delivery.statusCode.map(Int64.init)).bind(9, delivery.latencyMilliseconds)
                .bind(10, text: HeaderCoding.encode(delivery.responseHeaders)).bind(11, blob: delivery.responseBody)
                .bind(12, delivery.transportError).run()
            // A destination a 410 disabled fails its pending events (`disableDestination`); a delivery
            // still in flight then finishes after that update, and must not leave its event pending
            // (to be sent unasked when the destination is enabled). The writer orders the two.
            try db.prepared("""
                UPDATE events SET
                    status = CASE WHEN ?2 = 'pending' AND EXISTS (SELECT 1 FROM outbound_destinations d WHERE d.name = events.webhook AND d.disabled_at IS NOT NULL)
                                  THEN 'failed' ELSE ?2 END,
                    next_attempt_at = CASE WHEN ?2 = 'pending' AND EXISTS (SELECT 1 FROM outbound_destinations d WHERE d.name = events.webhook AND d.disabled_at IS NOT NULL)
                                           THEN NULL ELSE ?3 END,
                    attempt_count = MAX(attempt_count, ?4)
                WHERE seq = ?1
                """)
                .bind(1, seq).bind(2, status.rawValue).bind(3, nextAttemptAt).bind(4, attempt.n).run()
            if status == .pending, attempt.outcome == .retry {
                try db.prepared("""
                    UPDATE attempts SET outcome = 'error', error = COALESCE(attempts.error || '; ', '') || ?3 || d.disabled_reason || ')'
                    FROM outbound_destinations d, events e
                    WHERE attempts.event_seq = ?1 AND attempts.n = ?2 AND e.seq = ?1 AND d.name = e.webhook AND d.disabled_at IS NOT NULL
                    """).bind(1, seq).bind(2, attempt.n).bind(3, Self.disabledNote).run()
            }
            if let disabling { try Self.disable(disabling, in: db) }
        }
    }

    /// Begins the note on the last attempt of an event a disable failed; the disable's reason follows.
    private static let disabledNote = "no further attempt: the destination was disabled ("

    /// The delivery fields of an outbound event's attempts, by attempt number.
    public func deliveries(seq: Int64) throws(SQLiteError) -> [Int64: DeliveryRecord] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT n, status_code, latency_ms, response_headers, response_body, transport_error FROM attempts WHERE event_seq = ?1 AND latency_ms IS NOT NULL")
            stmt.bind(1, seq)
            defer { stmt.reset() }
            var out: [Int64: DeliveryRecord] = [:]
            while try stmt.step() {
                out[stmt.int(0)] = DeliveryRecord(statusCode: stmt.optionalInt(1).map { Int($0) }, latencyMilliseconds: stmt.int(2),
                                                  responseHeaders: HeaderCoding.decode(stmt.string(3) ?? "[]"),
                                                  responseBody: stmt.blob(4), transportError: stmt.string(5))
            }
            return out
        }
    }

    /// How far the event's own schedule has gone. Replays are extra and do not count, nor do
    /// deliveries a stop cut off: a delivery cannot crash the server, so its re-run takes the
    /// interrupted attempt's place in the schedule (inbound attempts count, see `InterruptedAttempt`).
    /// Nor do deliveries the server could not send (`NotSentAttempt`): the receiver never saw them;
    /// the run of them since the last attempt that counted has its own bound (`nextNotSentTry`).
    public func deliveryProgress(seq: Int64) throws(SQLiteError) -> DeliveryProgress {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("""
                WITH a AS (
                    SELECT n, started_at,
                           outcome IS 'retry' AND substr(error, 1, length(?3)) IS ?3 AS not_sent,
                           NOT (outcome IS 'retry' AND (substr(error, 1, length(?2)) IS ?2 OR substr(error, 1, length(?3)) IS ?3)) AS counted
                    FROM attempts WHERE event_seq = ?1 AND replay = 0)
                SELECT (SELECT COUNT(*) FROM a WHERE counted),
                       (SELECT MIN(started_at) FROM a WHERE not_sent AND n > (SELECT COALESCE(MAX(n), 0) FROM a WHERE counted))
                """)
            stmt.bind(1, seq).bind(2, InterruptedAttempt.errorPrefix).bind(3, NotSentAttempt.errorPrefix)
            defer { stmt.reset() }
            _ = try stmt.step()
            return DeliveryProgress(scheduledAttempts: Int(stmt.int(0)), notSentSince: stmt.optionalInt(1))
        }
    }

    /// `destination`'s pending events due at `now`, oldest due first.
    public func dueDeliveries(destination: String, now: Int64, limit: Int) throws(SQLiteError) -> [Int64] {
        try seqs("SELECT seq FROM events WHERE webhook = ?3 AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 AND direction = 'outbound' AND status = 'pending' ORDER BY next_attempt_at LIMIT ?2",
                 now: now, limit: limit, text: destination)
    }

    private func seqs(_ sql: StaticString, now: Int64, limit: Int, text: String?) throws(SQLiteError) -> [Int64] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared(sql)
            stmt.bind(1, now).bind(2, Int64(limit))
            if let text { stmt.bind(3, text) }
            defer { stmt.reset() }
            var out: [Int64] = []
            while try stmt.step() { out.append(stmt.int(0)) }
            return out
        }
    }

    /// Disables a destination (its receiver answered 410 Gone) and fails its other pending events, so
    /// nothing more is sent until an operator enables it again.
    private static func disable(_ destination: DisabledDestination, in db: SQLiteConnection) throws(SQLiteError) {
        // A second 410 (deliveries in flight at the first) keeps the first's time and reason: the
        // destination is disabled since then.
        try db.prepared("INSERT OR IGNORE INTO outbound_destinations (name, disabled_at, disabled_reason) VALUES (?1, ?2, ?3)")
            .bind(1, destination.name).bind(2, destination.at).bind(3, destination.reason).run()
        // Their last attempt said `retry`; none follows now, and the event's own record says why.
        try db.prepared("""
            UPDATE attempts SET outcome = 'error', error = COALESCE(error || '; ', '') || ?2 || ?3 || ')'
            WHERE outcome = 'retry'
              AND event_seq IN (SELECT seq FROM events WHERE webhook = ?1 AND direction = 'outbound' AND status = 'pending')
              AND n = (SELECT MAX(m.n) FROM attempts m WHERE m.event_seq = attempts.event_seq)
            """).bind(1, destination.name).bind(2, Self.disabledNote).bind(3, destination.reason).run()
        try db.prepared("UPDATE events SET status = 'failed', next_attempt_at = NULL WHERE webhook = ?1 AND direction = 'outbound' AND status = 'pending'")
            .bind(1, destination.name).run()
    }

    /// Lets deliveries to `destination` run again; events it failed while disabled stay failed (replay them).
    public func enableDestination(_ destination: String) throws(SQLiteError) {
        try writer.perform { (db) throws(SQLiteError) in
            try db.prepared("DELETE FROM outbound_destinations WHERE name = ?1").bind(1, destination).run()
        }
    }

    public func disabledDestinations() throws(SQLiteError) -> [String: DisabledDestination] {
        try readers.with { (db) throws(SQLiteError) in
            let stmt = try db.prepared("SELECT name, disabled_at, disabled_reason FROM outbound_destinations WHERE disabled_at IS NOT NULL")
            defer { stmt.reset() }
            var out: [String: DisabledDestination] = [:]
            while try stmt.step() {
                let name = stmt.string(0) ?? ""
                out[name] = DisabledDestination(name: name, at: stmt.int(1), reason: stmt.string(2) ?? "")
            }
            return out
        }
    }
}
