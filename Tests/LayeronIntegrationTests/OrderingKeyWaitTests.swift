import Foundation
import LayeronCore
import XCTest

/// An event that finds its ordering key held by a running attempt (here a slow replay of a settled
/// event with the key) waits for it without a store write every 200 ms, and runs as soon as the
/// holder is recorded, before the time it was rescheduled for.
final class OrderingKeyWaitTests: XCTestCase {
    private let secret = "key-wait-secret"

    /// A started server whose `keyed` webhook (`per-key` on `body.customer`) has a processed event
    /// of type `first` and customer `customer`, whose forced replay runs now and holds the key: its
    /// call waits at its gate (`endHeldCall("first", attempt: 2)` lets it return). The calls of the
    /// types in `free` return at once.
    private func replayHoldingTheKey(of customer: String, free: [String]) throws -> (server: TestServer, output: String, first: String) {
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = try server.installHeldCalls(webhooks: [
            ("keyed", #""handler": "behaviours.held", "ordering": "per-key", "orderingKey": "body.customer""#),
        ])
        try server.start()
        for type in ["first"] + free { server.endHeldCall(type, attempt: 1) }
        let first = try send(#"{"id": "\#(customer)-1", "type": "first", "customer": "\#(customer)"}"#, to: server)
        XCTAssertTrue(try server.waitUntil { try server.event(first)["status"]?.stringValue == "processed" })
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(first)/replay?force=true").status, 202)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains("held \(first) first attempt=2 replay=1") },
                      "the replay starts and holds the key")
        return (server, output, first)
    }

    private func send(_ json: String, to server: TestServer) throws -> String {
        let response = try server.postSigned("keyed", json, secret: secret)
        XCTAssertEqual(response.status, 200, response.body)
        return try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue, response.body)
    }

    func testAnEventWaitingForAHeldKeyIsRescheduledSeldomAndRunsWhenTheKeyIsLetGo() throws {
        let (server, output, first) = try replayHoldingTheKey(of: "cus_w", free: ["second"])
        defer {
            // A call still waiting would hold the drain for its minute.
            server.endHeldCall("first", attempt: 2)
            server.stop()
        }
        let store = try StoreReader(path: server.databasePath)
        let second = try send(#"{"id": "wait-2", "type": "second", "customer": "cus_w"}"#, to: server)

        // Five seconds of the replay's hold: every time the second event's next attempt moves is a
        // store write. At 200 ms each it moved 15 times and more.
        var times: [String] = []
        let watchedUntil = Date().addingTimeInterval(5)
        while Date() < watchedUntil {
            let at = try store.rows("SELECT next_attempt_at FROM events WHERE id = '\(second)'").first?.first ?? nil
            if let at, times.last != at { times.append(at) }
            usleep(20_000)
        }
        XCTAssertFalse(TestServer.handledLines(output).contains { $0.hasPrefix("held \(second) ") }, "the second event waits for the key")
        XCTAssertLessThanOrEqual(times.count, 8, "rescheduled \(times.count) times in 5 s: \(times)")

        // Ended just after the second event was rescheduled, so that its time in the store is
        // seconds away: had it waited for that time instead of the key's release, it would start at
        // or after it, however the replay's end fell against its reschedules.
        let lastSeen = times.last
        var due: Int64?
        XCTAssertTrue(server.waitUntil {
            let at = (try? store.rows("SELECT next_attempt_at FROM events WHERE id = '\(second)'").first?.first) ?? nil
            if let at, at != lastSeen { due = Int64(at) }
            return due != nil
        }, "the second event is rescheduled again while the replay holds the key")
        let dueWhenTheReplayEnded = try XCTUnwrap(due)
        server.endHeldCall("first", attempt: 2)
        let attempt = "SELECT a.started_at, a.finished_at FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = "
        XCTAssertTrue(try server.waitUntil { try server.event(second)["status"]?.stringValue == "processed" }, server.logs)
        let replayEnded = try XCTUnwrap(Int64(try XCTUnwrap(try store.rows(attempt + "'\(first)' AND a.replay = 1").first?[1])))
        let secondStarted = try XCTUnwrap(Int64(try XCTUnwrap(try store.rows(attempt + "'\(second)'").first?[0])))
        XCTAssertGreaterThanOrEqual(secondStarted, replayEnded, "the second event ran beside the replay")
        XCTAssertLessThan(secondStarted, dueWhenTheReplayEnded,
                          "the second event ran at its rescheduled time (\(dueWhenTheReplayEnded)), not when the replay let go of the key (\(replayEnded))")
    }

    /// A release of a key lets in only the earliest event that waited for it: the others would only
    /// find it ahead of them, and each one let in cost a store read and a reschedule. They stay
    /// untouched in the store while the earliest runs, and run in their turn.
    func testAReleaseLetsInOnlyTheEarliestWaitingEvent() throws {
        let (server, output, _) = try replayHoldingTheKey(of: "cus_o", free: ["third"])
        defer {
            server.endHeldCall("first", attempt: 2)
            server.endHeldCall("second", attempt: 1)
            server.stop()
        }
        let store = try StoreReader(path: server.databasePath)
        let second = try send(#"{"id": "only-2", "type": "second", "customer": "cus_o"}"#, to: server)
        var later: [String] = []
        for k in 3...6 { later.append(try send(#"{"id": "only-\#(k)", "type": "third", "customer": "cus_o"}"#, to: server)) }
        let times = "SELECT next_attempt_at FROM events WHERE id IN ('\(later.joined(separator: "', '"))') ORDER BY seq"
        XCTAssertTrue(try server.waitUntil { try store.rows(times).allSatisfy { $0.first != nil } })
        Thread.sleep(forTimeInterval: 0.5)
        let before = try store.rows(times)

        server.endHeldCall("first", attempt: 2)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains("held \(second) second attempt=1 replay=0") },
                      "the earliest waiting event runs once the replay lets go of the key")
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(try store.rows(times), before, "the events behind the earliest were let in and rescheduled at the release")
        XCTAssertFalse(TestServer.handledLines(output).contains { $0.hasPrefix("held ") && $0.contains(" third ") })

        server.endHeldCall("second", attempt: 1)
        XCTAssertTrue(try server.waitUntil(timeout: 10) {
            try later.allSatisfy { try server.event($0)["status"]?.stringValue == "processed" }
        }, "the events behind it run in their turn: \(TestServer.handledLines(output))")
        let ran = TestServer.handledLines(output).filter { $0.contains(" third ") }.map { String($0.split(separator: " ")[1]) }
        XCTAssertEqual(ran, later, "they ran out of arrival order")
    }
}
