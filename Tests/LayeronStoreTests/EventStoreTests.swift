import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

final class EventStoreTests: XCTestCase {
    var directory: URL!
    var store: EventStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-store-\(UUID().uuidString)")
        store = try EventStore(path: directory.appendingPathComponent("events.db").path)
    }

    override func tearDown() {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    private func event(_ n: Int, key: String? = nil, at: Int64 = 1_000, handler: String? = "p.h") -> NewEvent {
        NewEvent(id: EventID.make(nowMilliseconds: at), webhook: "w", direction: .inbound, provider: "stripe",
                 type: n % 2 == 0 ? "even" : "odd", providerEventID: "evt_\(n)", dedupeKey: key,
                 dedupeExpiresAt: key == nil ? nil : at + 10_000, receivedAt: at,
                 headers: [("x-n", String(n))], body: Array("body \(n)".utf8), handler: handler)
    }

    /// SQLite keeps the WAL file's size when the WAL starts over, so one spike (a store written by
    /// a build with no byte cap on batches reached 209 MB) stayed on disk for good. Past the limit,
    /// the first commit after the writer's own checkpoint cuts it back.
    func testAWALGrownPastItsLimitIsCutBackWhenItStartsOver() throws {
        let wal = directory.appendingPathComponent("events.db-wal").path
        let walSize = { (try? FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) ?? 0 }
        try store.writer.perform { (db) throws(SQLiteError) in
            try db.execute("CREATE TABLE spike (b BLOB)")
            for _ in 0..<110 { try db.execute("INSERT INTO spike VALUES (zeroblob(1048576))") }
        }
        XCTAssertGreaterThan(walSize(), EventStore.walSizeLimit)
        let restarts = ResultsBox()
        store.afterEachWALRestart { _ in restarts.add(.recorded(seq: 0)) }
        let deadline = Date().addingTimeInterval(30)
        while restarts.values.isEmpty && Date() < deadline {
            try store.writer.perform { (db) throws(SQLiteError) in try db.execute("DELETE FROM spike WHERE rowid = (SELECT min(rowid) FROM spike)") }
        }
        XCTAssertFalse(restarts.values.isEmpty, "the writer never checkpointed")
        try store.writer.perform { (db) throws(SQLiteError) in try db.execute("DELETE FROM spike WHERE rowid = (SELECT min(rowid) FROM spike)") }
        XCTAssertLessThanOrEqual(walSize(), EventStore.walSizeLimit)
    }

    func testConcurrentAppendsAllCommitAndDuplicatesFoldOnce() throws {
        let results = ResultsBox()
        // 20 copies of one key among 180 unique events.
        let events = (0..<200).map { i in i < 20 ? event(i, key: "same") : event(i, key: "k\(i)") }
        let store = self.store!
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            results.add(try? store.append(events[i]))
        }
        let all = results.values
        XCTAssertEqual(all.count, 200)
        let recorded = all.filter { if case .recorded = $0 { true } else { false } }
        XCTAssertEqual(recorded.count, 181)
        let listed = try store.list(EventQuery(limit: 1000))
        XCTAssertEqual(listed.count, 181)
        let original = try XCTUnwrap(listed.first { $0.dedupeKey == "same" })
        XCTAssertEqual(original.duplicates, 19)
    }

    /// The HTTP path's append: completions arrive once committed, many appends share a batch, and a
    /// duplicate queued in the same batch as its original still folds into it.
    func testAsynchronousAppendsCompleteAfterTheirCommit() throws {
        let results = ResultsBox()
        let finished = DispatchGroup()
        // Another connection, as the HTTP front's answer is read by other processes: what a
        // completion reports must already be committed, not only in the writer's transaction.
        let committed = try CommittedSeqs(path: store.path)
        for i in 0..<300 {
            finished.enter()
            store.append(event(i, key: i < 10 ? "same" : "k\(i)")) { outcome in
                let result = try? outcome.get()
                results.add(result)
                switch result {
                case let .recorded(seq)?, let .duplicate(_, seq, _, _, _, _)?, let .routed(_, seq)?: committed.check(seq)
                case nil: break
                }
                finished.leave()
            }
        }
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(committed.checked, 300)
        XCTAssertEqual(committed.missing, [], "completions ran before their event was visible to another connection")
        let recorded = results.values.filter { if case .recorded = $0 { true } else { false } }
        XCTAssertEqual(recorded.count, 291)
        XCTAssertEqual(try store.list(EventQuery(limit: 1000)).count, 291)
        XCTAssertEqual(try store.list(EventQuery(search: "same")).first?.duplicates, 9)
    }

    func testFsyncDurabilityOpensAndRecords() throws {
        let fsynced = try EventStore(path: directory.appendingPathComponent("fsync.db").path, durability: .fsync)
        defer { fsynced.close() }
        guard case .recorded = try fsynced.append(event(1)) else { return XCTFail("not recorded") }
        XCTAssertEqual(try fsynced.list(EventQuery()).count, 1)
    }

    func testExpiredDedupeKeyRecordsAgain() throws {
        _ = try store.append(event(1, key: "k", at: 1_000))
        XCTAssertEqual(try store.append(event(2, key: "k", at: 5_000)), .duplicate(ofID: try store.list(EventQuery()).first!.id, seq: 1, status: .pending, response: nil, nextAttemptAt: 1_000))
        guard case .recorded = try store.append(event(3, key: "k", at: 20_000)) else { return XCTFail("expired key folded") }
    }

    func testKeysetPagesHaveNoGapsOrRepeats() throws {
        for i in 0..<55 { _ = try store.append(event(i)) }
        var seen: [String] = []
        var cursor: Int64?
        repeat {
            let page = try store.list(EventQuery(beforeSeq: cursor, limit: 10))
            seen += page.map(\.id)
            cursor = page.count == 10 ? page.last!.seq : nil
        } while cursor != nil
        XCTAssertEqual(seen.count, 55)
        XCTAssertEqual(Set(seen).count, 55)
        XCTAssertEqual(try store.list(EventQuery(type: "even", limit: 100)).count, 28)
    }

    func testAttemptsAndStatus() throws {
        guard case let .recorded(seq) = try store.append(event(1)) else { return XCTFail() }
        store.startAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: 10, finishedAt: nil, outcome: nil, error: nil, replay: false, plugin: "p", pluginVersion: "1"))
        try store.finishAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: 10, finishedAt: 20, outcome: .retry, error: "busy", replay: false, plugin: "p", pluginVersion: "1"),
                                status: .pending, nextAttemptAt: 500)
        XCTAssertEqual(try store.dueEvents(now: 499, limit: 10), [])
        XCTAssertEqual(try store.dueEvents(now: 500, limit: 10), [seq])
        let attempts = try store.attempts(seq: seq)
        XCTAssertEqual(attempts.count, 1)
        XCTAssertEqual(attempts[0].outcome, .retry)
        XCTAssertEqual(attempts[0].error, "busy")
        let stored = try XCTUnwrap(try store.event(seq: seq))
        XCTAssertEqual(stored.attemptCount, 1)
        XCTAssertEqual(stored.body, Array("body 1".utf8))
        XCTAssertEqual(stored.headers.first?.value, "1")
    }

    /// A handler's message is bytes and a length, so it may hold a NUL: the whole of it is read
    /// back, not the part before the NUL.
    func testATextWithANulIsReadBackWhole() throws {
        guard case let .recorded(seq) = try store.append(event(1)) else { return XCTFail() }
        let message = "a\u{FFFD}b\u{0}c"
        try store.finishAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: 10, finishedAt: 20, outcome: .error, error: message, replay: false, plugin: "p", pluginVersion: "1"),
                                status: .failed, nextAttemptAt: nil)
        XCTAssertEqual(try store.attempts(seq: seq).first?.error, message)
    }

    /// An attempt that has started and not finished is counted alike by the list and by the single
    /// event, though the event row's own count moves only when it finishes.
    func testARunningAttemptIsCountedByTheListAsByTheEvent() throws {
        let new = event(1)
        guard case let .recorded(seq) = try store.append(new) else { return XCTFail() }
        try store.startAttemptCommitted(seq: seq, attempt: AttemptRecord(n: 1, startedAt: 10, finishedAt: nil, outcome: nil, error: nil,
                                                                         replay: false, plugin: "p", pluginVersion: "1"))
        XCTAssertEqual(try store.event(id: new.id)?.attemptCount, 1)
        XCTAssertEqual(try store.list(EventQuery()).first?.attemptCount, 1)
        XCTAssertEqual(try store.list(EventQuery(search: new.id)).first?.attemptCount, 1)
    }

    func testIgnoredWhenNoHandler() throws {
        _ = try store.append(event(1, handler: nil))
        XCTAssertEqual(try store.list(EventQuery()).first?.status, .ignored)
        XCTAssertEqual(try store.dueEvents(now: .max, limit: 10), [])
    }

    func testReopenKeepsData() throws {
        _ = try store.append(event(1))
        store.close()
        store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        XCTAssertEqual(try store.list(EventQuery()).count, 1)
    }
}

