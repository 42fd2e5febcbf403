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
    /// errors: the store fails when nothing of the batch committed, and recovers with any commit.
    mutating func note(records: Int, failed: Int, error: SQLiteError?) {
        failedWrites += UInt64(failed)
        failing = failed >= records ? error : nil
    }
}
