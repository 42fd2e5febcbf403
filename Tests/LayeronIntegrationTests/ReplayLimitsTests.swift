import Foundation
import LayeronCore
import XCTest

/// Replays keep to their webhook's rules like any attempt: its `concurrency` cap and its per-key
/// order; and a removed webhook's pending events wait for it, on its own retry policy.
final class ReplayLimitsTests: XCTestCase {
    let secret = "replay-limits-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }
    /// `behaviours.gated` calls return once this file exists.
    var gate: String { server.path("gate") }
    let removable = ("removable", #""dedupe": {"key": "body.id", "ttl": "1h"}, "handler": "behaviours.always_retry", "retry": {"attempts": 4, "initial": "1s", "max": "1s", "jitter": false}"#)

    private func writeConfig(keepingRemovable: Bool) throws {
        let keyed = #""dedupe": {"key": "body.id", "ttl": "1h"}, "#
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "gate": "\#(gate)" }"#, webhooks: [
            ("capped", keyed + #""handler": "behaviours.gated", "concurrency": 1"#),
            ("ordered", keyed + #""handler": "behaviours.always_retry", "ordering": "per-key", "orderingKey": "body.customer", "retry": {"attempts": 5, "initial": "1h", "max": "1h"}"#),
            ("keyed", keyed + #""handler": "behaviours.gated", "ordering": "per-key", "orderingKey": "body.customer", "concurrency": 2"#),
        ] + (keepingRemovable ? [removable] : []))
    }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try writeConfig(keepingRemovable: true)
        try server.start()
    }

    override func tearDown() {
        // A gated call still waiting would hold the drain for its minute.
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        server.stop()
        server = nil
    }

    private func send(_ webhook: String, _ json: String) throws -> String {
        let r = try server.postSigned(webhook, json, secret: secret)
        XCTAssertEqual(r.status, 200, r.body)
        return try XCTUnwrap(try JSONParser.parse(r.body)["id"]?.stringValue, r.body)
    }

