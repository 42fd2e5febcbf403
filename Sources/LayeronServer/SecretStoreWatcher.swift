import Foundation
import LayeronCore
import LayeronStore

/// Tells a running server to rebuild its snapshot when the secrets store changes or a rotation's
/// grace ends. It polls: once a second it compares the store file's inode, size, mtime and ctime
/// (nanoseconds), and checks the clock against the next grace end the store holds. A poll costs one
/// `stat`, needs no inotify descriptor, and also sees a file replaced by a rename or restored from a
/// backup; a change is seen within `interval`. The store keeps a rollback journal (not WAL) so that
/// every commit touches the main file. The starting point is taken when the watcher is made, before
/// the server reads the store, so a change made while the server starts (a `secrets set` run as the
/// listening lines appear) is seen at the first poll instead of becoming the starting point.
public final class SecretStoreWatcher: @unchecked Sendable {
    private let store: SecretStore
    private let environment: String
    private let logger: Logger
    private let onChange: @Sendable () -> Void
    /// Owns `signature` and `graceEnd`: each poll runs on it and nothing else touches them. A thread
    /// of its own rather than a libdispatch timer: libdispatch spins for ever, holding up the start
    /// and every signal, when it cannot create the thread a timer fires on (a low `ulimit -u`), where
    /// this one stops the server with a message saying so.
    private let poller = PeriodicThread()
    private let interval: TimeInterval
    private var signature: FileSignature?
    private var graceEnd: Int64?

    public init(store: SecretStore, environment: String, interval: TimeInterval = 1, logger: Logger,
                onChange: @escaping @Sendable () -> Void) {
        self.store = store
        self.environment = environment
        self.logger = logger
        self.onChange = onChange
        self.interval = interval
        // No timer runs yet, so nothing else touches these.
        signature = FileSignature(path: store.path)
        graceEnd = nextGraceEnd(after: WallClock.nowMilliseconds())
    }

    /// Polls from here on, against the store as it was when the watcher was made.
    public func start() {
        poller.start(named: "secrets-watch", first: interval, every: interval) { [weak self] in self?.tick() }
    }

    /// Only after `start`; returns once a poll under way has finished.
    public func stop() {
        poller.stop()
    }

    private func tick() {
        let now = WallClock.nowMilliseconds()
        let current = FileSignature(path: store.path)
        if current != signature {
            signature = current
            logger.info("secrets store changed; reloading", [("file", store.path)])
        } else if let end = graceEnd, now >= end {
            logger.info("a rotation's grace ended; reloading without the old value")
        } else {
            return
        }
        onChange()
        graceEnd = nextGraceEnd(after: now)
    }

    private func nextGraceEnd(after now: Int64) -> Int64? {
        do {
            return try store.nextGraceEnd(environment: environment, after: now)
        } catch {
            logger.error("cannot read the secrets store: \(error)")
            return nil
        }
    }
}

/// What `stat` says about a file, enough to tell that it changed.
private struct FileSignature: Equatable {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: [Int]
    let changed: [Int]

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = [info.st_mtim.tv_sec, info.st_mtim.tv_nsec]
        changed = [info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }
}
