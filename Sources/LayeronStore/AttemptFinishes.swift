/// The attempt finishes of one writer batch, written together: one multi-row upsert into `attempts`
/// and one `UPDATE … WHERE seq IN (…)` per shared outcome, instead of two statements per finish.
/// A statement's own cost (binding through the arena, the VDBE program's start, one cursor per b-tree
/// it may write and each cursor's descent from the root) was most of a finish's share of the writer,
/// the single thread every event passes through (docs/performance.md, item 46).
enum AttemptFinishes {
    /// One attempt's end, as `EventStore.finishAttempt` was given it. The single finish of the
    /// waiting `finishAttempt` is written the same way, as a job of one, with a `recorded` that does
    /// nothing (its caller waits for the commit instead). Kept in one struct with the callback:
    /// mapping a bulk job's items to finishes cost the writer 1.3% more instructions per event.
    struct Finish {
        let seq: Int64
        let attempt: AttemptRecord
        let status: EventStatus
        let nextAttemptAt: Int64?
        let response: StoredResponse?
        /// A RETRY or ERROR of a run another run of the event may have overlapped (it ran near or
        /// past its lease, so it may have been handed over, or it is not a first attempt, so it may
        /// be the run that took over): it changes the event only if no other run settled it (ended
        /// `ok` or `error`) between this one's start and its end. A stalled run's late RETRY or
        /// ERROR set a processed event back to pending (a third run) or failed.
        let settlesUnlessOvertaken: Bool
        let recorded: @Sendable (SQLiteError?) -> Void
    }

    /// Rows per statement, largest first: a batch's finishes go out in chunks of these sizes, so at
    /// most seven statement texts per table are ever prepared.
    static let chunkSizes = [64, 32, 16, 8, 4, 2, 1]

    static func write(_ finishes: [Finish], into db: SQLiteConnection) throws(SQLiteError) {
        var start = 0
        for size in chunkSizes {
            while finishes.count - start >= size {
                let statement = try db.statement(attemptsSQL[size]!)
                for (row, finish) in finishes[start..<start + size].enumerated() {
                    let base = Int32(row * 9)
                    let attempt = finish.attempt
                    statement.bind(base + 1, finish.seq).bind(base + 2, attempt.n).bind(base + 3, attempt.startedAt)
                        .bind(base + 4, attempt.finishedAt).bind(base + 5, attempt.outcome?.rawValue).bind(base + 6, attempt.error)
                        .bind(base + 7, attempt.replay ? 1 : 0).bind(base + 8, attempt.plugin).bind(base + 9, attempt.pluginVersion)
                }
                try statement.run()
                start += size
            }
        }
        try updateEvents(finishes, in: db)
    }

    /// The events' new status, next attempt and attempt count. Finishes that leave their events in
    /// the same state (under load almost all: processed, nothing scheduled, first attempt) share
    /// one statement. A finish that stores an answer for duplicates has a statement of its own, and
    /// so has each finish of an event finished more than once in the job, in their order, so that
    /// the last one decides the row as it did when each finish was a job of its own.
    private static func updateEvents(_ finishes: [Finish], in db: SQLiteConnection) throws(SQLiteError) {
        let repeated = repeatedSeqs(finishes)
        var groups: [(outcome: SharedOutcome, seqs: [Int64])] = []
        for finish in finishes {
            guard finish.response == nil, !finish.settlesUnlessOvertaken, !repeated.contains(finish.seq) else {
                let statement = try db.prepared(finish.settlesUnlessOvertaken ? updateUnlessOvertakenSQL : updateSQL)
                    .bind(1, finish.seq).bind(2, finish.status.rawValue).bind(3, finish.nextAttemptAt).bind(4, finish.attempt.n)
                    .bind(5, finish.response.map(ResponseCoding.encode))
                if finish.settlesUnlessOvertaken {
                    statement.bind(6, finish.attempt.startedAt).bind(7, finish.attempt.finishedAt ?? finish.attempt.startedAt)
                }
                try statement.run()
                continue
            }
            let outcome = SharedOutcome(status: finish.status, nextAttemptAt: finish.nextAttemptAt, n: finish.attempt.n)
            if let index = groups.firstIndex(where: { $0.outcome == outcome }) {
                groups[index].seqs.append(finish.seq)
            } else {
                groups.append((outcome, [finish.seq]))
            }
        }
        for (outcome, seqs) in groups {
            var start = 0
            for size in chunkSizes {
                while seqs.count - start >= size {
                    let statement = try db.statement(eventsSQL[size]!)
                    statement.bind(1, outcome.status.rawValue).bind(2, outcome.nextAttemptAt).bind(3, outcome.n)
                    for (i, seq) in seqs[start..<start + size].enumerated() { statement.bind(Int32(4 + i), seq) }
                    try statement.run()
                    start += size
                }
            }
        }
    }