/// Looks up, from completions on any thread, whether an event's row is visible to a read-only
/// connection of its own.
private final class CommittedSeqs: @unchecked Sendable {
    private let lock = NSLock()
    private let connection: SQLiteConnection
    private(set) var checked = 0
    private(set) var missing: [Int64] = []

    init(path: String) throws {
        connection = try SQLiteConnection(path: path, readOnly: true)
    }

    func check(_ seq: Int64) {
        lock.lock()
        defer { lock.unlock() }
        checked += 1
        do {
            let statement = try connection.prepared("SELECT COUNT(*) FROM events WHERE seq = ?1").bind(1, seq)
            defer { statement.reset() }
            if try !statement.step() || statement.int(0) != 1 { missing.append(seq) }
        } catch {
            missing.append(seq)
        }
    }
}

private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [AppendResult] = []
    func add(_ r: AppendResult?) {
        lock.lock()
        if let r { values.append(r) }
        lock.unlock()
    }
}

final class EventStorePrefixTests: XCTestCase {
    func testTypePatternListsAreMergedNewestFirstAcrossPages() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-prefix-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        defer { store.close() }
        let types = ["invoice.paid", "invoice", "invoice.created", "invoices.x", "customer.created", "invoice.payment_failed"]
        for i in 0..<60 {
            _ = try store.append(NewEvent(id: EventID.make(nowMilliseconds: Int64(i)), webhook: "w", direction: .inbound, provider: "p",
                                          type: types[i % types.count], providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil,
                                          receivedAt: Int64(i), headers: [], body: [], handler: nil))
        }
        let all = try store.list(EventQuery(limit: 1000))
        let expected = all.filter { $0.type.hasPrefix("invoice.") }.map(\.seq)
        XCTAssertEqual(expected.count, 30)
        var seen: [Int64] = []
        var cursor: Int64?
        repeat {
            let page = try store.list(EventQuery(typePrefix: "invoice.", beforeSeq: cursor, limit: 7))
            seen += page.map(\.seq)
            cursor = page.count == 7 ? page.last?.seq : nil
        } while cursor != nil
        XCTAssertEqual(seen, expected)
    }
}

