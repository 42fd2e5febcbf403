import Foundation
import LayeronCore

/// Runs the folder watcher's plugin loads each on a thread of its own, and a batch's removals on one
/// more. A load runs the plugin's `init`, which may take seconds or never return; run one after
/// another on the watcher's thread, one slow `init` held up every other file's new build and every
/// removal until it returned. A thread per load rather than a fixed pool: a pool of N stops hot
/// reload once N `init`s hang, while a thread per load costs one thread for as long as that load runs.
enum PluginLoadThreads {
    /// Runs `load` for each of `files` on a thread of its own and `retire` (the batch's removals,
    /// which may wait for those loads, `BatchRemovals`) on one more, then `afterAll` on the thread of
    /// the last to finish. `retire` gets its thread in a batch of removals alone too: a removal that
    /// frees a plugin name loads the files refused for wanting it (`PluginRegistry.unload`), whose
    /// `init` may take as long as any other, and on the calling thread it held up every later change
    /// to the folder. With neither, `afterAll` runs at once on the calling thread.
    /// A load or `retire` whose thread the system refuses to create runs on the calling thread
    /// instead, and the log says so: hot reload goes on, held up by that `init`, rather than
    /// stopping the server. `retire` is started last, so that it never waits there for a load
    /// that is still to start on the same thread.
    static func run(_ files: [String], logger: Logger, load: @escaping @Sendable (String) -> Void,
                    retire: (@Sendable () -> Void)?, afterAll: @escaping @Sendable () -> Void) {
        var jobs = files.map { file in
            Job(thread: "plugin-load", body: { load(file) }, fields: [("file", file)],
                onCallingThread: "loading the plugin on the folder watcher's thread, which waits for its init")
        }
        if let retire {
            jobs.append(Job(thread: "plugin-retire", body: retire, fields: [],
                            onCallingThread: "retiring the removed plugins on the folder watcher's thread, which waits for the loads that may take them over"))
        }
        guard !jobs.isEmpty else { return afterAll() }
        let remaining = Countdown(jobs.count)
        for job in jobs {
            let body: @Sendable () -> Void = {
                job.body()
                if remaining.finishOne() { afterAll() }
            }
            do {
                try NamedThread.start(job.thread, body)
            } catch {
                logger.warn("\(error); \(job.onCallingThread)", job.fields)
                body()
            }
        }
    }

    /// One piece of a batch, on a thread of its own: a load, or the batch's removals.
    private struct Job {
        let thread: String
        let body: @Sendable () -> Void
        /// Logged with the error when its thread cannot be created.
        let fields: [(String, String)]
        /// What the log says it does instead.
        let onCallingThread: String
    }

    /// How many loads of one batch, and its removals, are still running.
    private final class Countdown: @unchecked Sendable {
        /// Guards `count`.
        private let lock = NSLock()
        private var count: Int

        init(_ count: Int) { self.count = count }

        /// Counts one load finished; true for the last.
        func finishOne() -> Bool {
            lock.lock()
            defer { lock.unlock() }
            count -= 1
            return count == 0
        }
    }
}
