import Foundation
import LayeronCore
import LayeronStore
import XCTest

/// The hook the dispatcher hands committed events over with: it runs on the writer after each batch's
/// completions, so whatever a completion queued is passed on by the hook that follows it.
final class BatchHookTests: XCTestCase {
    func testTheHookRunsAfterEachBatchsCompletions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-hook-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        defer { store.close() }
        let collected = HandOverBox()
        let allHandedOver = DispatchSemaphore(value: 0)
        let count = 300
        store.afterEachBatch {
            if collected.handOver() == count { allHandedOver.signal() }
        }
        for i in 0..<count {
            store.append(NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: .inbound, provider: "p",
                                  type: "t", providerEventID: "evt_\(i)", dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                                  headers: [], body: [], handler: "p.h")) { outcome in
                if case .success = outcome { collected.submit() }
            }
        }
        XCTAssertEqual(allHandedOver.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(collected.waiting, 0, "a completion's submission waits for no later batch")
        XCTAssertLessThanOrEqual(collected.hooks, count)
    }
}

/// Completions submit, the hook hands over what they submitted.
private final class HandOverBox: @unchecked Sendable {
    /// Guards the counts.
    private let lock = NSLock()
    private(set) var waiting = 0
    private(set) var handedOver = 0
    private(set) var hooks = 0

    func submit() {
        lock.lock()
        waiting += 1
        lock.unlock()
    }

    /// Returns how many submissions have been handed over in all.
    func handOver() -> Int {
        lock.lock()
        defer { lock.unlock() }
        hooks += 1
        handedOver += waiting
        waiting = 0
        return handedOver
    }
}
