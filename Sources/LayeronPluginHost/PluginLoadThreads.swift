import Foundation
import LayeronCore

/// Runs the folder watcher's plugin loads each on a thread of its own. A load runs the plugin's
/// `init`, which may take seconds or never return; run one after another on the watcher's thread,
/// one slow `init` held up every other file's new build and every removal until it returned. A
/// thread per load rather than a fixed pool: a pool of N stops hot reload once N `init`s hang,
/// while a thread per load costs one thread for as long as that load runs.
enum PluginLoadThreads {
    /// Runs `load` for each of `files` on a thread of its own, then `afterAll` on the thread of the
    /// last to finish (at once on the calling thread when `files` is empty). A load whose thread
    /// the system refuses to create runs on the calling thread instead, and the log says so: hot
    /// reload goes on, held up by that `init`, rather than stopping the server.
    static func run(_ files: [String], logger: Logger, load: @escaping @Sendable (String) -> Void,
                    afterAll: @escaping @Sendable () -> Void) {
        guard !files.isEmpty else { return afterAll() }
        let remaining = Countdown(files.count)
        for file in files {
            let body: @Sendable () -> Void = {
                load(file)
                if remaining.finishOne() { afterAll() }
            }
            do {
                try NamedThread.start("plugin-load", body)
            } catch {
                logger.warn("\(error); loading the plugin on the folder watcher's thread, which waits for its init", [("file", file)])
                body()
            }
        }
    }

    /// How many loads of one batch are still running.
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
