/// How the store's writes have gone since it opened: what the metrics page counts and what `/readyz`
/// reads to tell whether the server can record anything now.
public struct StoreWriteHealth: Sendable {
    /// Writes the writer could not commit (events, attempt records, admin writes; a bulk job counts
    /// each of its records, as `BatchCounts.jobs` does).
    public var failedWrites: UInt64 = 0
    /// The error of the last batch when none of its writes committed (a full disk, a database
    /// another process keeps locked, a file that became read-only); nil once a write commits again.
    public var failing: SQLiteError?

    /// Notes a batch of `records` writes of which `failed` did not commit, `error` being one of their
    /// errors, and whether what committed changed any row. The store fails when nothing of a batch
    /// committed; it recovers only with a batch that changed something, since a transaction that
    /// wrote nothing (a purge with nothing to purge) commits even on a full disk.
    mutating func note(records: Int, failed: Int, error: SQLiteError?, changedRows: Bool) {
        failedWrites += UInt64(failed)
        if failed >= records {
            failing = error
        } else if changedRows {
            failing = nil
        }
    }
}
