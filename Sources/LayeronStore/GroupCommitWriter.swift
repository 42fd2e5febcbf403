import CSQLite
import Foundation
import LayeronCore

/// The one thread that writes to SQLite. Callers queue jobs; the thread takes everything queued,
/// runs it in a single transaction and commits once (a batch with a failing job is run again with a
/// savepoint per job, so one failing job does not undo the others). Requests that wait for durability therefore share commits, and the
/// commit rate no longer bounds the request rate. Under load the writer lets the next batch grow a
/// little before taking it (`BatchGathering`). The jobs' completions and the after-batch hooks
/// run on a `CompletionThread`, in commit order, while the writer goes on to the next batch.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Work = (SQLiteConnection) throws(SQLiteError) -> Void

    final class Job {
        let work: Work
        let done: ((SQLiteError?) -> Void)?
        /// Set under `queueCondition` when the writer takes the job into a batch.
        var taken = false
        /// Set under `queueCondition` while not `taken`: a later job does this one's work as well.
        var superseded = false
        /// The records the job writes: one, or a bulk job's items (`add(_:to:replacing:)`). Batch
        /// sizes and the gathering count records, so that a bulk job's items weigh as they did when
        /// each was a job of its own. Changed under `queueCondition` while not `taken`.
        var records = 1
        /// About how many bytes the job writes when they are many (an event's body and headers),
        /// else 0: a batch stops taking jobs at `maxBatchBytes`.
        let bytes: Int
        init(work: @escaping Work, bytes: Int = 0, done: ((SQLiteError?) -> Void)?) {
            self.work = work
            self.bytes = bytes
            self.done = done
        }
    }

    /// A queued job that a later job may make unnecessary, as long as the writer has not taken it.
    struct Replaceable: @unchecked Sendable {
        fileprivate let job: Job
    }

    /// Guards `queue`, `stopping`, `wakeAt`, `batchCounts` and the jobs' `taken` and `superseded`.
    /// Monotonic, so a step of the wall clock back does not hold a batch's gathering (and every
    /// commit behind it) for as long as the step.
    private let queueCondition = MonotonicCondition()
    // Every `var` of the writer is guarded by `queueCondition` or touched by the writer thread alone,
    // and skips Swift's runtime exclusivity check, which each job paid several times (item 52).
    @exclusivity(unchecked) private var queue: [Job] = []
    /// The records of the queued jobs (see `Job.records`).
    @exclusivity(unchecked) private var queuedRecords = 0
    /// How many queued records wake the writer: one, or the wait's `jobs` while it gathers a batch.
    @exclusivity(unchecked) private var wakeAt = 1
    private let gathering: BatchGathering
    /// How the writer waits for its next batch to grow (see `BatchGathering`). Writer only.
    @exclusivity(unchecked) private var gather: BatchGathering.Wait?
    /// Batches taken and the jobs in them, for the metrics page: their ratio is the batch size.
    @exclusivity(unchecked) private var batchCounts = BatchCounts()
    /// Failed writes and whether the last batch failed entirely. Guarded by `queueCondition`, and
    /// written only after a batch with a failure or the first batch after one (`writeFailed`).
    @exclusivity(unchecked) private var writeHealth = StoreWriteHealth()
    /// Whether a batch failed and no batch has changed a row since (`writeHealth` has to be told of
    /// every batch meanwhile). Writer only.
    @exclusivity(unchecked) private var writeFailed = false
    @exclusivity(unchecked) private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    private let connection: SQLiteConnection
    private let maxBatch = 1024
    /// A batch takes no more jobs once they write this many bytes (`Job.bytes`): the WAL cannot
    /// restart inside a transaction, so a batch is what the WAL can grow past its cycle at once, and
    /// 1,024 bodies of the default 1 MiB limit grew it to 209 MB. Far above the common batch (a dozen
    /// events of a few kilobytes), which it never cuts.
    private let maxBatchBytes: Int
    /// Told after every rollback, so that what the rolled-back jobs noted in memory can be undone.
    private let afterRollback: () -> Void
    /// Run after each batch's completions (added with `afterEachBatch`), so that what the
    /// completions queued for other threads is handed over once per batch, not per job.
    /// Guarded by `queueCondition`; the loop reads them when it takes a batch.
    @exclusivity(unchecked) private var batchHooks: [@Sendable () -> Void] = []
    /// Told how long each of the writer's own WAL checkpoints held its commits (added with
    /// `afterEachWALRestart`). Guarded by `queueCondition`, read with the batch hooks.
    private var restartObservers: [@Sendable (Double) -> Void] = []
    private let completions = CompletionThread()

    /// Checkpoints the WAL with the help of its own thread, in place of SQLite's automatic checkpoint.
    private let checkpointer: WALCheckpointer
    @exclusivity(unchecked) private var walCycle: WALCycle

    init(connection: SQLiteConnection, checkpointer: WALCheckpointer, gathering: BatchGathering = .standard,
         maxBatchBytes: Int = 8 << 20, afterRollback: @escaping () -> Void = {}) {
        self.connection = connection
        self.maxBatchBytes = maxBatchBytes
        self.gathering = gathering
        self.afterRollback = afterRollback
        self.checkpointer = checkpointer
        connection.trackWALFrames()
        walCycle = WALCycle(pageSize: connection.pageSize)
        Thread.startNamed("store-writer") { [unowned self] in self.loop() }
    }

    /// Queues `work` and returns at once; it commits with the next batch.
    func enqueue(_ work: @escaping Work) {
        push(Job(work: work, done: nil))
    }

    /// Queues `work` like `enqueue(_:)` and returns a handle with which a later job can take its place.
    func enqueueReplaceable(_ work: @escaping Work) -> Replaceable {
        let job = Job(work: work, done: nil)
        push(job)
        return Replaceable(job: job)
    }

    /// Queues `work` and returns at once; `done` runs on the completion thread once its batch has
    /// committed (nil) or failed, after the completions of earlier batches, so it must be short: it
    /// hands the result on and returns.
    /// When `replacing` has not been taken by the writer yet, it is dropped: `work` must do what it
    /// would have done. `bytes` is about what `work` writes, when that is much (see `Job.bytes`).
    func enqueue(_ work: @escaping Work, bytes: Int = 0, replacing: Replaceable? = nil, done: @escaping @Sendable (SQLiteError?) -> Void) {
        push(Job(work: work, bytes: bytes, done: done), replacing: replacing?.job)
    }

    /// Adds `item` to the queued job of `bulk` while the writer has not taken it, or queues a new
    /// one there. Each job writes all its items at once (`Bulk.write`), so a batch's items share
    /// their statements instead of running one each. `replacing` works as in `enqueue(_:replacing:done:)`:
    /// a queued job the item makes unnecessary is dropped while the writer has not taken it. The
    /// item joins a job that was queued before `replacing` only when `replacing` is dropped with it,
    /// or has been taken and so runs first: the two never commit out of their order.
    func add<Item>(_ item: Item, to bulk: Bulk<Item>, replacing: Replaceable? = nil) {
        queueCondition.lock()
        let rejected = stopping
        if !rejected {
            if let replacing, !replacing.job.taken { replacing.job.superseded = true }
            queuedRecords += 1
            if let job = bulk.openJob, let items = bulk.openItems, !job.taken {
                items.values.append(item)
                job.records += 1
            } else {
                let items = Bulk<Item>.Items(item)
                let job = Job(work: { (db) throws(SQLiteError) in try bulk.write(items.values, db) },
                              done: { error in bulk.done(items.values, error) })
                bulk.openJob = job
                bulk.openItems = items
                queue.append(job)
            }
        }
        let wake = queuedRecords >= wakeAt
        queueCondition.unlock()
        if wake { queueCondition.signal() }
        if rejected { bulk.done([item], SQLiteError(code: 21, message: "the store is closed")) }
    }

    /// Queues `work` and waits until its batch has committed (or failed). `bytes` is about what
    /// `work` writes, when that is much (see `Job.bytes`): callers waiting on their own threads queue
    /// as many jobs at once as callers that do not.
    func perform(_ work: @escaping Work, bytes: Int = 0) throws(SQLiteError) {
        let finished = DispatchSemaphore(value: 0)
        let box = ErrorBox()
        push(Job(work: work, bytes: bytes, done: { error in
            box.error = error
            finished.signal()
        }))
        finished.wait()
        if let error = box.error { throw error }
    }

    /// Adds a hook that runs after each batch's completions, after the hooks added before it.
    func afterEachBatch(_ hook: @escaping @Sendable () -> Void) {
        queueCondition.lock()
        batchHooks.append(hook)
        queueCondition.unlock()
    }

    /// Adds an observer of the writer's own WAL checkpoints (once per WAL cycle, while its commits
    /// wait), told the seconds each took. It runs on the writer thread, so it must be short.
    func afterEachWALRestart(_ observer: @escaping @Sendable (Double) -> Void) {
        queueCondition.lock()
        restartObservers.append(observer)
        queueCondition.unlock()
    }

    /// How many batches the writer has taken and how many jobs they held, since it started.
    var counts: BatchCounts {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        return batchCounts
    }

    /// The writes that failed since the store opened, and the last batch's error if nothing of it committed.
    var health: StoreWriteHealth {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        return writeHealth
    }

    /// Commits what is queued and runs its completions, then stops the threads.
    func stop() {
        queueCondition.lock()
        stopping = true
        queueCondition.signal()
        queueCondition.unlock()
        stopped.wait()
    }

    private func push(_ job: Job, replacing: Job? = nil) {
        queueCondition.lock()
        let rejected = stopping
        if !rejected {
            if let replacing, !replacing.taken { replacing.superseded = true }
            queue.append(job)
            queuedRecords += 1
        }
        let wake = queuedRecords >= wakeAt
        queueCondition.unlock()
        // After unlocking: a writer woken under the lock would only sleep again on it.
        if wake { queueCondition.signal() }
        if rejected { job.done?(SQLiteError(code: 21, message: "the store is closed")) }
    }

    private func loop() {
        while true {
            queueCondition.lock()
            while queue.isEmpty && !stopping { queueCondition.wait() }
            if let gather { gatherLocked(gather) }
            if queue.isEmpty && stopping {
                queueCondition.unlock()
                completions.stop()
                stopped.signal()
                return
            }
            var batch: [Job] = []
            var superseded: [Job] = []
            batch.reserveCapacity(min(queue.count, maxBatch))
            var records = 0
            var taken = 0
            var bytes = 0
            for job in queue.prefix(maxBatch) {
                guard bytes < maxBatchBytes else { break }
                taken += 1
                job.taken = true
                queuedRecords -= job.records
                if job.superseded { superseded.append(job) } else { batch.append(job); records += job.records; bytes += job.bytes }
            }
            if queue.count == taken {
                queue.removeAll(keepingCapacity: true)
            } else {
                queue.removeFirst(taken)
            }
            let hooks = batchHooks
            let observers = restartObservers
            if !batch.isEmpty {
                batchCounts.batches += 1
                batchCounts.jobs += UInt64(records)
            }
            queueCondition.unlock()
            if !batch.isEmpty {
                let changesBefore = writeFailed ? sqlite3_total_changes64(connection.handle) : 0
                let errors = commit(batch)
                if errors != nil || writeFailed {
                    noteHealth(batch, errors, changedRows: sqlite3_total_changes64(connection.handle) > changesBefore)
                }
                let committed = CompletionThread.Batch(jobs: batch, errors: errors, superseded: superseded, hooks: hooks)
                // The completion thread must hold the last references to the jobs (see `Batch`).
                batch = []
                superseded = []
                completions.hand(consume committed)
                let step = walCycle.afterCommit(frames: connection.walFrames, progress: checkpointer.progress, request: checkpointer.request)
                if step != .none {
                    let started = DispatchTime.now().uptimeNanoseconds
                    if case let .checkpointAfterPass(pass) = step { checkpointer.waitUntilFinished(pass) }
                    connection.checkpointPassive()
                    let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                    for observer in observers { observer(seconds) }
                }
                gather = gathering.wait(afterCommitting: records, at: DispatchTime.now().uptimeNanoseconds)
            }
        }
    }

    /// Records a batch's failed writes in `writeHealth`. Called by the writer only for a batch with
    /// a failure and those after it until one changes a row, so a store that writes fine takes no
    /// lock for it.
    private func noteHealth(_ batch: [Job], _ errors: [SQLiteError?]?, changedRows: Bool) {
        var records = 0
        var failed = 0
        var firstError: SQLiteError?
        for (i, job) in batch.enumerated() {
            records += job.records
            if let error = errors?[i] {
                failed += job.records
                firstError = firstError ?? error
            }
        }
        queueCondition.lock()
        writeHealth.note(records: records, failed: failed, error: firstError, changedRows: changedRows)
        writeFailed = writeHealth.failing != nil || failed > 0
        queueCondition.unlock()
    }

    /// Holding `queueCondition`, waits until `wait.jobs` jobs are queued, the store stops or the
    /// uptime passes `wait.until`.
    private func gatherLocked(_ wait: BatchGathering.Wait) {
        wakeAt = wait.jobs
        while queuedRecords < wait.jobs && !stopping {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < wait.until else { break }
            queueCondition.wait(seconds: Double(wait.until - now) / 1e9)
        }
        wakeAt = 1
    }

    /// Almost every batch has no failing job, so it first runs as one plain transaction. Only when
    /// something fails is it rolled back and run again with a savepoint per job, so that one bad job
    /// still cannot undo the others. Jobs only write to the database and to their own result boxes,
    /// so running one twice after a rollback is harmless. Returns each job's error, or nil when all
    /// of them committed.
    private func commit(_ batch: [Job]) -> [SQLiteError?]? {
        commitTogether(batch) ? nil : commitIsolated(batch)
    }

    private func commitTogether(_ batch: [Job]) -> Bool {
        do throws(SQLiteError) {
            try connection.run("BEGIN IMMEDIATE")
            for job in batch { try job.work(connection) }
            try connection.run("COMMIT")
            return true
        } catch {
            try? connection.execute("ROLLBACK")
            afterRollback()
            return false
        }
    }

    private func commitIsolated(_ batch: [Job]) -> [SQLiteError?] {
        var errors = [SQLiteError?](repeating: nil, count: batch.count)
        do throws(SQLiteError) {
            try connection.run("BEGIN IMMEDIATE")
            for (i, job) in batch.enumerated() {
                try connection.run("SAVEPOINT job")
                do throws(SQLiteError) {
                    try job.work(connection)
                    try connection.run("RELEASE job")
                } catch {
                    errors[i] = error
                    try connection.run("ROLLBACK TO job")
                    afterRollback()
                    try connection.run("RELEASE job")
                }
            }
            try connection.run("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            afterRollback()
            for i in errors.indices { errors[i] = error }
        }
        return errors
    }
}

