import Foundation
import LayeronCore
import XCTest

/// An `after-handler` webhook with `ordering: per-key` keeps its key's order: the run a provider
/// waits for does not start beside another attempt with its key (the provider is answered at once
/// that the event waits, and the event runs in its turn), and a run that does start holds the key,
/// so a replay of another event with the key waits for it.
final class AfterHandlerOrderingTests: XCTestCase {
    private let secret = "after-handler-ordering-secret"
    private let webhook = #"""
        "handler": "behaviours.held", "respond": "after-handler", "timeout": "30s", "dedupe": {"key": "body.id"},
        "ordering": "per-key", "orderingKey": "body.customer"
        """#

    private func startServer() throws -> (TestServer, output: String) {
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = try server.installHeldCalls(webhooks: [("keyed", webhook)])
        try server.start()
        return (server, output)
    }

    /// Posts `json`, whose handler returns at once, and returns the event's id once it is answered 200.
    private func sendHandled(_ server: TestServer, _ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let sent = try server.postSigned("keyed", json, secret: secret)
        XCTAssertEqual(sent.status, 200, sent.body, file: file, line: line)
        return try XCTUnwrap(try JSONParser.parse(sent.body)["id"]?.stringValue, sent.body, file: file, line: line)
    }

    /// Posts `json` on another thread, whose answer (`"STATUS BODY"`) goes to the box once the
    /// semaphore is signalled.
    private func sendInBackground(_ server: TestServer, _ json: String) -> (AnswerBox, DispatchSemaphore) {
        let answer = AnswerBox()
        let answered = DispatchSemaphore(value: 0)
        let secret = self.secret
        Thread.detachNewThread {
            let result = try? server.postSigned("keyed", json, secret: secret)
            answer.set("\(result?.status ?? 0) \(result?.body ?? "no answer")")
            answered.signal()
        }
        return (answer, answered)
    }

    /// The id in the body of a `"STATUS BODY"` answer.
    private func answeredID(_ answer: String) throws -> String {
        try XCTUnwrap(try JSONParser.parse(Array(answer.drop { $0 != " " }.dropFirst().utf8))["id"]?.stringValue, answer)
    }

    private func attemptTimes(_ store: StoreReader, _ id: String, replay: Bool) throws -> (started: Int64, finished: Int64) {
        let row = try XCTUnwrap(try store.rows("""
            SELECT a.started_at, a.finished_at FROM attempts a JOIN events e ON e.seq = a.event_seq
            WHERE e.id = '\(id)' AND a.replay = \(replay ? 1 : 0) ORDER BY a.n DESC LIMIT 1
            """).first)
        return (try XCTUnwrap(Int64(try XCTUnwrap(row[0]))), try XCTUnwrap(Int64(try XCTUnwrap(row[1]))))
    }

    func testAnEventWhoseKeyIsHeldIsAnsweredThatItWaitsAndRunsOnceTheKeyIsLetGo() throws {
        let (server, output) = try startServer()
        defer {
            // A call still waiting would hold the drain for its minute.
            server.endHeldCall("first", attempt: 2)
            server.stop()
        }
        let store = try StoreReader(path: server.databasePath)
        server.endHeldCall("first", attempt: 1)
        // The second event's handler returns at once when called: only the key can hold it back.
        server.endHeldCall("second", attempt: 1)

        let first = try sendHandled(server, #"{"id": "ah-1", "type": "first", "customer": "cus_a"}"#)
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(first)/replay?force=true").status, 202)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains("held \(first) first attempt=2 replay=1") },
                      "the replay starts and holds the key")

        let body = #"{"id": "ah-2", "type": "second", "customer": "cus_a"}"#
        let asked = Date()
        let sentSecond = try server.postSigned("keyed", body, secret: secret)
        XCTAssertLessThan(Date().timeIntervalSince(asked), 5, "the provider is not kept waiting behind the replay")
        XCTAssertEqual(sentSecond.status, 503, "the handler ran beside the replay holding its key: \(sentSecond.body)")
        let answer = try JSONParser.parse(sentSecond.body)
        let second = try XCTUnwrap(answer["id"]?.stringValue, sentSecond.body)
        XCTAssertTrue(answer["error"]?.stringValue?.contains("ordering key") == true, sentSecond.body)
        XCTAssertGreaterThanOrEqual(answer["retry_after"]?.scalarText.flatMap { Int($0) } ?? 0, 1, sentSecond.body)

        Thread.sleep(forTimeInterval: 1)
        XCTAssertFalse(TestServer.handledLines(output).contains { $0.hasPrefix("held \(second) ") }, "the second event waits for the key")
        XCTAssertEqual(try server.event(second)["status"]?.stringValue, "pending")

        // Ended just after the second event was rescheduled again (its time in the store then a
        // second or more away, as long as the replay has held the key): had it waited for that time
        // rather than the key's release, it would start at or after it.
        let nextAttempt = "SELECT next_attempt_at FROM events WHERE id = '\(second)'"
        let seen = try store.rows(nextAttempt).first?.first ?? nil
        var due: Int64?
        XCTAssertTrue(server.waitUntil {
            let at = (try? store.rows(nextAttempt).first?.first) ?? nil
            if let at, at != seen { due = Int64(at) }
            return due != nil
        }, "the second event is rescheduled again while the replay holds the key")
        let dueWhenTheReplayEnded = try XCTUnwrap(due)
        server.endHeldCall("first", attempt: 2)
        XCTAssertTrue(try server.waitUntil { try server.event(second)["status"]?.stringValue == "processed" }, server.logs)
        let replay = try attemptTimes(store, first, replay: true)
        let run = try attemptTimes(store, second, replay: false)
        XCTAssertGreaterThanOrEqual(run.started, replay.finished, "the second event ran beside the replay")
        XCTAssertLessThan(run.started, dueWhenTheReplayEnded,
                          "the second event ran at its rescheduled time (\(dueWhenTheReplayEnded)), not when the replay let go of the key (\(replay.finished))")

        // The provider's retry is answered with the handler's outcome, recorded by that run.
        let retried = try server.postSigned("keyed", body, secret: secret)
        XCTAssertEqual(retried.status, 200, retried.body)
        XCTAssertEqual(try JSONParser.parse(retried.body)["id"]?.stringValue, second, retried.body)
    }

    func testARunTheProviderWaitsForHoldsItsKeyAgainstAReplayOfAnotherEvent() throws {
        let (server, output) = try startServer()
        defer {
            server.endHeldCall("second", attempt: 1)
            server.stop()
        }
        let store = try StoreReader(path: server.databasePath)
        server.endHeldCall("first", attempt: 1)
        // The replay's handler returns at once when called: only the key can hold it back.
        server.endHeldCall("first", attempt: 2)

        let first = try sendHandled(server, #"{"id": "ah-3", "type": "first", "customer": "cus_b"}"#)
        let (answer, answered) = sendInBackground(server, #"{"id": "ah-4", "type": "second", "customer": "cus_b"}"#)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains { $0.hasPrefix("held ") && $0.hasSuffix(" second attempt=1 replay=0") } },
                      "the run the provider waits for starts")
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(first)/replay?force=true").status, 202)

        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertFalse(TestServer.handledLines(output).contains("held \(first) first attempt=2 replay=1"),
                       "the replay ran beside the after-handler run holding its key")

        server.endHeldCall("second", attempt: 1)
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(answer.value.hasPrefix("200 "), answer.value)
        let second = try answeredID(answer.value)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains("held \(first) first attempt=2 replay=1") },
                      "the replay runs once the key is let go of")
        XCTAssertTrue(try server.waitUntil { try store.rows("SELECT 1 FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = '\(first)' AND a.replay = 1 AND a.finished_at IS NOT NULL").count == 1 })
        let run = try attemptTimes(store, second, replay: false)
        let replay = try attemptTimes(store, first, replay: true)
        XCTAssertGreaterThanOrEqual(replay.started, run.finished, "the replay ran beside the after-handler run")
    }

    func testAnEventBehindAnEarlierOneTheProviderWaitsForRunsAsSoonAsThatOneIsRecorded() throws {
        let (server, output) = try startServer()
        defer {
            server.endHeldCall("first", attempt: 1)
            server.stop()
        }
        let store = try StoreReader(path: server.databasePath)
        server.endHeldCall("second", attempt: 1)

        let (answer, answered) = sendInBackground(server, #"{"id": "ah-5", "type": "first", "customer": "cus_c"}"#)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).contains { $0.hasPrefix("held ") && $0.hasSuffix(" first attempt=1 replay=0") } },
                      "the first event's run starts")

        let asked = Date()
        let sentSecond = try server.postSigned("keyed", #"{"id": "ah-6", "type": "second", "customer": "cus_c"}"#, secret: secret)
        XCTAssertLessThan(Date().timeIntervalSince(asked), 5, "the provider is not kept waiting behind the earlier event")
        XCTAssertEqual(sentSecond.status, 503, "the handler ran ahead of the earlier event with its key: \(sentSecond.body)")
        let second = try XCTUnwrap(try JSONParser.parse(sentSecond.body)["id"]?.stringValue, sentSecond.body)
        XCTAssertTrue(sentSecond.body.contains("an earlier event with its ordering key is pending"), sentSecond.body)
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertFalse(TestServer.handledLines(output).contains { $0.hasPrefix("held \(second) ") }, "the second event waits for the first")

        server.endHeldCall("first", attempt: 1)
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(answer.value.hasPrefix("200 "), answer.value)
        let first = try answeredID(answer.value)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.event(second)["status"]?.stringValue == "processed" },
                      "the second event runs once the first is recorded, not the first's timeout (30 s) after its arrival")
        let earlier = try attemptTimes(store, first, replay: false)
        let later = try attemptTimes(store, second, replay: false)
        XCTAssertGreaterThanOrEqual(later.started, earlier.finished, "the second event ran beside the first")
        XCTAssertLessThan(later.started - earlier.finished, 1000, "the second event runs as soon as the first is recorded")
    }

    /// Pairs of events with a key each, sent together, whose handlers return at once: the later of a
    /// pair finds the earlier pending, and that one's run often lets go of the key before the later
    /// one is on its waiting list (their store writes share a commit), or takes the key only after.
    /// Each runs once the earlier is recorded all the same, not the earlier's `timeout` (30 s) after
    /// its arrival, when the earlier is next due in the store.
    func testEventsBehindQuickEarlierOnesRunOnceThoseAreRecordedWhateverTheRace() throws {
        let (server, _) = try startServer()
        defer { server.stop() }
        let store = try StoreReader(path: server.databasePath)
        server.endHeldCall("first", attempt: 1)
        server.endHeldCall("second", attempt: 1)

        let pairs = 16
        var sent: [(AnswerBox, DispatchSemaphore)] = []
        for k in 0..<pairs {
            sent.append(sendInBackground(server, #"{"id": "race-a-\#(k)", "type": "first", "customer": "cus_race_\#(k)"}"#))
            sent.append(sendInBackground(server, #"{"id": "race-b-\#(k)", "type": "second", "customer": "cus_race_\#(k)"}"#))
        }
        for (answer, answered) in sent {
            XCTAssertEqual(answered.wait(timeout: .now() + 10), .success, "a provider waited behind an earlier event")
            XCTAssertTrue(answer.value.hasPrefix("200 ") || answer.value.hasPrefix("503 "), answer.value)
        }
        let handled = "SELECT COUNT(*) FROM events WHERE provider_event_id LIKE 'race-%' AND status = 'processed'"
        XCTAssertTrue(try server.waitUntil(timeout: 8) { try store.count(handled) == 2 * pairs },
                      "events behind a quick earlier one waited for its timeout: \((try? store.rows("SELECT provider_event_id, status, next_attempt_at FROM events WHERE status != 'processed'")) ?? [])")
    }
}