    /// Replays of events waiting at the cap stay requests until a slot is free: with
    /// `"concurrency": 1` they ran beside the call holding it.
    func testReplaysWaitForTheWebhooksConcurrencyCap() throws {
        let ids = try (1...3).map { try send("capped", #"{"id": "cap\#($0)", "type": "t"}"#) }
        let store = try StoreReader(path: server.databasePath)
        let started = "SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.webhook = 'capped'"
        XCTAssertTrue(try server.waitUntil { try store.count(started) == 1 })
        for id in ids { XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay").status, 202) }
        usleep(800_000)
        XCTAssertEqual(try store.count(started), 1, "a replay ran past the cap")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM replay_requests") == 0 && store.count(started) >= 4 },
                      "every replay runs once a slot is free")
    }

    /// A bulk replay is spaced oldest first, and a replay of an event waits while an earlier event
    /// with its key is pending: it ran newest first, and settled later events ahead of earlier ones.
    func testABulkReplayRunsOldestFirstAndKeepsPerKeyOrder() throws {
        let ids = try (1...3).map { try send("ordered", #"{"id": "o\#($0)", "type": "t", "customer": "cus_1"}"#) }
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts") == 1 }, "o1 ran and asked for a retry in an hour")
        let r = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken,
                                            body: Array(#"{"status": "pending", "webhook": "ordered"}"#.utf8))
        XCTAssertEqual(r.status, 202, r.text)
        XCTAssertEqual(r.json["ids"], .array(ids.map(JSONValue.string)), "queued oldest first")
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts WHERE replay = 1") == 1 }, "o1's replay runs")
        usleep(800_000)
        let replayed = try store.rows("SELECT e.id FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE a.replay = 1").map { $0[0] ?? "" }
        XCTAssertEqual(replayed, [ids[0]], "o2 and o3 wait behind o1, pending")
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM replay_requests"), 2, "their replays stay asked for")
    }

    /// A running attempt holds its ordering key, a replay of a settled event too: a fresh event with
    /// the key waits until the replay is recorded, and a replay waits while a fresh event with its
    /// key runs. Only a pending event held a key, so a replay of a processed event ran beside the
    /// key's next event (the crash probe saw 30 such overlaps).
    func testAReplayOfASettledEventHoldsItsKeyAndWaitsForIt() throws {
        let store = try StoreReader(path: server.databasePath)
        func attempt(_ id: String, replay: Bool) throws -> (started: Int64, finished: Int64?)? {
            let rows = try store.rows("SELECT a.started_at, a.finished_at FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = '\(id)' AND a.replay = \(replay ? 1 : 0)")
            return rows.first.map { (Int64($0[0] ?? "") ?? 0, $0[1].flatMap { Int64($0) }) }
        }
        func line(_ id: String, replay: Bool) -> Int? {
            TestServer.handledLines(output).firstIndex { $0.hasPrefix("gated \(id) ") && $0.hasSuffix("replay=\(replay ? 1 : 0)") }
        }
        func openGate() { XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler") }
        func closeGate() throws { try FileManager.default.removeItem(atPath: gate) }
        func replay(_ id: String) throws { XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202) }
        /// The attempt `waiting` does not start while `holder`'s, at the closed gate, runs, and starts
        /// once the gate opens and that one is recorded.
        func waits(_ waiting: (id: String, replay: Bool), behind holder: (id: String, replay: Bool)) throws {
            usleep(800_000)
            XCTAssertNil(try attempt(waiting.id, replay: waiting.replay), "\(waiting) started beside \(holder), an attempt with its key")
            openGate()
            XCTAssertTrue(try server.waitUntil { try attempt(waiting.id, replay: waiting.replay)?.finished != nil }, "\(waiting) runs once \(holder) is recorded")
            let held = try XCTUnwrap(try attempt(holder.id, replay: holder.replay)?.finished)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(try attempt(waiting.id, replay: waiting.replay)).started, held)
        }

        openGate()
        let a = try send("keyed", #"{"id": "key1", "type": "t", "customer": "cus_k"}"#)
        XCTAssertTrue(try server.waitUntil { try attempt(a, replay: false)?.finished != nil }, "a is processed")
        try closeGate()
        try replay(a)
        XCTAssertTrue(try server.waitUntil { try attempt(a, replay: true) != nil }, "a's replay starts and waits at the gate")
        let b = try send("keyed", #"{"id": "key2", "type": "t", "customer": "cus_k"}"#)
        try waits((b, replay: false), behind: (a, replay: true))
        XCTAssertLessThan(try XCTUnwrap(line(a, replay: true)), try XCTUnwrap(line(b, replay: false)), "the replay's call ends before b's")

        try closeGate()
        let c = try send("keyed", #"{"id": "key3", "type": "t", "customer": "cus_k"}"#)
        XCTAssertTrue(try server.waitUntil { try attempt(c, replay: false) != nil }, "c starts and waits at the gate")
        try replay(b)
        try waits((b, replay: true), behind: (c, replay: false))
    }

    /// A webhook removed from the config keeps its pending events in the store, and they resume on its
    /// own policy once it is back: they ran on the default policy (5 s doubling, more attempts).
    func testARemovedWebhooksPendingEventsWaitAndResumeOnItsPolicy() throws {
        let id = try send("removable", #"{"id": "r1", "type": "t"}"#)
        let store = try StoreReader(path: server.databasePath)
        let attempts = "SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.webhook = 'removable' AND a.outcome IS NOT NULL"
        XCTAssertTrue(try server.waitUntil { try store.count(attempts) == 1 })
        try writeConfig(keepingRemovable: false)
        server.hangUp()
        XCTAssertTrue(server.waitUntil { server.logs.contains("webhook removable is no longer configured") }, server.logs)
        usleep(2_000_000)
        XCTAssertEqual(try store.count(attempts), 1, "the event waits while its webhook is gone")
        try writeConfig(keepingRemovable: true)
        server.hangUp()
        XCTAssertTrue(try server.waitUntil(timeout: 15) { try server.admin("GET", "/admin/events/\(id)").json["status"]?.stringValue == "failed" })
        XCTAssertEqual(try store.count(attempts), 4, "its own policy's four attempts")
    }
}
