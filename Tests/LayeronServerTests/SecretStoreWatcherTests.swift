import Foundation
import LayeronCore
import LayeronServer
import LayeronStore
import Synchronization
import XCTest

/// The secrets store's watcher on its own, against a real store file.
final class SecretStoreWatcherTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-watcher-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `serve` makes the watcher before it reads the store and starts it after: a `secrets set` in
    /// between (one run as the listening lines appear) must reload, not become the starting point.
    func testAChangeBetweenMakingAndStartingTheWatcherIsSeen() throws {
        let store = try SecretStore(path: directory.appendingPathComponent("data/secrets.db").path, key: MasterKey.random())
        let changes = Mutex(0)
        let watcher = SecretStoreWatcher(store: store, environment: "development", interval: 0.05, logger: .discard) {
            changes.withLock { $0 += 1 }
        }
        defer { watcher.stop() }
        _ = try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("whsec_set_while_starting"),
                          now: WallClock.nowMilliseconds())
        watcher.start()
        let deadline = Date().addingTimeInterval(10)
        while changes.withLock({ $0 }) == 0, Date() < deadline { usleep(10_000) }
        XCTAssertEqual(changes.withLock { $0 }, 1, "the change made before start was never reloaded")
    }

    /// The control for the test above: a store written before the watcher is made, and not after,
    /// is no change however many intervals pass.
    func testAWatcherOfAnUnchangedStoreReportsNoChange() throws {
        let store = try SecretStore(path: directory.appendingPathComponent("data/secrets.db").path, key: MasterKey.random())
        _ = try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("whsec_set_before"),
                          now: WallClock.nowMilliseconds())
        let changes = Mutex(0)
        let watcher = SecretStoreWatcher(store: store, environment: "development", interval: 0.05, logger: .discard) {
            changes.withLock { $0 += 1 }
        }
        defer { watcher.stop() }
        watcher.start()
        usleep(1_000_000)
        XCTAssertEqual(changes.withLock { $0 }, 0, "a store nobody changed was reported changed")
    }
}