final class GroupCommitIsolationTests: XCTestCase {
    /// A failing job in a batch (here: an id that already exists) fails alone; the jobs committed with
    /// it are kept.
    func testAFailingAppendDoesNotUndoItsBatch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-isolation-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        defer { store.close() }
        @Sendable func event(_ id: String) -> NewEvent {
            NewEvent(id: id, webhook: "w", direction: .inbound, provider: "p", type: "t", providerEventID: nil, dedupeKey: nil,
                     dedupeExpiresAt: nil, receivedAt: 1, headers: [], body: [], handler: nil)
        }
        let taken = EventID.make(nowMilliseconds: 1)
        _ = try store.append(event(taken))
        let ids = (0..<200).map { $0 % 10 == 0 ? taken : EventID.make(nowMilliseconds: Int64($0)) }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: ids.count) { i in
            if (try? store.append(event(ids[i]))) == nil { failures.add() }
        }
        XCTAssertEqual(failures.value, 20)
        XCTAssertEqual(try store.list(EventQuery(limit: 1000)).count, 181)
    }
}

private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
}

final class DueOutsideTests: XCTestCase {
    func testDueEventsOfUnconfiguredWebhooksOnly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-due-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        defer { store.close() }
        for (i, webhook) in ["kept", "gone", "kept", "gone", "also-gone", "gone"].enumerated() {
            _ = try store.append(NewEvent(id: EventID.make(nowMilliseconds: Int64(i)), webhook: webhook, direction: .inbound, provider: "p",
                                          type: "t", providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: Int64(i),
                                          headers: [], body: [], handler: "p.h"))
        }
        let due = try store.dueEvents(now: 100, limit: 10, outside: ["kept"])
        XCTAssertEqual(due.map(\.webhook), ["gone", "gone", "also-gone", "gone"], "oldest due first, across the webhooks")
        XCTAssertEqual(due.map(\.seq), [2, 4, 5, 6])
        XCTAssertEqual(try store.dueEvents(now: 100, limit: 3, outside: ["kept"]).map(\.seq), [2, 4, 5], "the limit over all of them")
        XCTAssertEqual(try store.dueEvents(now: 100, limit: 10, outside: ["kept", "gone"]).map(\.seq), [5])
        XCTAssertEqual(try store.dueEvents(now: 2, limit: 10, outside: ["kept"]).map(\.seq), [2], "the others not yet due")
        XCTAssertEqual(try store.dueEvents(now: 100, limit: 10, outside: []).count, 6)
    }
}
