/// When the writer lets a batch grow before taking it. Every commit rewrites the tail pages of each
/// b-tree its batch touched: about 22 WAL frames for a batch of eleven events and the finishes of the
/// batch before, so the WAL's bytes (their checksums, the writes into the page cache, the syncs and
/// the checkpoint's copies) follow the number of commits more than the number of events. Woken by the
/// first queued job, the writer used to commit as soon as anything was queued. After a batch large
/// enough to show concurrent load it now waits a little: until as many jobs are queued as that batch
/// held (at most `enough`), or `windowNanoseconds` after the end of that commit. Clients that wait
/// for their answers refill a batch of their own number quickly and then send nothing more until
/// it commits, so waiting for more than the last batch held would only idle the cores (eight
/// connections lost 40% of their rate to a fixed 64). A client sending one request at a time never
/// waits, since its batches stay small (docs/performance.md, item 44).
struct BatchGathering: Equatable, Sendable {
    /// The longest wait, from the end of the commit that started it.
    let windowNanoseconds: UInt64
    /// A batch of at least this many jobs shows concurrent load; only after one does the writer wait.
    let afterBatchOf: Int
    /// The writer stops waiting once this many jobs are queued, or as many as the last batch held.
    let enough: Int

    /// A wait for the next batch: until the uptime `until` (in nanoseconds), or `jobs` queued.
    struct Wait: Equatable {
        let until: UInt64
        let jobs: Int
    }

    /// Measured on the bench's loop of 64 connections (item 44): a p99 of 7.0–8.8 ms instead of
    /// 8.0–11.2, and the rate +9% in one series of eight order-alternated pairs but −0.5% in another
    /// an hour later (this machine's drift). Against 400 µs, 800 µs gave +5%; 1,500 µs no more than
    /// 800; waiting for 128 jobs instead of 64 −8% (the wait then mostly runs out, the cores idle).
    static let standard = BatchGathering(windowNanoseconds: 800_000, afterBatchOf: 8, enough: 64)
    /// No waiting: each batch is whatever was queued when the writer came back.
    static let off = BatchGathering(windowNanoseconds: 0, afterBatchOf: .max, enough: 1)

    /// How the writer waits for its next batch after committing one of `jobs` at `now` (uptime in
    /// nanoseconds); nil when it takes the next batch at once.
    func wait(afterCommitting jobs: Int, at now: UInt64) -> Wait? {
        guard windowNanoseconds > 0, jobs >= afterBatchOf else { return nil }
        return Wait(until: now + windowNanoseconds, jobs: min(enough, jobs))
    }
}
