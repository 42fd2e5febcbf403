import Foundation

/// The one thread that writes to SQLite. Callers queue jobs; the thread takes everything queued,
/// runs it in a single transaction and commits once (a batch with a failing job is run again with a
/// savepoint per job, so one failing job does not undo the others). Requests that wait for durability therefore share commits, and the
/// commit rate no longer bounds the request rate.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Work = (SQLiteConnection) throws(SQLiteError) -> Void

    private final class Job {
        let work: Work
        let done: ((SQLiteError?) -> Void)?
        init(work: @escaping Work, done: ((SQLiteError?) -> Void)?) {
            self.work = work
            self.done = done
        }
    }

    /// Guards `queue` and `stopping`.
    private let queueCondition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    private let connection: SQLiteConnection
    private let maxBatch = 1024

    init(connection: SQLiteConnection) {
        self.connection = connection
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "layeron-store-writer"
        thread.start()
    }

    /// Queues `work` and returns at once; it commits with the next batch.
    func enqueue(_ work: @escaping Work) {
        push(Job(work: work, done: nil))
    }

    /// Queues `work` and returns at once; `done` runs on the writer thread once its batch has
    /// committed (nil) or failed, so it must be short: it hands the result on and returns.
    func enqueue(_ work: @escaping Work, done: @escaping @Sendable (SQLiteError?) -> Void) {
        push(Job(work: work, done: done))
    }

    /// Queues `work` and waits until its batch has committed (or failed).
    func perform(_ work: @escaping Work) throws(SQLiteError) {
        let finished = DispatchSemaphore(value: 0)
        let box = ErrorBox()
        push(Job(work: work, done: { error in
            box.error = error
            finished.signal()
        }))
        finished.wait()
        if let error = box.error { throw error }
    }

    /// Commits what is queued, then stops the thread.
    func stop() {
        queueCondition.lock()
        stopping = true
        queueCondition.signal()
        queueCondition.unlock()
        stopped.wait()
    }

    private func push(_ job: Job) {
        queueCondition.lock()
        let rejected = stopping
        if !rejected { queue.append(job) }
        queueCondition.signal()
        queueCondition.unlock()
        if rejected { job.done?(SQLiteError(code: 21, message: "the store is closed")) }
    }

    private func loop() {
        while true {
            queueCondition.lock()
            while queue.isEmpty && !stopping { queueCondition.wait() }
            if queue.isEmpty && stopping {
                queueCondition.unlock()
                stopped.signal()
                return
            }
            let batch: [Job]
            if queue.count <= maxBatch {
                batch = queue
                queue.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(maxBatch))
                queue.removeFirst(maxBatch)
            }
            queueCondition.unlock()
            commit(batch)
        }
    }

    /// Almost every batch has no failing job, so it first runs as one plain transaction. Only when
    /// something fails is it rolled back and run again with a savepoint per job, so that one bad job
    /// still cannot undo the others. Jobs only write to the database and to their own result boxes,
    /// so running one twice after a rollback is harmless.
    private func commit(_ batch: [Job]) {
        if commitTogether(batch) {
            for job in batch { job.done?(nil) }
        } else {
            commitIsolated(batch)
        }
    }

    private func commitTogether(_ batch: [Job]) -> Bool {
        do throws(SQLiteError) {
            try connection.run("BEGIN IMMEDIATE")
            for job in batch { try job.work(connection) }
            try connection.run("COMMIT")
            return true
        } catch {
            try? connection.execute("ROLLBACK")
            return false
        }
    }

    private func commitIsolated(_ batch: [Job]) {
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
                    try connection.run("RELEASE job")
                }
            }
            try connection.run("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            for i in errors.indices { errors[i] = error }
        }
        for (i, job) in batch.enumerated() { job.done?(errors[i]) }
    }
}

/// Carries an error from the writer thread to the waiting caller; the semaphore orders the accesses.
private final class ErrorBox: @unchecked Sendable {
    var error: SQLiteError?
}
