import Foundation
import LayeronCore

/// Runs the writer's completions and after-batch hooks on a thread of their own, batch by batch in
/// commit order, so the writer can start its next transaction at once.
///
/// Completions wake other threads: an HTTP thread to resume each connection, the dispatcher's
/// workers once per batch. On two busy cores every wake-up may hand the CPU to the woken thread, and
/// measured on the writer they took about a third of its wall time while its own CPU there was a
/// fifth of that (docs/performance.md, item 28). The single writer bounds throughput, so those stalls
/// now fall on this thread instead.
final class CompletionThread: @unchecked Sendable {
    /// One committed (or failed) batch: its jobs, whose completions run with their errors, then the
    /// hooks. The jobs are released here too, not on the writer: most were allocated by HTTP threads
    /// and workers, and freeing them put the writer to sleep on those threads' allocator locks about
    /// 150 times a second under load (docs/performance.md, item 42).
    struct Batch {
        let jobs: [GroupCommitWriter.Job]
        /// Each job's error, or nil when the whole batch committed.
        let errors: [SQLiteError?]?
        /// Queued jobs that later ones replaced, taken off the queue with the batch: only released.
        let superseded: [GroupCommitWriter.Job]
        let hooks: [@Sendable () -> Void]
    }

    /// Guards `pending` and `stopping`.
    private let condition = NSCondition()
    // Guarded by `condition`, so these skip Swift's runtime exclusivity check (docs/performance.md, item 52).
    @exclusivity(unchecked) private var pending: [Batch] = []
    @exclusivity(unchecked) private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)

    init() {
        Thread.startNamed("store-complete") { [unowned self] in self.loop() }
    }

    /// Queues a batch's completions; they run after those of every batch handed over before.
    /// Signals after unlocking, so the woken thread does not find the lock still held and sleep again.
    func hand(_ batch: consuming Batch) {
        condition.lock()
        pending.append(consume batch)
        condition.unlock()
        condition.signal()
    }

    /// Runs what is queued, then stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        stopped.wait()
    }

    private func loop() {
        var taken: [Batch] = []
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                condition.unlock()
                stopped.signal()
                return
            }
            swap(&taken, &pending)
            condition.unlock()
            for batch in taken {
                for (i, job) in batch.jobs.enumerated() { job.done?(batch.errors?[i] ?? nil) }
                for hook in batch.hooks { hook() }
            }
            taken.removeAll(keepingCapacity: true)
        }
    }
}
