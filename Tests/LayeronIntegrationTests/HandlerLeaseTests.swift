import Foundation
import LayeronCore
import XCTest

/// An attempt that outlives its webhook's `lease` is presumed stalled: the scheduler runs the event
/// again on another worker while the first call goes on, and every run is recorded under a number of
/// its own (before, a re-run took the running attempt's number and overwrote its row). The lease
/// counts from the handler's call: an event waiting for a worker is not presumed stalled.
final class HandlerLeaseTests: XCTestCase {
    func testAnAttemptPastItsLeaseRunsAgainAndEveryRunIsRecorded() throws {
        let secret = "lease-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = server.path("handled.log")
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 1500 }"#,
                                         webhooks: [("stuck", #""handler": "behaviours.slow", "lease": "400ms""#)])
        try server.start()
        defer { server.stop() }
        let response = try server.postSigned("stuck", #"{"id": "lease-1", "type": "slow"}"#, secret: secret)
        XCTAssertEqual(response.status, 200, response.body)
        let id = try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue)

        // The first call takes 1.5 s; the scheduler (every 250 ms) starts another run each time the
        // 400 ms lease of the latest one has passed, until the first call settles the event.
        var attempts: [JSONValue] = []
        var lines: [String] = []
        let settled = try server.waitUntil {
            let event = try server.admin("GET", "/admin/events/\(id)").json
            if case let .array(list)? = event["attempts"] { attempts = list }
            lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return event["status"]?.stringValue == "processed" && attempts.count >= 2 && lines.count == attempts.count
                && attempts.allSatisfy { $0["outcome"]?.stringValue == "ok" }
        }
        XCTAssertTrue(settled, "attempts \(attempts.map { $0.serialized() }), handler calls \(lines)")
        let numbers = attempts.compactMap { $0["n"]?.serialized() }
        XCTAssertEqual(numbers, (1...attempts.count).map(String.init), "every run has its own number")
        XCTAssertEqual(Set(lines.map { $0.components(separatedBy: " ").first { $0.hasPrefix("attempt=") } ?? "" }),
                       Set((1...attempts.count).map { "attempt=\($0)" }), "the handler saw the same numbers: \(lines)")
        XCTAssertTrue(server.logs.contains("ran past its lease (400ms)"), server.logs)
    }

    /// Twenty events on two workers, each handler call 250 ms against a 1 s lease: the last ones wait
    /// in the queue about 2 s. Before, the lease started when an event was queued, so the scheduler
    /// took a waiting event for a stalled run and queued it again: it ran twice, both runs numbered
    /// 1, and the store showed one of them.
    func testAnEventWaitingForAWorkerLongerThanItsLeaseRunsOnce() throws {
        let secret = "lease-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = server.path("handled.log")
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 250 }"#, workers: 2,
                                         webhooks: [("queued", #""handler": "behaviours.slow", "lease": "1s""#)])
        try server.start()
        defer { server.stop() }
        var ids: [String] = []
        for i in 0..<20 {
            let response = try server.postSigned("queued", #"{"id": "queued-\#(i)", "type": "slow"}"#, secret: secret)
            XCTAssertEqual(response.status, 200, response.body)
            ids.append(try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue))
        }

        let settled = try server.waitUntil {
            try ids.allSatisfy { try server.event($0)["status"]?.stringValue == "processed" }
        }
        XCTAssertTrue(settled, server.logs)
        // A second run of an event, had one started, finishes within a call's time of the last event.
        Thread.sleep(forTimeInterval: 1)
        let calls = TestServer.handledLines(output)
        for id in ids {
            XCTAssertEqual(calls.filter { $0.hasPrefix("slow \(id) ") }, ["slow \(id) slow attempt=1 replay=0"], "\(id) ran once, as attempt 1")
            XCTAssertEqual(try server.attempts(id).map { $0["n"]?.serialized() }, ["1"], "\(id): one attempt recorded")
        }
        XCTAssertEqual(calls.count, 20, "\(calls)")
        XCTAssertFalse(server.logs.contains("ran past its lease"), server.logs)
    }

    /// A stalled run that returns after its event was handed to another run leaves the event and its
    /// ordering key to that run. Its end let go of both (they were held by event, and both runs are
    /// of the one event): the scheduler ran the event a third time beside the second run, and the
    /// key's next event ran beside it too.
    func testAStalledRunEndingLateLeavesTheEventAndItsKeyToTheRunThatTookOver() throws {
        let secret = "lease-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = try server.installHeldCalls(webhooks: [
            ("stalls", #""handler": "behaviours.held", "lease": "3s", "retry": {"attempts": 5, "initial": "100ms", "max": "100ms", "jitter": false}"#),
            ("keyed", #""handler": "behaviours.held", "lease": "3s", "ordering": "per-key", "orderingKey": "body.customer""#),
        ])
        try server.start()
        defer {
            // Calls still waiting would hold the drain for their minute.
            for (type, attempt) in [("retry_first", 2), ("retry_first", 3), ("k1", 2), ("k1", 3)] { server.endHeldCall(type, attempt: attempt) }
            server.stop()
        }
        func send(_ webhook: String, _ json: String) throws -> String {
            let response = try server.postSigned(webhook, json, secret: secret)
            XCTAssertEqual(response.status, 200, response.body)
            return try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue, response.body)
        }
        func calls(_ id: String) -> [String] { TestServer.handledLines(output).filter { $0.hasPrefix("held \(id) ") } }
        func firstRunRecorded(_ id: String) throws -> Bool {
            try server.attempts(id).contains { $0["n"]?.serialized() == "1" && $0["outcome"]?.stringValue != nil }
        }
        /// Run 1 of `id` stalls past its 3 s lease, run 2 starts, and run 1 then returns and is
        /// recorded while run 2 goes on.
        func stallThenHandOver(_ id: String, type: String) throws {
            XCTAssertTrue(server.waitUntil { calls(id).count == 2 }, "\(id) is handed to a second run: \(calls(id))")
            server.endHeldCall(type, attempt: 1)
            XCTAssertTrue(try server.waitUntil { try firstRunRecorded(id) }, "the stalled run of \(id) is recorded")
        }

        // The first run asks for a retry: the event is pending and due while its second run goes on.
        let retried = try send("stalls", #"{"id": "stall-1", "type": "retry_first"}"#)
        try stallThenHandOver(retried, type: "retry_first")
        usleep(1_000_000)
        XCTAssertEqual(calls(retried), ["held \(retried) retry_first attempt=1 replay=0", "held \(retried) retry_first attempt=2 replay=0"],
                       "no third run beside the second, within its lease")
        server.endHeldCall("retry_first", attempt: 2)
        XCTAssertTrue(try server.waitUntil { try server.event(retried)["status"]?.stringValue == "processed" }, server.logs)

        // The first run settles its event; the second still holds the event's ordering key.
        let first = try send("keyed", #"{"id": "key-1", "type": "k1", "customer": "cus_1"}"#)
        try stallThenHandOver(first, type: "k1")
        server.endHeldCall("k2", attempt: 1)
        let next = try send("keyed", #"{"id": "key-2", "type": "k2", "customer": "cus_1"}"#)
        usleep(1_000_000)
        XCTAssertEqual(calls(next), [], "the key's next event waits for the run that holds the key")
        server.endHeldCall("k1", attempt: 2)
        XCTAssertTrue(server.waitUntil { calls(next).count == 1 }, "it runs once that run is recorded")
        XCTAssertEqual(calls(first).count, 2, "\(calls(first))")
    }

    /// The run that took over settles the event: a stalled run that ends after it, asking for a retry,
    /// is recorded on its own attempt and leaves the event as the later run left it. Its late end set
    /// a processed event back to pending, and a third run followed (or `failed`, for an error).
    func testAStalledRunEndingAfterTheRunThatTookOverDoesNotUnsettleTheEvent() throws {
        let secret = "lease-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = try server.installHeldCalls(webhooks: [
            ("stalls", #""handler": "behaviours.held", "lease": "3s", "retry": {"attempts": 5, "initial": "100ms", "max": "100ms", "jitter": false}"#),
        ])
        try server.start()
        defer {
            server.endHeldCall("retry_first", attempt: 3)
            server.stop()
        }
        let response = try server.postSigned("stalls", #"{"id": "late-1", "type": "retry_first"}"#, secret: secret)
        XCTAssertEqual(response.status, 200, response.body)
        let id = try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue, response.body)
        func calls() -> [String] { TestServer.handledLines(output).filter { $0.hasPrefix("held \(id) ") } }
        XCTAssertTrue(server.waitUntil { calls().count == 2 }, "handed to a second run: \(calls())")
        server.endHeldCall("retry_first", attempt: 2)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" }, server.logs)
        server.endHeldCall("retry_first", attempt: 1)
        XCTAssertTrue(try server.waitUntil { try server.attempts(id).contains { $0["n"]?.serialized() == "1" && $0["outcome"]?.stringValue == "retry" } },
                      "the stalled run's end is recorded on its attempt: \((try? server.attempts(id)) ?? [])")
        usleep(1_500_000)
        XCTAssertEqual(try server.event(id)["status"]?.stringValue, "processed")
        XCTAssertEqual(calls().count, 2, "no third run after the stalled one's retry: \(calls())")
    }
}