/// Work the writer runs once for many items (`GroupCommitWriter.add(_:to:replacing:)`): `write` runs
/// in the batch's transaction with every item added before the writer took the job, and `done`
/// on the completion thread once that batch committed (nil) or failed, for the same items.
final class Bulk<Item>: @unchecked Sendable {
    typealias Write = ([Item], SQLiteConnection) throws(SQLiteError) -> Void
    let write: Write
    let done: ([Item], SQLiteError?) -> Void
    /// The queued job that new items join until the writer takes it, and its items. Guarded by the
    /// writer's queue lock. Weak: the job's last reference stays with the completion thread, which
    /// releases it after its batch (see `CompletionThread.Batch`), and the job, which refers to
    /// this bulk, forms no cycle with it.
    // No runtime exclusivity check: the writer's queue lock guards them (item 52).
    @exclusivity(unchecked) fileprivate weak var openJob: GroupCommitWriter.Job?
    @exclusivity(unchecked) fileprivate weak var openItems: Items?

    init(write: @escaping Write, done: @escaping ([Item], SQLiteError?) -> Void) {
        self.write = write
        self.done = done
    }

    /// One job's items: appended under the writer's queue lock while the job is not taken, read by
    /// the writer and the completion thread only after it was.
    fileprivate final class Items {
        @exclusivity(unchecked) var values: [Item]
        init(_ first: Item) { values = [first] }
    }
}

/// Carries an error from the writer thread to the waiting caller; the semaphore orders the accesses.
private final class ErrorBox: @unchecked Sendable {
    var error: SQLiteError?
}
