import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

/// The WAL cannot restart inside a transaction, so a batch is what it can grow past its cycle at
/// once: 300 bodies of 1 MB in one batch grew it to 209 MB. Forty bodies (or emits' headers) of 1 MiB
/// queued while the writer is busy commit in batches of about 8 MiB, not one, whichever path queued them.
final class BatchBytesTests: XCTestCase {
    private var directory: URL!
    private var store: EventStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-batch-bytes-\(UUID().uuidString)")
        store = try EventStore(path: directory.appendingPathComponent("events.db").path)
    }

    override func tearDown() {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// An event with a body of 1 MiB.
    private static func large(_ n: Int, direction: EventDirection = .inbound) -> NewEvent {
        NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: direction, provider: "stripe", type: "t",
                 providerEventID: "evt_\(n)", dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                 headers: [("content-type", "application/json")], body: [UInt8](repeating: 0x61, count: 1 << 20), handler: direction == .inbound ? "p.h" : nil)
    }

    /// An emit with 1 MiB of headers and a body of two bytes: its headers are what it writes.
    private static func largeHeaders(_ n: Int) -> NewEvent {
        NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: .outbound, provider: "standard-webhooks", type: "t",
                 providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                 headers: [("content-type", "application/json"), ("x-padding-\(n)", String(repeating: "a", count: 1 << 20))],
                 body: Array("{}".utf8), handler: nil)
    }

    /// The HTTP path's append, which returns as soon as its job is queued.
    func testLargeAsynchronousAppendsCommitInBatchesOfAboutEightMegabytes() throws {
        let batches = try batchesTaken { [store = store!] n, committed in
            store.append(Self.large(n)) { result in committed(try? result.get()) }
        }
        XCTAssertGreaterThanOrEqual(batches, 5, "40 MiB of bodies in \(batches) batch(es)")
    }

    /// Appends that wait for their commit on their own thread were queued with no size: forty of
    /// them queued together made one batch of 40 MiB.
    func testLargeSynchronousAppendsCommitInBatchesOfAboutEightMegabytes() throws {
        let batches = try batchesTaken(waitingOnTheirThreads: true) { [store = store!] n, committed in
            committed(try? store.append(Self.large(n)))
        }
        XCTAssertGreaterThanOrEqual(batches, 5, "40 MiB of bodies in \(batches) batch(es)")
    }

    /// Emits, on either path: the one that waits had no size, the other counted the body alone, so
    /// their headers (a destination's configured ones) are what these write.
    func testLargeEmitsCommitInBatchesOfAboutEightMegabytes() throws {
        let waited = try batchesTaken(waitingOnTheirThreads: true) { [store = store!] n, committed in
            committed(try? store.appendOutbound(Self.largeHeaders(n), deliver: true))
        }
        XCTAssertGreaterThanOrEqual(waited, 5, "40 MiB of headers on emits that waited in \(waited) batch(es)")
        let queued = try batchesTaken { [store = store!] n, committed in
            store.appendOutbound(Self.largeHeaders(100 + n), deliver: true) { result in committed(try? result.get()) }
        }
        XCTAssertGreaterThanOrEqual(queued, 5, "40 MiB of headers on queued emits in \(queued) batch(es)")
    }

    /// Holds the writer while `append` queues forty events, then lets it go and returns how many
    /// batches took them. `append` calls its second argument with the result once committed. With
    /// `waitingOnTheirThreads`, each call runs on a thread of its own, which it holds until its commit;
    /// the writer is let go once every thread has started its call and had time to queue it.
    private func batchesTaken(waitingOnTheirThreads: Bool = false,
                              _ append: @escaping @Sendable (Int, @escaping @Sendable (AppendResult?) -> Void) -> Void) throws -> UInt64 {
        let before = store.writerBatchCounts.batches
        let release = store.writer.hold()
        let results = Results()
        let committed = DispatchGroup()
        let started = DispatchGroup()
        for n in 0..<40 {
            committed.enter()
            let call: @Sendable () -> Void = { append(n) { result in
                results.add(result)
                committed.leave()
            } }
            if waitingOnTheirThreads {
                started.enter()
                Thread.detachNewThread {
                    started.leave()
                    call()
                }
            } else {
                call()
            }
        }
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
        if waitingOnTheirThreads { Thread.sleep(forTimeInterval: 0.5) }
        release()
        XCTAssertEqual(committed.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(results.count, 40)
        // Less the batch that held the writer.
        return store.writerBatchCounts.batches - before - 1
    }
}

private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values = 0

    func add(_ result: AppendResult?) {
        lock.lock()
        if result != nil { values += 1 }
        lock.unlock()
    }

    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