    private static let updateSQL: StaticString =
        "UPDATE events SET status = ?2, next_attempt_at = ?3, attempt_count = MAX(attempt_count, ?4), response = COALESCE(?5, response) WHERE seq = ?1"
    /// Another run that settled its event between this one's start (?6) and its end (?7), the
    /// earlier of two ends in the same millisecond being the smaller number's, overtook it. Replays
    /// are left out: they do not overlap a run of their event (they wait for it), and one that
    /// failed settles nothing.
    private static let updateUnlessOvertakenSQL: StaticString = """
        UPDATE events SET status = ?2, next_attempt_at = ?3, attempt_count = MAX(attempt_count, ?4), response = COALESCE(?5, response)
        WHERE seq = ?1 AND NOT EXISTS (SELECT 1 FROM attempts WHERE event_seq = ?1 AND n != ?4 AND replay = 0 AND outcome IN ('ok', 'error')
                                       AND finished_at >= ?6 AND (finished_at < ?7 OR (finished_at = ?7 AND n < ?4)))
        """

    /// The events finished more than once in `finishes`. Almost always none (an event's next attempt
    /// starts once its last finish has committed), so the check allocates nothing then: pairwise
    /// for a job of up to 64 finishes, a set beyond.
    private static func repeatedSeqs(_ finishes: [Finish]) -> Set<Int64> {
        if finishes.count <= 64 {
            let any = finishes.withUnsafeBufferPointer { all in
                (0..<all.count).contains { i in (i + 1..<all.count).contains { all[$0].seq == all[i].seq } }
            }
            guard any else { return [] }
        }
        var seen = Set<Int64>(minimumCapacity: finishes.count)
        var repeated = Set<Int64>()
        for finish in finishes where !seen.insert(finish.seq).inserted { repeated.insert(finish.seq) }
        return repeated
    }

    /// What a finish writes into its event row, apart from the row's key.
    private struct SharedOutcome: Equatable {
        let status: EventStatus
        let nextAttemptAt: Int64?
        let n: Int64
    }

    /// An upsert: a finish updates in place the row its attempt's start record wrote, if that was
    /// committed before (a start still queued was dropped for the finish).
    private static let attemptsSQL: [Int: String] = Dictionary(uniqueKeysWithValues: chunkSizes.map { size in
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return (size, """
            INSERT INTO attempts (event_seq, n, started_at, finished_at, outcome, error, replay, plugin, plugin_version)
            VALUES \(Array(repeating: row, count: size).joined(separator: ", "))
            ON CONFLICT (event_seq, n) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at,
                outcome = excluded.outcome, error = excluded.error, replay = excluded.replay, plugin = excluded.plugin,
                plugin_version = excluded.plugin_version
            """)
    })

    private static let eventsSQL: [Int: String] = Dictionary(uniqueKeysWithValues: chunkSizes.map { size in
        (size, "UPDATE events SET status = ?1, next_attempt_at = ?2, attempt_count = MAX(attempt_count, ?3) WHERE seq IN ("
            + (0..<size).map { "?\($0 + 4)" }.joined(separator: ", ") + ")")
    })
}
