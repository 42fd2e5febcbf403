/// Hands out each new event's `seq`. `events.seq` is an `INTEGER PRIMARY KEY` without
/// AUTOINCREMENT, so SQLite alone would give the next event MAX(seq) + 1: once a purge deleted the
/// newest events, their numbers would be given again, and everything keyed by seq (attempt records,
/// replay requests, the dispatchers' in-memory bookkeeping, a client's `next_cursor`) would meet an
/// event that is not the one it was for. AUTOINCREMENT would prevent that at the cost of rebuilding
/// the events table once and of a `sqlite_sequence` write per insert; instead the writer numbers
/// events from memory, starting above both the newest stored event and the highest seq a purge ever
/// deleted (`seq_high_water`, which the purge raises in the transaction that deletes).
///
/// Touched only on the writer thread, inside writer jobs. A number taken by a job that rolls back
/// is not taken again: a gap is harmless, a second owner is not.
final class EventNumbering: @unchecked Sendable {
    // The writer thread's own, so it skips Swift's runtime exclusivity check (docs/performance.md, item 52).
    @exclusivity(unchecked) private var last: Int64

    /// Starts above the highest seq stored in `db` or ever purged from it.
    init(reading db: SQLiteConnection) throws(SQLiteError) {
        let highest = try db.prepared("""
            SELECT MAX(COALESCE((SELECT MAX(seq) FROM events), 0), COALESCE((SELECT MAX(seq) FROM seq_high_water), 0))
            """)
        _ = try highest.step()
        last = highest.int(0)
        highest.reset()
    }

    /// The seq for the event about to be inserted.
    func next() -> Int64 {
        last += 1
        return last
    }
}
