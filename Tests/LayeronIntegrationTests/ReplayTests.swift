import Foundation
import LayeronCore
import XCTest

/// Inbound replays: each runs once with its own attempt number, and a replay is one extra run that
/// settles its event only when it succeeds.
final class ReplayTests: XCTestCase {
    let secret = "replay-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 1500 }"#, webhooks: [
            ("slowly", #""handler": "behaviours.slow""#),
            ("failing", #""handler": "behaviours.always_error""#),
            ("once", #""handler": "behaviours.first_only""#),
            ("retrying", #""handler": "behaviours.always_retry", "retry": {"attempts": 3, "initial": "1s", "max": "2s", "jitter": false}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func send(_ webhook: String, _ id: String) throws -> String {
        let r = try server.postSigned(webhook, #"{"id": "\#(id)", "type": "t"}"#, secret: secret)
        XCTAssertEqual(r.status, 200, r.body)
        return try XCTUnwrap(try JSONParser.parse(r.body)["id"]?.stringValue, r.body)
    }

    private func attempts(_ id: String) throws -> [JSONValue] {
        if case let .array(list)? = try server.admin("GET", "/admin/events/\(id)").json["attempts"] { return list }
        return []
    }

    private func waitForAttempts(_ id: String, _ count: Int, timeout: TimeInterval = 30) throws -> [JSONValue] {
        let reached = try server.waitUntil(timeout: timeout) {
            let list = try attempts(id)
            return list.count == count && list.allSatisfy { $0["outcome"] != .null }
        }
        let list = try attempts(id)
        XCTAssertTrue(reached, "\(id): \(list.count) attempts, wanted \(count): \(JSONValue.array(list).serialized())")
        return list
    }

    /// Ten replays asked for at once: ten runs, one after another, each recorded under its own number.
    func testReplaysAskedForTogetherEachRunOnceUnderTheirOwnAttemptNumbers() throws {
        let id = try send("failing", "c1")
        _ = try waitForAttempts(id, 1)
        let statuses = StatusBox()
        let server = self.server!
        DispatchQueue.concurrentPerform(iterations: 10) { _ in
            let r = try? server.admin("POST", "/admin/events/\(id)/replay")
            statuses.add(r?.status ?? -1, nil)
        }
        XCTAssertEqual(statuses.statuses, Array(repeating: 202, count: 10))
        let list = try waitForAttempts(id, 11)
        XCTAssertEqual(list.compactMap { $0["n"]?.scalarText }, (1...11).map(String.init))
        XCTAssertEqual(list.filter { $0["replay"] == .bool(true) }.count, 10)
        usleep(300_000)
        let runs = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(id) }
        XCTAssertEqual(runs.count, 11, "\(runs)")
        XCTAssertEqual(Set(runs.compactMap { $0.split(separator: " ").first { $0.hasPrefix("attempt=") } }).count, 11, "\(runs)")
        XCTAssertEqual(try server.admin("GET", "/admin/events/\(id)").json["status"]?.stringValue, "failed")
    }

    /// A forced replay of a processed event that fails leaves it processed.
    func testAFailedReplayLeavesAProcessedEventProcessed() throws {
        let id = try send("once", "p1")
        _ = try waitForAttempts(id, 1)
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202)
        let list = try waitForAttempts(id, 2)
        XCTAssertEqual(list.last?["outcome"]?.stringValue, "error")
        XCTAssertEqual(try server.admin("GET", "/admin/events/\(id)").json["status"]?.stringValue, "processed")
    }

    /// A replay of a pending event that asks for a retry keeps the event's schedule and uses none of
    /// its retries: with three attempts allowed, the schedule still runs three after the replay.
    /// The replay's attempt says `retry`, as the handler answered, with a note that a replay is not
    /// retried.
    func testAReplayOfAPendingEventKeepsItsScheduleAndRetries() throws {
        let id = try send("retrying", "r1")
        _ = try waitForAttempts(id, 1)
        let before = try server.admin("GET", "/admin/events/\(id)").json
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay").status, 202)
        let replayed = try waitForAttempts(id, 2)
        XCTAssertEqual(replayed.last?["replay"], .bool(true))
        XCTAssertEqual(replayed.last?["outcome"]?.stringValue, "retry")
        XCTAssertTrue(replayed.last?["error"]?.stringValue?.hasSuffix("(a replay is not retried: replay the event again if it is still wanted)") == true,
                      JSONValue.array(replayed).serialized())
        let after = try server.admin("GET", "/admin/events/\(id)").json
        XCTAssertEqual(after["status"]?.stringValue, "pending")
        XCTAssertEqual(after["next_attempt_at"], before["next_attempt_at"], after.serialized())
        let all = try waitForAttempts(id, 4)
        XCTAssertEqual(all.map { $0["replay"] }, [.bool(false), .bool(true), .bool(false), .bool(false)])
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/admin/events/\(id)").json["status"]?.stringValue == "failed" })
    }

    /// Replays of `id` the handler ran, from its output file: one line per run.
    private func replayRuns(_ id: String) -> Int {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n")
            .filter { $0.contains(" \(id) ") && $0.hasSuffix("replay=1") }.count
    }

    /// Asks for `count` replays of `id`, each answered 202.
    private func askForReplays(_ id: String, _ count: Int, query: String = "") throws {
        for _ in 0..<count {
            let r = try server.admin("POST", "/admin/events/\(id)/replay\(query)")
            XCTAssertEqual(r.status, 202, r.text)
        }
    }

    /// Three replays answered 202 and waiting behind their event's running attempt when the server
    /// stops are not lost with the queue, nor folded into one: all three run after the next start.
    func testReplaysWaitingAtAStopAllRunAfterTheNextStart() throws {
        let id = try send("slowly", "w1")
        // The replays must come while the first attempt runs (1.5 s): once that attempt is recorded.
        XCTAssertTrue(try server.waitUntil { try attempts(id).count == 1 })
        try askForReplays(id, 3)
        server.stop()
        XCTAssertTrue(server.logs.contains("3 replay(s) asked for and not yet run stay in the store"), server.logs)
        try server.start()
        let list = try waitForAttempts(id, 4, timeout: 20)
        XCTAssertEqual(list.map { $0["replay"] }, [.bool(false), .bool(true), .bool(true), .bool(true)], JSONValue.array(list).serialized())
        XCTAssertEqual(replayRuns(id), 3)
    }

    /// A crash right after the 202s: every acknowledged replay is in the store, and runs once after
    /// the restart, recorded as its own replay attempt.
    func testReplaysAcknowledgedBeforeASIGKILLEachRunOnceAfterTheRestart() throws {
        let id = try send("slowly", "k1")
        XCTAssertTrue(try server.waitUntil { try attempts(id).count == 1 })
        try askForReplays(id, 4)
        server.kill()
        XCTAssertEqual(replayRuns(id), 0)
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 1 }"#, webhooks: [("slowly", #""handler": "behaviours.slow""#)])
        try server.start()
        let store = try StoreReader(path: server.databasePath)
        let ran = try server.waitUntil(timeout: 20) {
            try store.count("SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = '\(id)' AND a.replay = 1 AND a.outcome = 'ok'") == 4
        }
        let recorded = try store.rows("SELECT n, replay, outcome, error FROM attempts")
        XCTAssertTrue(ran, "\(recorded)")
        usleep(600_000)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = '\(id)' AND a.replay = 1"), 4)
        XCTAssertEqual(replayRuns(id), 4)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM replay_requests"), 0)
    }

    /// A purge while a replay of a processed event runs keeps that event; once the replay is
    /// recorded the event goes, and the next event takes a seq of its own (not the purged newest
    /// one's) and runs its own handler once. Before, the purge deleted the event under its running
    /// replay, and the next event took its seq, its replay's attempt and its outcome.
    func testAPurgeKeepsAnEventWhoseReplayRunsAndNeverGivesItsSeqToTheNextEvent() throws {
        let id = try send("slowly", "p1")
        _ = try waitForAttempts(id, 1)
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202)
        XCTAssertTrue(try server.waitUntil { try attempts(id).count == 2 }, "the replay did not start")
        let before = WallClockForTests.rfc3339(Date().addingTimeInterval(60))
        let whileRunning = try server.admin("POST", "/admin/events/purge?before=\(before)")
        XCTAssertEqual(whileRunning.json["deleted"]?.scalarText, "0", whileRunning.text)
        _ = try waitForAttempts(id, 2)
        let store = try StoreReader(path: server.databasePath)
        let purgedSeq = try store.count("SELECT seq FROM events WHERE id = '\(id)'")
        let settled = try server.admin("POST", "/admin/events/purge?before=\(before)")
        XCTAssertEqual(settled.json["deleted"]?.scalarText, "1", settled.text)

        let next = try send("slowly", "p2")
        let list = try waitForAttempts(next, 1)
        XCTAssertEqual(list.map { $0["replay"] }, [.bool(false)])
        XCTAssertGreaterThan(try store.count("SELECT seq FROM events WHERE id = '\(next)'"), purgedSeq)
        let runs = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.contains(" \(next) ") }
        XCTAssertEqual(runs.count, 1, "\(runs)")
    }

    /// Two replays of one event scheduled for the same moment (`?at=`) are two runs.
    func testTwoScheduledReplaysOfOneEventBothRun() throws {
        let id = try send("failing", "s1")
        _ = try waitForAttempts(id, 1)
        let at = WallClockForTests.rfc3339(Date().addingTimeInterval(1))
        try askForReplays(id, 2, query: "?at=\(at)")
        let list = try waitForAttempts(id, 3)
        XCTAssertEqual(list.map { $0["replay"] }, [.bool(false), .bool(true), .bool(true)])
        // Each replay's own start time, not how many attempts a look right after asking found.
        let due = try XCTUnwrap(RFC3339Probe.parse(at))
        for replay in list.dropFirst() {
            let started = try XCTUnwrap(replay["started_at"]?.stringValue.flatMap(RFC3339Probe.parse), replay.serialized())
            XCTAssertGreaterThanOrEqual(started, due, "a scheduled replay ran before its time: \(replay.serialized())")
        }
    }
}
