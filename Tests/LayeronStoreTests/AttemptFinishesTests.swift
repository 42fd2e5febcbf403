import Foundation
@testable import LayeronStore
import XCTest

/// Attempt finishes queued while the writer is busy are written as one job with multi-row
/// statements (`Bulk`, `AttemptFinishes`): each event and attempt must end exactly as its own
/// finish would have left it, and an item never joins a job the writer has already taken.
final class AttemptFinishesTests: XCTestCase {
    private var directory: URL!
    private var path: String { directory.appendingPathComponent("events.db").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-finishes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testItemsQueuedTogetherShareOneJobAndLaterOnesANewOne() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let calls = Calls()
        let bulk = calls.bulk()
        let release = store.writer.hold()
        for item in 1...5 { store.writer.add(item, to: bulk) }
        release()
        XCTAssertTrue(calls.waitForFinished(1))
        store.writer.add(6, to: bulk)
        XCTAssertTrue(calls.waitForFinished(2))
        XCTAssertEqual(calls.writes, [[1, 2, 3, 4, 5], [6]])
        XCTAssertEqual(calls.finishes, [[1, 2, 3, 4, 5], [6]])
    }

    /// An item added while the writer runs a job's `write` would be lost if it joined that job.
    func testAnItemAddedWhileItsJobIsWrittenGoesIntoTheNext() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let calls = Calls()
        let writing = DispatchSemaphore(value: 0)
        let proceed = DispatchSemaphore(value: 0)
        let bulk = Bulk<Int>(write: { items, _ in
            calls.wrote(items)
            if items == [1] {
                writing.signal()
                proceed.wait()
            }
        }, done: { items, error in calls.finished(items, error) })
        store.writer.add(1, to: bulk)
        XCTAssertEqual(writing.wait(timeout: .now() + 10), .success)
        store.writer.add(2, to: bulk)
        proceed.signal()
        XCTAssertTrue(calls.waitForFinished(2))
        XCTAssertEqual(calls.writes, [[1], [2]])
    }

    func testTheBatchSizeCountsEachItem() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let calls = Calls()
        let bulk = calls.bulk()
        let release = store.writer.hold()
        let before = store.writerBatchCounts
        for item in 1...5 { store.writer.add(item, to: bulk) }
        let job = DispatchSemaphore(value: 0)
        store.writer.enqueue({ _ in }, done: { _ in job.signal() })
        release()
        XCTAssertTrue(calls.waitForFinished(1))
        XCTAssertEqual(job.wait(timeout: .now() + 10), .success)
        let after = store.writerBatchCounts
        XCTAssertEqual(after.batches - before.batches, 1, "one batch of the bulk job and the job (the held one was counted when taken)")
        XCTAssertEqual(after.jobs - before.jobs, 6, "the bulk job's five items count as five")
    }

    /// 70 finishes in one job (chunks of 64, 4 and 2 rows) with every kind of outcome the
    /// dispatcher records: each event and attempt ends as the finish said, whatever its chunk.
    func testEachFinishOfOneJobLeavesItsEventAsItsOwnStatementWould() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        var seqs: [Int64] = []
        for n in 0..<70 {
            guard case let .recorded(seq) = try store.append(event(n)) else { return XCTFail("event \(n) not recorded") }
            seqs.append(seq)
        }
        let answer = StoredResponse(status: 202, headers: [("Content-Type", "application/json")], body: Array(#"{"ok":true}"#.utf8))
        struct Expected { let status: EventStatus; let next: Int64?; let n: Int64; let outcome: AttemptOutcome; let response: StoredResponse? }
        func expected(_ i: Int) -> Expected {
            switch i % 10 {
            case 3: return Expected(status: .pending, next: 5_000 + Int64(i), n: 1, outcome: .retry, response: nil)
            case 5: return Expected(status: .failed, next: nil, n: 1, outcome: .error, response: nil)
            case 7: return Expected(status: .processed, next: nil, n: 2, outcome: .ok, response: nil)
            case 9: return Expected(status: .processed, next: nil, n: 1, outcome: .ok, response: answer)
            default: return Expected(status: .processed, next: nil, n: 1, outcome: .ok, response: nil)
            }
        }
        let recorded = Calls()
        let release = store.writer.hold()
        for (i, seq) in seqs.enumerated() {
            let want = expected(i)
            let attempt = AttemptRecord(n: want.n, startedAt: 100 + Int64(i), finishedAt: 200 + Int64(i), outcome: want.outcome,
                                        error: want.outcome == .ok ? nil : "error \(i)", replay: i == 7, plugin: "p", pluginVersion: "1")
            store.finishAttempt(seq: seq, attempt: attempt, status: want.status, nextAttemptAt: want.next, response: want.response) { error in
                recorded.finished([i], error)
            }
        }
        let before = store.writerBatchCounts
        release()
        XCTAssertTrue(recorded.waitForFinished(70))
        XCTAssertEqual(store.writerBatchCounts.batches - before.batches, 1, "the 70 finishes were one job of one batch")
        XCTAssertTrue(recorded.errors.allSatisfy { $0 == nil })

        for (i, seq) in seqs.enumerated() {
            let want = expected(i)
            let stored = try XCTUnwrap(try store.event(seq: seq))
            XCTAssertEqual(stored.status, want.status, "event \(i)")
            XCTAssertEqual(stored.nextAttemptAt, want.next, "event \(i)")
            XCTAssertEqual(stored.attemptCount, want.n, "event \(i)")
            XCTAssertEqual(stored.response, want.response, "event \(i)")
            let attempts = try store.attempts(seq: seq)
            XCTAssertEqual(attempts.map(\.n), [want.n], "event \(i)")
            XCTAssertEqual(attempts.first?.outcome, want.outcome, "event \(i)")
            XCTAssertEqual(attempts.first?.startedAt, 100 + Int64(i), "event \(i)")
            XCTAssertEqual(attempts.first?.finishedAt, 200 + Int64(i), "event \(i)")
            XCTAssertEqual(attempts.first?.error, want.outcome == .ok ? nil : "error \(i)", "event \(i)")
            XCTAssertEqual(attempts.first?.replay, i == 7, "event \(i)")
        }
    }

    /// Two attempts of one event finished in one job (a retry, then its success), after another
    /// event's finish with the second attempt's outcome: the event ends as its last finish says,
    /// although the shared statement for that outcome comes first.
    func testAnEventFinishedTwiceInOneJobEndsAsItsLastFinishSays() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(other) = try store.append(event(1)), case let .recorded(twice) = try store.append(event(2)) else {
            return XCTFail("not recorded")
        }
        func attempt(_ n: Int64, _ outcome: AttemptOutcome) -> AttemptRecord {
            AttemptRecord(n: n, startedAt: 10 * n, finishedAt: 10 * n + 5, outcome: outcome, error: nil, replay: false, plugin: "p", pluginVersion: "1")
        }
        let recorded = Calls()
        let release = store.writer.hold()
        store.finishAttempt(seq: other, attempt: attempt(2, .ok), status: .processed, nextAttemptAt: nil) { recorded.finished([1], $0) }
        store.finishAttempt(seq: twice, attempt: attempt(1, .retry), status: .pending, nextAttemptAt: 5_000) { recorded.finished([2], $0) }
        store.finishAttempt(seq: twice, attempt: attempt(2, .ok), status: .processed, nextAttemptAt: nil) { recorded.finished([3], $0) }
        let before = store.writerBatchCounts
        release()
        XCTAssertTrue(recorded.waitForFinished(3))
        XCTAssertEqual(store.writerBatchCounts.batches - before.batches, 1)
        let stored = try XCTUnwrap(try store.event(seq: twice))
        XCTAssertEqual(stored.status, .processed)
        XCTAssertNil(stored.nextAttemptAt)
        XCTAssertEqual(stored.attemptCount, 2)
        XCTAssertEqual(try store.attempts(seq: twice).map(\.outcome), [.retry, .ok])
        XCTAssertEqual(try store.event(seq: other)?.status, .processed)
    }

    /// A start queued after the finishes' job opened, and finished before the writer took either,
    /// is dropped: were it written after the finish it joined, the attempt would read as running.
    func testAStartQueuedAfterTheJobItsFinishJoinsIsDropped() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(first) = try store.append(event(1)), case let .recorded(second) = try store.append(event(2)) else {
            return XCTFail("not recorded")
        }
        let recorded = Calls()
        let release = store.writer.hold()
        let running = AttemptRecord(n: 1, startedAt: 10, finishedAt: nil, outcome: nil, error: nil, replay: false, plugin: "p", pluginVersion: "1")
        var done = running
        done.finishedAt = 20
        done.outcome = .ok
        store.finishAttempt(seq: first, attempt: done, status: .processed, nextAttemptAt: nil) { error in recorded.finished([1], error) }
        let start = store.startAttempt(seq: second, attempt: running)
        store.finishAttempt(seq: second, attempt: done, status: .processed, nextAttemptAt: nil, replacing: start) { error in
            recorded.finished([2], error)
        }
        release()
        XCTAssertTrue(recorded.waitForFinished(2))
        XCTAssertEqual(try store.attempts(seq: second).map(\.outcome), [.ok])
        XCTAssertEqual(try store.attempts(seq: second).map(\.finishedAt), [20])
    }

    private func event(_ n: Int) -> NewEvent {
        NewEvent(id: "whevt_finish\(n)", webhook: "w", direction: .inbound, provider: "custom", type: "t",
                 providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000 + Int64(n),
                 headers: [], body: Array("{}".utf8), handler: "p.h")
    }
}

/// What a test's bulk job was given, in order; filled on the writer and completion threads.
private final class Calls: @unchecked Sendable {
    private let condition = NSCondition()
    private var written: [[Int]] = []
    private var finished: [[Int]] = []
    private var finishedErrors: [SQLiteError?] = []

    func wrote(_ items: [Int]) {
        condition.lock()
        written.append(items)
        condition.unlock()
    }

    func finished(_ items: [Int], _ error: SQLiteError?) {
        condition.lock()
        finished.append(items)
        finishedErrors.append(error)
        condition.broadcast()
        condition.unlock()
    }

    /// A bulk whose jobs report their items here.
    func bulk() -> Bulk<Int> {
        Bulk<Int>(write: { items, _ in self.wrote(items) }, done: { items, error in self.finished(items, error) })
    }

    func waitForFinished(_ count: Int) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 10)
        condition.lock()
        defer { condition.unlock() }
        while finished.count < count {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    var writes: [[Int]] {
        condition.lock()
        defer { condition.unlock() }
        return written
    }

    var finishes: [[Int]] {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    var errors: [SQLiteError?] {
        condition.lock()
        defer { condition.unlock() }
        return finishedErrors
    }
}
