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
    private let thread = PeriodicThread()

    init(store: EventStore, snapshots: SnapshotHolder, logger: Logger) {
        self.store = store
        self.snapshots = snapshots
        self.logger = logger
    }

    /// Runs shortly after start (a restart after downtime catches up at once), then every `interval`.
    func start(interval: TimeInterval = 60) {
        thread.start(named: "maintenance", first: 1, every: interval) { [self] in runOnce() }
    }

    func stop() {
        thread.stop()
    }

    func runOnce() {
        let now = WallClock.nowMilliseconds()
        let cutoff = now - snapshots.snapshot.config.admin.retention.milliseconds
        var purged = 0
        while let n = try? store.purge(before: cutoff), n > 0, purged < 1_000_000 {
            purged += n
            guard thread.pause(0.01) else { return }
        }
        if purged > 0 {
            logger.info("store upkeep", [("events_past_retention", String(purged))])
        }
    }
}
