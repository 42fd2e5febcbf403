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
}
