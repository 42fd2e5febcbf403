import Foundation
import LayeronCore
import LayeronStore
import XCTest

/// The WAL is checkpointed by a thread of its own and restarted by the writer: under continuous
/// writes it must stay bounded (a checkpoint from another connection alone never lets it restart),
/// and every committed event must be in the database after the store is closed and reopened.
final class WALCheckpointTests: XCTestCase {
    func testTheWALStaysBoundedUnderContinuousWrites() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-wal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("events.db").path
        let store = try EventStore(path: path)
        let count = 60_000
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 1_200)
        let progress = WALProgress(walPath: path + "-wal", total: count)
        store.afterEachWALRestart { progress.restarted(after: $0) }
        // At most 64 appends in flight, as from the bench's 64 connections, so batches are the size
        // they are under load (all 60,000 queued at once make 1,024-event batches of several MB).
        let inFlight = DispatchSemaphore(value: 64)
        for i in 0..<count {
            inFlight.wait()
            let event = NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: .inbound, provider: "p",
                                 type: "t", providerEventID: "evt_\(i)", dedupeKey: "evt_\(i)", dedupeExpiresAt: 10_000_000,
                                 receivedAt: 1_000, headers: [("content-type", "application/json")], body: body, handler: "p.h")
            store.append(event) { outcome in
                if case .success = outcome { progress.committed() }
                inFlight.signal()
            }
        }
        XCTAssertEqual(progress.done.wait(timeout: .now() + 120), .success)
        store.close()
        // 60,000 events of this shape append well over 80 MB of WAL frames (2 KB or more an event); the
        // cycle restarts the WAL once it passes 64 MB, and a writer that outruns the last pass waits
        // for it at 72 MB, so the file stays under that plus a batch.
        XCTAssertLessThan(progress.largestWAL, 80 << 20, "the WAL grew to \(progress.largestWAL) bytes")
        let restarts = progress.restarts
        XCTAssertGreaterThanOrEqual(restarts.count, 1, "the writer's own checkpoint is reported to its observers")
        XCTAssertTrue(restarts.allSatisfy { $0 > 0 && $0 < 10 }, "\(restarts)")
        // The store hands the pages its passes synced back to the kernel once the file has grown
        // 64 MB past them (WrittenPageRelease): the table leaves of the file's first eighth, written
        // long before its last 64 MB, are no longer cached.
        if PageResidency.releasable(directory.path) {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            XCTAssertGreaterThan(size, 80 << 20, "60,000 events fill over 80 MB")
            let tableLeaves = try PageResidency.cachedShares(of: path, in: 0..<size / 8, types: [PageResidency.tableLeaf])
            XCTAssertLessThan(tableLeaves[0], 0.1)
        }

        let reopened = try EventStore(path: path)
        defer { reopened.close() }
        XCTAssertEqual(try reopened.queueCounts(now: 2_000).due, Int64(count))
    }
}

/// Counts committed appends, samples the WAL file's size every 500 of them, and keeps how long each
/// of the writer's own checkpoints took.
private final class WALProgress: @unchecked Sendable {
    let done = DispatchSemaphore(value: 0)
    private let walPath: String
    private let total: Int
    /// Guards `count`, `largest` and `restartSeconds`.
    private let lock = NSLock()
    private var count = 0
    private var largest = 0
    private var restartSeconds: [Double] = []

    init(walPath: String, total: Int) {
        self.walPath = walPath
        self.total = total
    }

    var largestWAL: Int {
        lock.lock()
        defer { lock.unlock() }
        return largest
    }

    var restarts: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return restartSeconds
    }

    func restarted(after seconds: Double) {
        lock.lock()
        restartSeconds.append(seconds)
        lock.unlock()
    }

    func committed() {
        lock.lock()
        count += 1
        let current = count
        if current % 500 == 0, let size = try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int {
            largest = max(largest, size)
        }
        lock.unlock()
        if current == total { done.signal() }
    }
}
