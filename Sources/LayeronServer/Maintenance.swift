import Foundation
import LayeronCore
import LayeronStore

/// Background upkeep of the store: events past the retention window go in small batches with pauses
/// between them, so upkeep never holds the writer for long. Expired dedupe keys need no upkeep: they
/// live on their events and the lookup ignores them.
final class Maintenance: @unchecked Sendable {
    private let store: EventStore
    private let snapshots: SnapshotHolder
    private let logger: Logger
    /// Guards `stopping`.
    private let condition = NSCondition()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(store: EventStore, snapshots: SnapshotHolder, logger: Logger) {
        self.store = store
        self.snapshots = snapshots
        self.logger = logger
    }

    /// Runs shortly after start (a restart after downtime catches up at once), then every `interval`.
    func start(interval: TimeInterval = 60) {
        Thread.startNamed("maintenance") { [self] in
            var wait: TimeInterval = 1
            while pause(wait) {
                runOnce()
                wait = interval
            }
            finished.signal()
        }
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    /// Waits `seconds` unless stopped; false once stopping.
    private func pause(_ seconds: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !stopping { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        return !stopping
    }

    func runOnce() {
        let now = WallClock.nowMilliseconds()
        let cutoff = now - snapshots.snapshot.config.admin.retention.milliseconds
        var purged = 0
        while let n = try? store.purge(before: cutoff), n > 0, purged < 1_000_000 {
            purged += n
            guard pause(0.01) else { return }
        }
        if purged > 0 {
            logger.info("store upkeep", [("events_past_retention", String(purged))])
        }
    }
}
