/// The last attempt a stop cut off on an inbound event still pending: the caller decides by the
/// webhook's retry policy what follows it. A handler that crashes the server cuts off its own
/// attempt; were it simply run again at every start, the server could never stay up.
public struct InterruptedAttempt: Sendable {
    public let seq: Int64
    public let webhook: String
    public let n: Int64
    /// `n` less the replays before it: the attempt's place in the retry schedule, in which replays
    /// take none (docs/inbound.md, Replays).
    public let scheduledPlace: Int64

    /// What a replay a stop cut off is closed with when its event is not pending (delivered, failed):
    /// nothing sends a replay again by itself, and only a pending event has a schedule that would.
    public static let replayMessage = "interrupted: the server stopped while this replay ran; replay the event again if it is still wanted"

    /// What an attempt left open is closed with when it is no replay and its event is settled
    /// (processed, failed, ignored) by another record: the store refused this attempt's end (a full
    /// disk) and a later attempt settled the event, or it ran past its lease and another took over.
    /// Whether the stop cut it off or it ended unrecorded is not known, and nothing runs it again.
    public static let unrecordedMessage = "unknown: the server could not record how this attempt ended; its event is settled and it does not run again"

    /// How the error of every attempt a stop cut off begins, whichever path closed it.
    public static let errorPrefix = "interrupted: "
}

/// What follows an interrupted attempt.
public enum AfterInterruption: Sendable {
    /// Another attempt, not before this time (Unix ms).
    case runAgain(at: Int64)
    /// It was the last attempt the policy allows: the event fails.
    case fail
}

/// What `EventStore.recoverInterruptedAttempts` closed.
public struct InterruptionRecovery: Sendable {
    /// Every attempt closed as interrupted, on any event, replays that end there included.
    public var attempts = 0
    /// Replays of events not pending among `attempts`: they do not run again.
    public var endedReplays = 0
    /// Attempts among `attempts` left open on events that another record settled
    /// (`InterruptedAttempt.unrecordedMessage`): nothing runs them again, nor were they necessarily
    /// cut off by the stop.
    public var unrecordedEnds = 0
    /// The ids of the events that failed because their interrupted attempt was their last.
    public var failedEvents: [String] = []
    /// Outbound deliveries among `attempts` (not the ended replays): they are sent again at once, in
    /// their place in the schedule.
    public var outboundDeliveries = 0
}

extension EventStore {
    /// Closes the attempts a previous process started and never finished (it crashed or was killed),
    /// so they read as interrupted (a replay of an event not pending as ended, see `replayMessage`;
    /// another attempt of an event not pending as unrecorded, see `unrecordedMessage`), and schedules what follows each pending inbound event's last one
    /// as `next` says: again at a time (never sooner than it was due), or failed. Call before
    /// dispatching.
    public func recoverInterruptedAttempts(now: Int64, next: @escaping @Sendable (InterruptedAttempt) -> AfterInterruption)
        throws(SQLiteError) -> InterruptionRecovery
    {
        let box = ResultBox<InterruptionRecovery>()
        try writer.perform { (db) throws(SQLiteError) in
            var recovery = InterruptionRecovery()
            try db.execute("""
                UPDATE events SET attempt_count = MAX(attempt_count, (SELECT MAX(n) FROM attempts WHERE event_seq = events.seq))
                WHERE seq IN (SELECT event_seq FROM attempts WHERE outcome IS NULL)
                """)
            // The last open attempt of each pending inbound event, unless it is a replay: a replay
            // cut off leaves its event's schedule as it was, as a failed replay does.
            let open = try db.prepared("""
                SELECT a.event_seq, e.webhook, a.n, e.id,
                       (SELECT COUNT(*) FROM attempts r WHERE r.event_seq = a.event_seq AND r.n < a.n AND r.replay = 1)
                FROM attempts a JOIN events e ON e.seq = a.event_seq
                WHERE a.outcome IS NULL AND a.replay = 0 AND e.direction = 'inbound' AND e.status = 'pending'
                  AND a.n = (SELECT MAX(m.n) FROM attempts m WHERE m.event_seq = a.event_seq AND m.outcome IS NULL)
                """)
            var cutOff: [(InterruptedAttempt, String)] = []
            while try open.step() {
                let n = open.int(2)
                cutOff.append((InterruptedAttempt(seq: open.int(0), webhook: open.string(1) ?? "", n: n, scheduledPlace: n - open.int(4)),
                               open.string(3) ?? ""))
            }
            open.reset()
            for (attempt, id) in cutOff {
                switch next(attempt) {
                case let .runAgain(at):
                    try db.prepared("UPDATE events SET next_attempt_at = MAX(COALESCE(next_attempt_at, 0), ?2) WHERE seq = ?1")
                        .bind(1, attempt.seq).bind(2, at).run()
                case .fail:
                    try db.prepared("UPDATE events SET status = 'failed', next_attempt_at = NULL WHERE seq = ?1").bind(1, attempt.seq).run()
                    try db.prepared("""
                        UPDATE attempts SET finished_at = ?3, outcome = 'error',
                            error = 'interrupted: the server stopped while this attempt ran, and it was the last the retry policy allows'
                        WHERE event_seq = ?1 AND n = ?2
                        """).bind(1, attempt.seq).bind(2, attempt.n).bind(3, now).run()
                    recovery.failedEvents.append(id)
                }
            }
            try db.prepared("""
                UPDATE attempts SET finished_at = ?1, outcome = 'error', error = ?2
                WHERE outcome IS NULL AND replay = 1 AND event_seq IN (SELECT seq FROM events WHERE status != 'pending')
                """).bind(1, now).bind(2, InterruptedAttempt.replayMessage).run()
            recovery.endedReplays = db.changes
            try db.prepared("""
                UPDATE attempts SET finished_at = ?1, outcome = 'error', error = ?2
                WHERE outcome IS NULL AND replay = 0 AND event_seq IN (SELECT seq FROM events WHERE status != 'pending')
                """).bind(1, now).bind(2, InterruptedAttempt.unrecordedMessage).run()
            recovery.unrecordedEnds = db.changes
            let outbound = try db.prepared("""
                SELECT COUNT(*) FROM attempts WHERE outcome IS NULL AND event_seq IN (SELECT seq FROM events WHERE direction = 'outbound')
                """)
            _ = try outbound.step()
            recovery.outboundDeliveries = Int(outbound.int(0))
            outbound.reset()
            try db.prepared("""
                UPDATE attempts SET finished_at = ?1, outcome = 'retry',
                    error = 'interrupted: the server stopped while this attempt ran; it will run again'
                WHERE outcome IS NULL
                """).bind(1, now).run()
            recovery.attempts = db.changes + recovery.failedEvents.count + recovery.endedReplays + recovery.unrecordedEnds
            box.value = recovery
        }
        return box.value ?? InterruptionRecovery()
    }
}
