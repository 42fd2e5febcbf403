import Foundation
@testable import LayeronStore
import XCTest

/// After a batch that shows concurrent load the writer waits for the next one to grow, and stops
/// waiting as soon as enough jobs are queued (no more than the last batch held); a client that sends
/// one job at a time never waits.
final class BatchGatheringTests: XCTestCase {
    func testOnlyABatchOfConcurrentLoadStartsAWait() {
        let gathering = BatchGathering(windowNanoseconds: 400_000, afterBatchOf: 8, enough: 64)
        XCTAssertNil(gathering.wait(afterCommitting: 1, at: 1_000))
        XCTAssertNil(gathering.wait(afterCommitting: 7, at: 1_000))
        XCTAssertEqual(gathering.wait(afterCommitting: 8, at: 1_000), .init(until: 401_000, jobs: 8), "as many as the last batch")
        XCTAssertEqual(gathering.wait(afterCommitting: 40, at: 1_000), .init(until: 401_000, jobs: 40))
        XCTAssertEqual(gathering.wait(afterCommitting: 500, at: 1_000), .init(until: 401_000, jobs: 64), "at most enough")
        XCTAssertNil(BatchGathering.off.wait(afterCommitting: 1_000, at: 1_000))
    }

    /// The window is ten seconds, so a writer that waited it out would fail the timeouts below.
    func testTheWriterWaitsForEnoughJobsAndNoLonger() throws {
        let fixture = try WriterFixture(gathering: BatchGathering(windowNanoseconds: 10_000_000_000, afterBatchOf: 4, enough: 3))
        defer { fixture.close() }
        let writer = fixture.writer
        let batches = Counter()
        writer.afterEachBatch { batches.add() }

        try fixture.commitABatchOfFive()
        XCTAssertTrue(batches.wait(for: 2, seconds: 5))

        let three = Counter()
        for _ in 0..<2 { writer.enqueue({ _ in }, done: { _ in three.add() }) }
        XCTAssertFalse(three.wait(for: 1, seconds: 0.3), "two jobs are fewer than enough: the writer waits for a third")
        writer.enqueue({ _ in }, done: { _ in three.add() })
        XCTAssertTrue(three.wait(for: 3, seconds: 5), "the third job ends the wait")
        // The hook runs after the batch's completions, on the same thread: the third completion can
        // wake this one before the hook has counted its batch.
        XCTAssertTrue(batches.wait(for: 3, seconds: 5))
        XCTAssertEqual(batches.value, 3, "the three jobs commit as one batch")
    }

    /// Clients that wait for their answers send no more than the last batch held: waiting for more
    /// (here `enough`, 100) would only idle.
    func testTheWaitEndsOnceTheLastBatchsSizeIsQueued() throws {
        let fixture = try WriterFixture(gathering: BatchGathering(windowNanoseconds: 10_000_000_000, afterBatchOf: 4, enough: 100))
        defer { fixture.close() }
        try fixture.commitABatchOfFive()
        let next = Counter()
        for _ in 0..<4 { fixture.writer.enqueue({ _ in }, done: { _ in next.add() }) }
        XCTAssertFalse(next.wait(for: 1, seconds: 0.3), "four jobs are fewer than the last batch held")
        fixture.writer.enqueue({ _ in }, done: { _ in next.add() })
        XCTAssertTrue(next.wait(for: 5, seconds: 5), "the fifth job ends the wait")
    }

    func testOneJobAtATimeNeverWaits() throws {
        let fixture = try WriterFixture(gathering: BatchGathering(windowNanoseconds: 10_000_000_000, afterBatchOf: 2, enough: 100))
        defer { fixture.close() }
        let started = Date()
        for _ in 0..<20 { try fixture.writer.perform { _ in } }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testAStopEndsAWait() throws {
        let fixture = try WriterFixture(gathering: BatchGathering(windowNanoseconds: 10_000_000_000, afterBatchOf: 1, enough: 100))
        try fixture.writer.perform { _ in }
        let queued = Counter()
        fixture.writer.enqueue({ _ in }, done: { _ in queued.add() })
        let started = Date()
        fixture.close()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(queued.value, 1, "what was queued before the stop commits")
    }
}

/// A writer on a fresh WAL database of its own.
private final class WriterFixture {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-gather-\(UUID().uuidString)")
    let writer: GroupCommitWriter
    /// Stopped with the writer: its thread refers to it unowned, so one left running crashed the
    /// test process once the fixture was gone (seen on a loaded machine).
    private let checkpointer: WALCheckpointer
    private var closed = false

    init(gathering: BatchGathering) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("events.db").path
        let connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA journal_mode=WAL")
        checkpointer = try WALCheckpointer(path: path, synchronous: "NORMAL")
        writer = GroupCommitWriter(connection: connection, checkpointer: checkpointer, gathering: gathering)
    }

    /// Holds the writer in a batch of one job while five more queue up, which then commit as one
    /// batch of five (starting a wait when the gathering's `afterBatchOf` is five or less).
    func commitABatchOfFive() throws {
        let release = writer.hold()
        let five = Counter()
        for _ in 0..<5 { writer.enqueue({ _ in }, done: { _ in five.add() }) }
        release()
        XCTAssertTrue(five.wait(for: 5, seconds: 5))
    }

    func close() {
        guard !closed else { return }
        closed = true
        writer.stop()
        checkpointer.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Counts calls from any thread and lets a test wait for a count.
private final class Counter: @unchecked Sendable {
    private let condition = NSCondition()
    private var count = 0

    func add() {
        condition.lock()
        count += 1
        condition.broadcast()
        condition.unlock()
    }

    var value: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// Whether the count reached `target` within `seconds`.
    func wait(for target: Int, seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        condition.lock()
        defer { condition.unlock() }
        while count < target {
            guard condition.wait(until: deadline) else { return count >= target }
        }
        return true
    }
}
