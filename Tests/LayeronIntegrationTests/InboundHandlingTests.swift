import Foundation
import LayeronCore
import XCTest

/// Issue 5 against the real server: type routing, unhandled events, dedupe, response control,
/// retries, ordering and concurrency caps.
final class InboundHandlingTests: XCTestCase {
    let secret = "vendor-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }
    /// `behaviours.gated` calls (the "slowpoke" and "capped" webhooks) return once this file exists.
    var gate: String { server.path("gate") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        let keyed = #""dedupe": {"key": "body.id", "ttl": "1h"}, "#
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "fail_times": 2, "gate": "\#(gate)" }"#, webhooks: [
            ("routed", keyed + #""on": {"invoice.paid": "behaviours.ok", "invoice.*": "behaviours.flaky", "customer.deleted": "behaviours.always_error"}"#),
            ("strict", keyed + #""unhandled": "reject", "on": {"known": "behaviours.ok"}"#),
            ("challenge", keyed + #""respond": "after-handler", "handler": "behaviours.respond""#),
            ("slowpoke", keyed + #""respond": "after-handler", "timeout": "50ms", "handler": "behaviours.gated""#),
            ("doomed", keyed + #""handler": "behaviours.always_retry", "retry": {"attempts": 3, "initial": "50ms", "max": "100ms", "jitter": false}"#),
            ("ordered", keyed + #""handler": "behaviours.flaky", "ordering": "per-key", "orderingKey": "body.customer""#),
            ("capped", keyed + #""handler": "behaviours.gated", "concurrency": 1"#),
            ("composite", #""dedupe": {"key": "{body.shop}:{body.id}", "ttl": "1h"}, "handler": "behaviours.ok""#),
            ("byheader", #""dedupe": {"key": "header.x-id", "ttl": "1h"}, "handler": "behaviours.ok""#),
        ])
        try server.start()
    }

    override func tearDown() {
        // A gated call still waiting would hold the drain for its minute.
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        server.stop()
        server = nil
    }

    @discardableResult
    private func send(_ webhook: String, _ json: String) throws -> (status: Int, body: String) {
        try server.postSigned(webhook, json, secret: secret)
    }

    private func lines() -> [String] { TestServer.handledLines(output) }

    private func event(_ id: String) throws -> JSONValue {
        try server.admin("GET", "/admin/events/\(id)").json
    }

    private func waitForStatus(_ id: String, _ status: String, timeout: TimeInterval = 30) throws -> JSONValue {
        let reached = try server.waitUntil(timeout: timeout) { try event(id)["status"]?.stringValue == status }
        let last = try event(id)
        XCTAssertTrue(reached, "\(id) never became \(status): \(last.serialized())")
        return last
    }

    private func id(of response: (status: Int, body: String)) throws -> String {
        try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue, response.body)
    }

    private func attempts(_ json: JSONValue) -> [JSONValue] {
        if case let .array(a)? = json["attempts"] { return a }
        return []
    }

    func testTypeRoutingPicksTheMostSpecificPattern() throws {
        let paid = try id(of: try send("routed", #"{"id": "e1", "type": "invoice.paid"}"#))
        let created = try id(of: try send("routed", #"{"id": "e2", "type": "invoice.created"}"#))
        let deleted = try id(of: try send("routed", #"{"id": "e3", "type": "customer.deleted"}"#))
        XCTAssertEqual(try waitForStatus(paid, "processed")["handler"]?.stringValue, "behaviours.ok")
        // invoice.* → flaky: fails twice (retry after 50 ms), then succeeds: three attempts recorded.
        let flaky = try waitForStatus(created, "processed")
        XCTAssertEqual(flaky["handler"]?.stringValue, "behaviours.flaky")
        XCTAssertEqual(attempts(flaky).map { $0["outcome"]?.stringValue }, ["retry", "retry", "ok"])
        XCTAssertEqual(attempts(flaky)[0]["error"]?.stringValue, "flaky: not yet")
        XCTAssertNotNil(attempts(flaky)[0]["duration_ms"]?.scalarText)
        let failed = try waitForStatus(deleted, "failed")
        XCTAssertEqual(attempts(failed).map { $0["outcome"]?.stringValue }, ["error"])
        XCTAssertEqual(attempts(failed)[0]["error"]?.stringValue, "permanent: bad payload")
        // The handler's own log line, written through the host during the call, names its event.
        XCTAssertTrue(server.waitUntil(timeout: 5) {
            server.logs.contains(#""msg":"refusing the payload","plugin":"behaviours","event":"\#(deleted)""#)
        }, server.logs)
    }

    func testUnhandledEventsAreIgnoredOrRejected() throws {
        let ignored = try send("routed", #"{"id": "u1", "type": "charge.refunded"}"#)
        XCTAssertEqual(ignored.status, 200)
        let ignoredID = try id(of: ignored)
        XCTAssertEqual(try event(ignoredID)["status"]?.stringValue, "ignored")

        let rejected = try send("strict", #"{"id": "u2", "type": "mystery"}"#)
        XCTAssertEqual(rejected.status, 422, rejected.body)
        let list = try server.admin("GET", "/admin/events?webhook=strict&status=ignored")
        guard case let .array(events)? = list.json["events"] else { return XCTFail(list.text) }
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events[0]["type"]?.stringValue, "mystery")
        // The provider's retry is refused too: a 200 would tell it the delivery went through.
        let retried = try send("strict", #"{"id": "u2", "type": "mystery"}"#)
        XCTAssertEqual(retried.status, 422, retried.body)
        let recorded = try XCTUnwrap(events[0]["id"]?.stringValue)
        XCTAssertTrue(retried.body.contains(recorded), retried.body)
        XCTAssertEqual(try event(recorded)["duplicates"]?.scalarText, "1")
        // Time for a handler wrongly dispatched to start; none may have, for either event.
        usleep(500_000)
        let store = try StoreReader(path: server.databasePath)
        let attempts = try store.rows("""
            SELECT events.id, attempts.n, attempts.error FROM attempts JOIN events ON events.seq = attempts.event_seq
            WHERE events.id IN ('\(ignoredID)', '\(recorded)')
            """)
        XCTAssertEqual(attempts.count, 0, "an unhandled event's handler ran: \(attempts)")
    }

    /// A signed body that JavaScript wrote with a lone surrogate escape, or that begins with a byte
    /// order mark, is routed by its type and folded with its retries like any other.
    func testBodiesWithLoneSurrogatesOrAByteOrderMarkKeepTheirFields() throws {
        let cut = try send("routed", #"{"id": "s1", "type": "invoice.paid", "note": "\ud83d"}"#)
        XCTAssertEqual(try waitForStatus(try id(of: cut), "processed")["handler"]?.stringValue, "behaviours.ok")
        let retry = try send("routed", #"{"id": "s1", "type": "invoice.paid", "note": "\ud83d"}"#)
        XCTAssertTrue(retry.body.contains(#""duplicate":true"#), retry.body)
        let marked = try send("routed", "\u{FEFF}" + #"{"id": "s2", "type": "invoice.paid"}"#)
        let event = try waitForStatus(try id(of: marked), "processed")
        XCTAssertEqual(event["dedupe_key"]?.stringValue, "s2")
    }

    /// A signed body that is still not JSON loses the fields read from it, but not the event: it is
    /// recorded, a catch-all handler takes it, and the log names it and says why.
    func testABodyThatIsNotJSONIsHandledByTheCatchAllAndLogged() throws {
        // As providers send it: a body without a content type is taken for a form, which is not JSON by design.
        func sendJSON(_ webhook: String, _ text: String) throws -> (status: Int, body: String) {
            let body = Array(text.utf8)
            return try server.post("/webhooks/\(webhook)", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret)),
                                                                     ("Content-Type", "application/json")], body: body)
        }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let caught = try id(of: try sendJSON("composite", #"{"id": "n1", "shop": "s", "x": \#(deep)}"#))
        XCTAssertEqual(try waitForStatus(caught, "processed")["handler"]?.stringValue, "behaviours.ok")
        let form = try id(of: try send("composite", "a=1&b=2"))
        let missed = try id(of: try sendJSON("routed", "garbage"))
        XCTAssertEqual(try event(missed)["status"]?.stringValue, "ignored")
        func warnings() -> [Substring] { server.logs.split(separator: "\n").filter { $0.contains(#""level":"warn""#) } }
        for (id, reason) in [(caught, "nested deeper than 512 levels"), (missed, "unexpected character 'g'")] {
            XCTAssertTrue(server.waitUntil(timeout: 5) { warnings().contains { $0.contains(id) && $0.contains(reason) } }, server.logs)
        }
        XCTAssertFalse(warnings().contains { $0.contains(form) }, server.logs)
    }

    /// Spaces and tabs around a header's value are not part of it (RFC 9110): a retry whose id header
    /// carries them is the same event. libmicrohttpd drops the leading ones, the server the trailing.
    func testWhitespaceAroundAHeaderKeyIsNotPartOfIt() throws {
        let body = Array(#"{"type": "t"}"#.utf8)
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let answer = try RawConnection.exchange(port: port, "POST /webhooks/byheader HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + "Content-Length: \(body.count)\r\nX-Sig: \(Signing.hmacHex(body: body, secret: secret))\r\nX-Id: \t H1 \t \r\n\r\n"
            + String(decoding: body, as: UTF8.self))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        let first = try id(of: (200, String(answer[try XCTUnwrap(answer.range(of: "\r\n\r\n")).upperBound...])))
        XCTAssertEqual(try event(first)["dedupe_key"]?.stringValue, "H1")
        let retry = try server.post("/webhooks/byheader", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret)), ("x-id", "H1")], body: body)
        XCTAssertEqual(try id(of: retry), first)
        XCTAssertTrue(retry.body.contains(#""duplicate":true"#), retry.body)
    }

    func testSequentialDuplicatesRunOnce() throws {
        let first = try send("routed", #"{"id": "d1", "type": "invoice.paid"}"#)
        let second = try send("routed", #"{"id": "d1", "type": "invoice.paid"}"#)
        XCTAssertEqual(second.status, 200)
        XCTAssertEqual(try id(of: second), try id(of: first))
        let e = try waitForStatus(try id(of: first), "processed")
        XCTAssertEqual(e["duplicates"]?.scalarText, "1")
        usleep(200_000)
        XCTAssertEqual(lines().count, 1)
    }

    /// A template's parts may hold its separator: `a:b` + `x` and `a` + `b:x` were once one key, and
    /// the second event was answered as a duplicate of the first and never recorded.
    func testTemplateKeysWhosePartsHoldTheSeparatorAreDistinctEvents() throws {
        let first = try send("composite", #"{"shop": "a:b", "id": "x", "type": "t"}"#)
        let second = try send("composite", #"{"shop": "a", "id": "b:x", "type": "t"}"#)
        XCTAssertEqual(second.status, 200)
        XCTAssertFalse(second.body.contains("duplicate"), second.body)
        XCTAssertNotEqual(try id(of: second), try id(of: first))
        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.rows("SELECT dedupe_key FROM events WHERE webhook = 'composite' ORDER BY seq"), [[#"a\:b:x"#], ["a:b:x"]])
        let retry = try send("composite", #"{"shop": "a:b", "id": "x", "type": "t"}"#)
        XCTAssertEqual(try id(of: retry), try id(of: first))
        XCTAssertTrue(retry.body.contains("\"duplicate\":true"), retry.body)
    }

    /// Some providers send 64-bit ids as bare numbers: two that one `Double` cannot tell apart are
    /// still two events, each keyed by its id as written, and a retry of either still folds.
    func testLargeNumericIDsAreDistinctEvents() throws {
        let first = try send("routed", #"{"id": 123456789012345671, "type": "invoice.paid"}"#)
        let second = try send("routed", #"{"id": 123456789012345672, "type": "invoice.paid"}"#)
        XCTAssertEqual(second.status, 200)
        XCTAssertFalse(second.body.contains("duplicate"), second.body)
        XCTAssertNotEqual(try id(of: second), try id(of: first))
        let recorded = try waitForStatus(try id(of: second), "processed")
        XCTAssertEqual(recorded["dedupe_key"]?.stringValue, "123456789012345672", recorded.serialized())
        let retry = try send("routed", #"{"id": 123456789012345671, "type": "invoice.paid"}"#)
        XCTAssertEqual(try id(of: retry), try id(of: first))
        XCTAssertTrue(retry.body.contains("\"duplicate\":true"), retry.body)
        _ = try waitForStatus(try id(of: first), "processed")
        usleep(200_000)
        XCTAssertEqual(lines().count, 2, "\(lines())")
    }

    func testConcurrentCopiesRunTheHandlerExactlyOnce() throws {
        let copies = 12
        let statuses = StatusBox()
        let server = self.server!
        let body = Array(#"{"id": "c1", "type": "invoice.paid"}"#.utf8)
        let signature = Signing.hmacHex(body: body, secret: secret)
        DispatchQueue.concurrentPerform(iterations: copies) { _ in
            let r = try? server.post("/webhooks/routed", headers: [("x-sig", signature)], body: body)
            statuses.add(r?.status ?? -1, r.flatMap { try? JSONParser.parse($0.body)["id"]?.stringValue })
        }
        XCTAssertEqual(statuses.statuses, Array(repeating: 200, count: copies))
        XCTAssertEqual(Set(statuses.ids).count, 1)
        let e = try waitForStatus(statuses.ids[0], "processed")
        XCTAssertEqual(e["duplicates"]?.scalarText, String(copies - 1))
        usleep(300_000)
        XCTAssertEqual(lines().count, 1, "\(lines())")
        XCTAssertEqual(try StoreReader(path: server.databasePath).count("SELECT COUNT(*) FROM events"), 1)
    }

    func testDedupeWindowSurvivesARestart() throws {
        let first = try id(of: try send("routed", #"{"id": "r1", "type": "invoice.paid"}"#))
        _ = try waitForStatus(first, "processed")
        server.stop()
        try server.start()
        let again = try send("routed", #"{"id": "r1", "type": "invoice.paid"}"#)
        XCTAssertEqual(try id(of: again), first)
        XCTAssertTrue(again.body.contains("\"duplicate\":true"), again.body)
        XCTAssertEqual(try event(first)["duplicates"]?.scalarText, "1")
    }

    func testAfterHandlerAnswersWithThePluginsResponse() throws {
        let challenge = #"{"id": "h1", "type": "url_verification", "challenge": "abc123"}"#
        let response = try send("challenge", challenge)
        XCTAssertEqual(response.status, 201)
        XCTAssertEqual(response.body, challenge)
        // The provider's retry gets the same answer, without running the handler again.
        let retry = try send("challenge", challenge)
        XCTAssertEqual(retry.status, 201)
        XCTAssertEqual(retry.body, challenge)
        usleep(200_000)
        XCTAssertEqual(lines().filter { $0.hasPrefix("respond ") }.count, 1)
    }

    func testAfterHandlerTimeoutAnswersRetryLater() throws {
        let start = Date()
        let response = try send("slowpoke", #"{"id": "t1", "type": "slow"}"#)
        XCTAssertEqual(response.status, 503, response.body)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.3 + 5, "the answer waited for the slow handler")
        XCTAssertTrue(response.body.contains("did not finish within 50ms"), response.body)
        // The handler still finishes and records its attempt; the provider's retry then gets 200,
        // with the event's id as the live answer has it.
        let id = try self.id(of: response)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        _ = try waitForStatus(id, "processed")
        let retry = try send("slowpoke", #"{"id": "t1", "type": "slow"}"#)
        XCTAssertEqual(retry.status, 200)
        XCTAssertEqual(try self.id(of: retry), id)
    }

    /// The waiting run starts from the append's completion; had the event been recorded due at once,
    /// a scheduler pass between the commit and that start would run its handler a second time. It is
    /// recorded due when the provider stops waiting, so the scheduler only ever takes a run that
    /// never started: one a crash interrupted.
    func testAfterHandlerEventIsDueOnlyOnceItsAnswerTimedOut() throws {
        let response = try send("slowpoke", #"{"id": "g1", "type": "slow"}"#)
        XCTAssertEqual(response.status, 503, response.body)
        let id = try self.id(of: response)
        // The handler waits for the gate, still shut; the answer came after 50 ms.
        let row = try StoreReader(path: server.databasePath)
            .rows("SELECT status, next_attempt_at - received_at FROM events WHERE id = '\(id)'")
        XCTAssertEqual(row.first, ["pending", "50"])

        server.kill()
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        try server.start()
        let done = try waitForStatus(id, "processed")
        XCTAssertEqual(attempts(done).last?["outcome"]?.stringValue, "ok", done.serialized())
    }

    func testAlwaysFailingEventFailsAfterTheConfiguredAttempts() throws {
        let id = try self.id(of: try send("doomed", #"{"id": "f1", "type": "x"}"#))
        let failed = try waitForStatus(id, "failed")
        // A retry asked for on the last attempt is the failure, recorded and counted as one.
        XCTAssertEqual(attempts(failed).map { $0["outcome"]?.stringValue }, ["retry", "retry", "error"])
        XCTAssertTrue(attempts(failed).last?["error"]?.stringValue?.hasSuffix("(attempt 3 of 3, the last)") == true, failed.serialized())
        XCTAssertEqual(failed["next_attempt_at"], .null)
        // Counted by the worker as it hands the record to the writer, so it may follow the commit.
        let counted = #"layeron_handler_attempts_total{plugin="behaviours",outcome="error"} 1"#
        XCTAssertTrue(try server.waitUntil(timeout: 5) { try server.admin("GET", "/metrics").text.contains(counted) })
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains("the last); the event has failed") }, server.logs)
        usleep(400_000)
        XCTAssertEqual(lines().filter { $0.hasPrefix("always_retry") }.count, 3)
    }

    /// Durations are observed at full precision: in whole milliseconds a fast handler's sum read 0.
    func testHandlerAndCommitDurationsAreObservedBelowAMillisecond() throws {
        let id = try self.id(of: try send("routed", #"{"id": "d1", "type": "invoice.paid"}"#))
        _ = try waitForStatus(id, "processed")
        // The attempt is observed by the worker as it hands the record to the writer, so it may follow the commit.
        let observed = #"layeron_handler_duration_seconds_count{plugin="behaviours"} 1"#
        XCTAssertTrue(try server.waitUntil(timeout: 5) { try server.admin("GET", "/metrics").text.contains(observed) })
        let metrics = try server.admin("GET", "/metrics").text
        func sum(_ series: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let handler = try XCTUnwrap(sum(#"layeron_handler_duration_seconds_sum{plugin="behaviours"}"#), metrics)
        XCTAssertGreaterThan(handler, 0, "the ok handler returns at once, well under a millisecond")
        XCTAssertLessThan(handler, 1)
        XCTAssertGreaterThan(try XCTUnwrap(sum("layeron_store_append_seconds_sum"), metrics), 0)
    }

    func testPerKeyOrderingRunsOneKeyAtATimeInArrivalOrder() throws {
        let a = try id(of: try send("ordered", #"{"id": "o1", "type": "t", "customer": "cus_1"}"#))
        let b = try id(of: try send("ordered", #"{"id": "o2", "type": "t", "customer": "cus_1"}"#))
        let c = try id(of: try send("ordered", #"{"id": "o3", "type": "t", "customer": "cus_2"}"#))
        for id in [a, b, c] { _ = try waitForStatus(id, "processed") }
        let forKey1 = lines().filter { $0.contains(a) || $0.contains(b) }
        // a fails twice then succeeds; b must not start before a's last attempt.
        XCTAssertEqual(forKey1.map { $0.contains(a) ? "a" : "b" }, ["a", "a", "a", "b", "b", "b"], "\(forKey1)")
    }

    func testConcurrencyCapRunsOneAtATime() throws {
        let ids = try (1...4).map { try id(of: try send("capped", #"{"id": "cap\#($0)", "type": "t"}"#)) }
        // The gate is shut until all four are in: the first call holds the webhook's one slot, however
        // slowly the others arrive, and nothing else may start past the cap (the scheduler passes
        // every 250 ms).
        let store = try StoreReader(path: server.databasePath)
        let started = "SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.webhook = 'capped'"
        XCTAssertTrue(try server.waitUntil { try store.count(started) == 1 })
        usleep(600_000)
        XCTAssertEqual(try store.count(started), 1, "an event ran past the cap")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        for id in ids { _ = try waitForStatus(id, "processed") }
        // The three turned away at the cap waited in the store. The first finish let the scheduler
        // read them at once, not at its next timed pass; it started one and kept the other two
        // (read past the cap), which the next two finishes started without another read.
        // (A start is counted just after the worker is woken for it: that event may be processed first.)
        var metrics = ""
        func value(_ prefix: String) -> Int {
            metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        XCTAssertTrue(try server.waitUntil {
            metrics = try server.admin("GET", "/metrics").text
            return value("layeron_dispatch_read_ahead_starts_total ") >= 2
        }, metrics)
        XCTAssertGreaterThanOrEqual(value(#"layeron_scheduler_passes_total{trigger="release"} "#), 1, metrics)
        XCTAssertEqual(value("layeron_dispatch_read_ahead_starts_total "), 2, metrics)
    }
}

