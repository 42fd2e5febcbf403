import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

/// The store counts the writes it could not commit, and fails (`StoreWriteHealth.failing`) from a batch
/// of which nothing committed until a write commits again.
final class WriteHealthTests: XCTestCase {
    private var directory: URL!
    private var store: EventStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-health-\(UUID().uuidString)")
        store = try EventStore(path: directory.appendingPathComponent("events.db").path)
    }

    override func tearDown() {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    private let full = SQLiteError(code: 13, message: "database or disk is full")

    private func failingWrite() {
        let error = full
        XCTAssertThrowsError(try store.writer.perform { (_) throws(SQLiteError) in throw error })
    }

    private func append(_ id: String) throws {
        _ = try store.append(NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: .inbound, provider: "p",
                                      type: "t", providerEventID: id, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                                      headers: [], body: [], handler: nil))
    }

    func testAFailedBatchFailsTheStoreUntilAWriteCommits() throws {
        try append("evt_1")
        XCTAssertEqual(store.writeHealth.failedWrites, 0)
        XCTAssertNil(store.writeHealth.failing)

        failingWrite()
        failingWrite()
        XCTAssertEqual(store.writeHealth.failedWrites, 2)
        XCTAssertEqual(store.writeHealth.failing?.code, 13)

        try append("evt_2")
        XCTAssertEqual(store.writeHealth.failedWrites, 2, "a failure stays counted")
        XCTAssertNil(store.writeHealth.failing, "a committed write ends the failure")
    }

    /// A transaction that changes nothing commits even on a full disk: it is no sign of recovery.
    func testOnlyAWriteThatChangesARowEndsTheFailure() throws {
        failingWrite()
        try store.writer.perform { (_) throws(SQLiteError) in }
        XCTAssertNotNil(store.writeHealth.failing, "an empty transaction ended the failure")
        XCTAssertEqual(try store.purge(before: 0), 0)
        XCTAssertNotNil(store.writeHealth.failing, "a purge with nothing to purge ended the failure")

        let probed = DispatchSemaphore(value: 0)
        store.probeWrite { probed.signal() }
        XCTAssertEqual(probed.wait(timeout: .now() + 10), .success)
        XCTAssertNil(store.writeHealth.failing, "the probe's write ends the failure")
        XCTAssertEqual(store.writeHealth.failedWrites, 1)
    }

    func testOneFailingWriteAmongCommittedOnesIsCountedButTheStoreWrites() throws {
        let release = store.writer.hold()
        let done = DispatchGroup()
        let error = full
        done.enter()
        store.writer.enqueue({ (_) throws(SQLiteError) in throw error }, done: { _ in done.leave() })
        done.enter()
        store.writer.enqueue({ (db) throws(SQLiteError) in try db.run("UPDATE dedupe_horizon SET live_until = live_until") },
                             done: { _ in done.leave() })
        release()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(store.writeHealth.failedWrites, 1)
        XCTAssertNil(store.writeHealth.failing)
    }
}
