import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// Outbound deliveries through the real server: to its own inbound Standard Webhooks endpoint (our
/// verifier checks the signature end to end) and to scripted loopback receivers.
final class OutboundDeliveryTests: XCTestCase {
    private var harness: OutboundHarness!

    override func tearDown() {
        harness?.server.stop()
        harness = nil
    }

    func testSignedDeliveryIsVerifiedByOurOwnInboundEndpointAndCarriesEveryHeader() throws {
        let mirror = try ScriptedReceiver(replies: [])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "mirror", "url": "\#(mirror.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "signatures": ["github"], "headers": { "X-Tenant": "acme" } }"#,
            #"{ "name": "wrong", "url": "http://127.0.0.1:PORT/webhooks/sw-in", "secret": { "secret": "WRONG_SECRET" }, "allow_private": true }"#,
        ])
        try harness.server.writeConfig(String(contentsOfFile: harness.server.configPath, encoding: .utf8).replacingOccurrences(of: "PORT", with: "\(harness.port)"))
        try harness.start()

        let id = try harness.emittedID("partners", payload: #"{"order":42,"total":"9.99"}"#)
        let delivered = try harness.waitForAttempts(id, count: 1, status: "processed")
        XCTAssertEqual(delivered["direction"], .string("outbound"))
        XCTAssertEqual(delivered["webhook"], .string("partners"))
        let attempt = try harness.attempts(id)[0]
        XCTAssertEqual(attempt["status_code"], .number(200), attempt.serialized())
        XCTAssertEqual(attempt["outcome"], .string("ok"))
        XCTAssertEqual(attempt["transport_error"], .null)
        XCTAssertNotNil(attempt["latency_ms"]?.scalarText)
        XCTAssertTrue(attempt["response_body"]?.stringValue?.contains("\"id\":\"whevt_") == true, attempt.serialized())
        // Our inbound verifier accepted it and recorded the same event id as the provider's.
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events WHERE webhook = 'sw-in' AND direction = 'inbound' AND provider_event_id = '\(id)' AND type = 'order.paid'"), 1)

        // A destination with another secret is refused by the same verifier: the check is real.
        let wrong = try harness.emittedID("wrong")
        let refused = try harness.waitForAttempts(wrong, count: 1)
        XCTAssertEqual(try harness.attempts(wrong)[0]["status_code"], .number(400), refused.serialized())
        XCTAssertEqual(refused["status"], .string("pending"), "a 400 is retried on the schedule")

        let mirrored = try harness.emittedID("mirror", payload: #"{"order":7}"#)
        _ = try harness.waitForAttempts(mirrored, count: 1, status: "processed")
        let request = try XCTUnwrap(mirror.received.first)
        XCTAssertEqual(request.header("webhook-id"), mirrored)
        let timestamp = try XCTUnwrap(request.header("webhook-timestamp").flatMap { Int64($0) })
        XCTAssertLessThan(abs(timestamp - Int64(Date().timeIntervalSince1970)), 30)
        let mac = HMAC.authenticate(.sha256, key: OutboundHarness.key, message: Array("\(mirrored).\(timestamp).".utf8) + request.body)
        XCTAssertEqual(request.header("webhook-signature"), "v1," + ByteEncoding.base64.encode(mac))
        let github = HMAC.authenticate(.sha256, key: Array(OutboundHarness.secret.utf8), message: request.body)
        XCTAssertEqual(request.header("x-hub-signature-256"), "sha256=" + ByteEncoding.hex.encode(github))
        XCTAssertEqual(request.header("x-tenant"), "acme")
        XCTAssertEqual(request.header("content-type"), "application/json")
        let body = try JSONParser.parse(request.body)
        XCTAssertEqual(body["type"], .string("order.paid"))
        XCTAssertEqual(body["data"], .object([("order", .number(7))]))
        XCTAssertNotNil(body["timestamp"]?.stringValue.flatMap(RFC3339Probe.parse))

        let listed = try harness.server.admin("GET", "/admin/events?direction=outbound").json
        guard case let .array(events)? = listed["events"] else { return XCTFail(listed.serialized()) }
        XCTAssertEqual(Set(events.compactMap { $0["id"]?.stringValue }), [id, wrong, mirrored])
    }

    func testReceiverFailingTwiceThenSucceedingRecordsThreeAttempts() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 500), ScriptedReceiver.Reply(status: 502)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "flaky", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1s", "1s", "1h"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("flaky")
        let event = try harness.waitForAttempts(id, count: 3, status: "processed")
        let attempts = try harness.attempts(id)
        XCTAssertEqual(attempts.map { $0["status_code"] }, [.number(500), .number(502), .number(200)], event.serialized())
        XCTAssertEqual(attempts.map { $0["outcome"] }, [.string("retry"), .string("retry"), .string("ok")])
        XCTAssertEqual(attempts[0]["response_body"], .string("scripted answer 500"))
        XCTAssertEqual(attempts[0]["response_headers"]?["Content-Type"], .string("text/plain"))
        XCTAssertEqual(attempts[0]["error"], .string("the receiver answered 500"))
        XCTAssertEqual(receiver.received.count, 3)
        XCTAssertEqual(Set(receiver.received.compactMap { $0.header("webhook-id") }), [id], "every retry carries the same webhook-id")
        let ok = #"layeron_outbound_attempts_total{destination="flaky",outcome="ok"} 1"#
        XCTAssertTrue(try harness.server.waitUntil { try harness.server.admin("GET", "/metrics").text.contains(ok) })
        let metrics = try harness.server.admin("GET", "/metrics").text
        for line in [#"layeron_outbound_attempts_total{destination="flaky",outcome="retry"} 2"#,
                     #"layeron_outbound_attempt_duration_seconds_count{destination="flaky"} 3"#,
                     #"layeron_outbound_emits_total{destination="flaky",result="recorded"} 1"#] {
            XCTAssertTrue(metrics.contains(line), "\(line) in\n\(metrics)")
        }
    }

    /// Deliveries to one destination reuse their connections (one libcurl multi handle, keep-alive):
    /// twenty deliveries at a concurrency of two open at most two connections, not twenty.
    func testDeliveriesReuseTheirConnections() throws {
        let receiver = try ScriptedReceiver(replies: [], keepAlive: true)
        harness = try OutboundHarness(destinations: [
            #"{ "name": "steady", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "concurrency": 2 }"#,
        ])
        try harness.start()
        let ids = try (0..<20).map { i in try harness.emittedID("steady", payload: #"{"order":\#(i)}"#) }
        for id in ids { _ = try harness.waitForAttempts(id, count: 1, status: "processed") }
        XCTAssertEqual(receiver.received.count, 20)
        XCTAssertLessThanOrEqual(receiver.connections, 2, "every delivery opened its own connection")
    }

    func testGoneDisablesTheDestinationUntilEnabled() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 410)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "gone", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1s"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("gone")
        _ = try harness.waitForAttempts(id, count: 1, status: "failed")
        XCTAssertEqual(try harness.attempts(id)[0]["status_code"], .number(410))
        XCTAssertEqual(try harness.attempts(id)[0]["outcome"], .string("error"))
        let listed = try harness.server.admin("GET", "/admin/outbound").json
        guard case let .array(destinations)? = listed["destinations"] else { return XCTFail(listed.serialized()) }
        let gone = try XCTUnwrap(destinations.first { $0["name"] == .string("gone") })
        XCTAssertEqual(gone["state"], .string("disabled"))
        XCTAssertTrue(gone["disabled_reason"]?.stringValue?.contains(id) == true, gone.serialized())

        let refused = try harness.emit("gone")
        XCTAssertEqual(refused.status, 409, refused.json.serialized())
        XCTAssertTrue(refused.json["error"]?.stringValue?.contains("POST /admin/outbound/gone/enable") == true)
        // The disabled state is in SQLite, not only in memory.
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM outbound_destinations WHERE name = 'gone' AND disabled_at IS NOT NULL"), 1)

        XCTAssertEqual(try harness.server.admin("POST", "/admin/outbound/gone/enable").status, 200)
        let again = try harness.emittedID("gone")
        _ = try harness.waitForAttempts(again, count: 1, status: "processed")
        XCTAssertEqual(receiver.received.count, 2)
    }

    /// A replay that meets a 410 disables the destination, but a failed replay leaves its event's
    /// status as it was: the first delivery did happen.
    func testAReplayAnsweredGoneDisablesTheDestinationAndKeepsTheEventProcessed() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 200), ScriptedReceiver.Reply(status: 410)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "gone", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("gone")
        _ = try harness.waitForAttempts(id, count: 1, status: "processed")
        XCTAssertEqual(try harness.server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202)
        let replayed = try harness.waitForAttempts(id, count: 2)
        XCTAssertEqual(replayed["status"], .string("processed"), replayed.serialized())
        XCTAssertEqual(try harness.attempts(id)[1]["status_code"], .number(410))
        XCTAssertEqual(try harness.emit("gone").status, 409, "the 410 disables the destination, replay or not")
    }

    /// A delivery still in flight when another event's 410 disables the destination finishes after
    /// the disable failed the pending events: it must not leave its own event pending.
    func testADeliveryInFlightWhenTheDestinationIsDisabledFailsItsEvent() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 500, delayMilliseconds: 800),
                                                      ScriptedReceiver.Reply(status: 410)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "fading", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1h"] } }"#,
        ])
        try harness.start()
        let slow = try harness.emittedID("fading", payload: #"{"order":1}"#)
        // The receiver answers in the order requests arrive: the 410 must go to the second one.
        XCTAssertTrue(harness.server.waitUntil { receiver.received.count == 1 })
        let gone = try harness.emittedID("fading", payload: #"{"order":2}"#)
        _ = try harness.waitForAttempts(gone, count: 1, status: "failed")
        let settled = try harness.waitForAttempts(slow, count: 1)
        XCTAssertEqual(try harness.attempts(slow)[0]["status_code"], .number(500), settled.serialized())
        XCTAssertEqual(settled["status"], .string("failed"), settled.serialized())
        XCTAssertEqual(settled["next_attempt_at"], .null)
        try assertClosedByTheDisable(try harness.attempts(slow)[0], gone: gone)
    }

    /// An event waiting for its next attempt when a 410 disables the destination fails, and its last
    /// attempt no longer says `retry`: it says that no attempt follows, and why.
    func testAPendingEventFailedByADisableSaysWhy() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 500), ScriptedReceiver.Reply(status: 410)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "fading", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1h"] } }"#,
        ])
        try harness.start()
        let waiting = try harness.emittedID("fading", payload: #"{"order":1}"#)
        _ = try harness.waitForAttempts(waiting, count: 1, status: "pending")
        let gone = try harness.emittedID("fading", payload: #"{"order":2}"#)
        _ = try harness.waitForAttempts(gone, count: 1, status: "failed")
        let event = try harness.server.admin("GET", "/admin/events/\(waiting)").json
        XCTAssertEqual(event["status"], .string("failed"), event.serialized())
        try assertClosedByTheDisable(try harness.attempts(waiting)[0], gone: gone)
    }

    private func assertClosedByTheDisable(_ attempt: JSONValue, gone: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(attempt["outcome"], .string("error"), attempt.serialized(), file: file, line: line)
        let error = try XCTUnwrap(attempt["error"]?.stringValue, file: file, line: line)
        XCTAssertTrue(error.hasPrefix("the receiver answered 500; no further attempt: the destination was disabled ("), error, file: file, line: line)
        XCTAssertTrue(error.contains(gone), "the note names the event the 410 answered: \(error)", file: file, line: line)
    }

    /// A replay asked for while the event is being delivered is sent once that delivery is recorded.
    func testAReplayDuringADeliveryIsSentAfterIt() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 200, delayMilliseconds: 1500)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "busy", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("busy")
        // The delivery is under way once the receiver has the request (it answers 1.5 s later).
        XCTAssertTrue(harness.server.waitUntil { receiver.received.count == 1 })
        let replay = try harness.server.admin("POST", "/admin/events/\(id)/replay")
        XCTAssertEqual(replay.status, 202, replay.text)
        let done = try harness.waitForAttempts(id, count: 2, status: "processed")
        XCTAssertEqual(try harness.attempts(id).map { $0["replay"] }, [.bool(false), .bool(true)], done.serialized())
        XCTAssertEqual(receiver.received.count, 2)
    }

    func testRetryAfterOn429And503IsHonoured() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 503, headers: [("Retry-After", "2")])])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "busy", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["0s"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("busy")
        _ = try harness.waitForAttempts(id, count: 2, status: "processed")
        let times = receiver.received.map(\.at)
        XCTAssertEqual(times.count, 2)
        XCTAssertGreaterThanOrEqual(times[1].timeIntervalSince(times[0]), 1.9, "the schedule said 0s; Retry-After said 2 s")
        XCTAssertTrue(try harness.attempts(id)[0]["error"]?.stringValue?.contains("Retry-After 2s") == true)
    }

    func testAttemptTimesOutAndRecordsTheTransportError() throws {
        let attempt = try timedOutAttempt(ScriptedReceiver.Reply(status: 200, delayMilliseconds: 6000))
        let latency = try XCTUnwrap(attempt["latency_ms"]?.scalarText.flatMap { Int($0) })
        // Well before the answer would have come: the timeout ended it, however late its timer ran.
        XCTAssertTrue((900...5000).contains(latency), "latency \(latency) ms for a 1 s timeout")
    }

    /// libcurl knows the status as soon as the status line arrives; a receiver that sends only that
    /// and hangs has not answered: the timeout is a transport error, not a 200.
    func testAStatusLineWhoseHeadersNeverEndTimesOut() throws {
        _ = try timedOutAttempt(ScriptedReceiver.Reply(status: 200, headersDelayMilliseconds: 4000))
    }

    /// Sends one event to a receiver answering `reply` with a 1 s timeout, checks that its attempt
    /// timed out (pending, `retry`, no status, libcurl's timeout as the transport error) and returns it.
    private func timedOutAttempt(_ reply: ScriptedReceiver.Reply, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let receiver = try ScriptedReceiver(replies: [reply])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "slow", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "timeout": "1s", "retry": { "schedule": ["1h"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("slow")
        let event = try harness.waitForAttempts(id, count: 1)
        let attempt = try harness.attempts(id)[0]
        XCTAssertEqual(event["status"], .string("pending"), event.serialized(), file: file, line: line)
        XCTAssertEqual(attempt["status_code"], .null, attempt.serialized(), file: file, line: line)
        XCTAssertEqual(attempt["outcome"], .string("retry"), file: file, line: line)
        XCTAssertTrue(attempt["transport_error"]?.stringValue?.lowercased().contains("timeout") == true, attempt.serialized(), file: file, line: line)
        return attempt
    }

    /// A 2xx whose body comes slower than the timeout was accepted by the receiver: it is a delivery,
    /// not a transport error to send again.
    func testA2xxWhoseBodyOutlastsTheTimeoutIsDelivered() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 200, bodyDelayMilliseconds: 2500)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "trickle", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "timeout": "1s", "retry": { "schedule": ["1s"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("trickle")
        let done = try harness.waitForAttempts(id, count: 1, status: "processed")
        let attempt = try harness.attempts(id)[0]
        XCTAssertEqual(attempt["status_code"], .number(200), done.serialized())
        XCTAssertEqual(attempt["transport_error"], .null, attempt.serialized())
        usleep(1_500_000)
        XCTAssertEqual(receiver.received.count, 1, "the accepted event was sent again")
    }

    /// A credential header from a secret reference: sent with each delivery, never stored or shown.
    func testAHeaderFromASecretIsSentButNeverRecorded() throws {
        let token = "Bearer partner-token-\(UUID().uuidString)"
        let receiver = try ScriptedReceiver(replies: [])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "keyed", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "headers": { "Authorization": { "secret": "PARTNER_TOKEN" }, "X-Tenant": "acme" } }"#,
        ])
        harness.server.environment["PARTNER_TOKEN"] = token
        try harness.start()
        let id = try harness.emittedID("keyed")
        let done = try harness.waitForAttempts(id, count: 1, status: "processed")
        XCTAssertEqual(receiver.received.first?.header("Authorization"), token)
        XCTAssertEqual(receiver.received.first?.header("X-Tenant"), "acme")
        XCTAssertEqual(done["headers"]?["Authorization"], .string("<redacted>"), done.serialized())
        XCTAssertEqual(done["headers"]?["X-Tenant"], .string("acme"))
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM event_payloads WHERE headers LIKE '%partner-token%'"), 0)
        XCTAssertFalse(harness.server.logs.contains("partner-token"), "the token reached the log")
    }

    /// A receiver that echoes the request's credential back (a debug receiver, an error page): the
    /// recorded answer, in the admin API and in the store, holds `<redacted>` where the value was.
    func testASecretHeaderEchoedInTheAnswerIsRedactedWhereTheAnswerIsRecorded() throws {
        let credential = "partner-token-\(UUID().uuidString)"
        let receiver = try ScriptedReceiver(replies: [], then: .init(status: 500, echoedHeader: "Authorization"))
        harness = try OutboundHarness(destinations: [
            #"{ "name": "echoing", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "headers": { "Authorization": { "secret": "PARTNER_TOKEN" } } }"#,
        ])
        harness.server.environment["PARTNER_TOKEN"] = "Bearer " + credential
        try harness.start()
        let id = try harness.emittedID("echoing")
        let event = try harness.waitForAttempts(id, count: 1)
        XCTAssertEqual(receiver.received.first?.header("Authorization"), "Bearer " + credential)
        let attempt = try harness.attempts(id)[0]
        XCTAssertEqual(attempt["status_code"], .number(500), attempt.serialized())
        XCTAssertEqual(attempt["response_headers"]?["X-Echoed-Authorization"], .string("<redacted>"), attempt.serialized())
        XCTAssertEqual(attempt["response_body"], .string("scripted answer 500; you sent Authorization: <redacted>"), attempt.serialized())
        XCTAssertFalse(event.serialized().contains(credential), event.serialized())
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertGreaterThanOrEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE instr(response_body, CAST('<redacted>' AS BLOB)) > 0"), 1)
        XCTAssertEqual(try store.count("""
            SELECT COUNT(*) FROM attempts
            WHERE instr(response_headers, 'partner-token') > 0 OR instr(response_body, CAST('partner-token' AS BLOB)) > 0
            """), 0)
    }

    func testPrivateAddressesAreRefusedAtConnectTimeWithoutAllowPrivate() throws {
        let receiver = try ScriptedReceiver(replies: [])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "literal", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" } }"#,
            #"{ "name": "named", "url": "http://localhost:\#(receiver.port)/hook", "secret": { "secret": "SW_SECRET" } }"#,
        ])
        try harness.start()
        for destination in ["literal", "named"] {
            let id = try harness.emittedID(destination)
            _ = try harness.waitForAttempts(id, count: 1)
            let attempt = try harness.attempts(id)[0]
            XCTAssertEqual(attempt["status_code"], .null, destination)
            let error = attempt["transport_error"]?.stringValue ?? ""
            XCTAssertTrue(error.contains("loopback") && error.contains("allow_private"), "\(destination): \(attempt.serialized())")
        }
        XCTAssertEqual(receiver.received.count, 0, "no byte may reach a refused address")
        XCTAssertEqual(receiver.connections, 0, "a refused address is not even connected to")
    }

    /// Every destination shares libcurl's connection cache: a connection an `allow_private`
    /// destination opened to loopback must not carry a guarded destination's delivery there.
    func testAGuardedDestinationDoesNotReuseAPrivateDestinationsConnection() throws {
        let receiver = try ScriptedReceiver(replies: [], keepAlive: true)
        harness = try OutboundHarness(destinations: [
            #"{ "name": "internal", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
            #"{ "name": "public", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "retry": { "schedule": ["1h"] } }"#,
        ])
        try harness.start()
        let inside = try harness.emittedID("internal")
        _ = try harness.waitForAttempts(inside, count: 1, status: "processed")
        XCTAssertEqual(receiver.received.count, 1)
        let outside = try harness.emittedID("public")
        _ = try harness.waitForAttempts(outside, count: 1)
        let attempt = try harness.attempts(outside)[0]
        XCTAssertEqual(attempt["status_code"], .null, attempt.serialized())
        let error = attempt["transport_error"]?.stringValue ?? ""
        XCTAssertTrue(error.contains("loopback") && error.contains("allow_private"), attempt.serialized())
        XCTAssertEqual(receiver.received.count, 1, "the guarded delivery reached the receiver over the cached connection")
    }

    /// An admin emit re-serialises its payload: every number is sent as the caller wrote it, those
    /// past a Double's range (1e400, 1e-400) and past 2^53 included.
    func testAnAdminEmitSendsEveryNumberAsWritten() throws {
        let mirror = try ScriptedReceiver(replies: [])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "mirror", "url": "\#(mirror.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        let payload = #"{"huge":1e400,"negative":-1E+400,"tiny":1e-400,"digits":1000000000000000000000000000000000000000,"#
            + #""order_id":1234567890123456789,"n":9007199254740993,"ts":1000000000000000,"price":1.50,"rate":2.5e-3,"list":[-0.0,1E2]}"#
        let id = try harness.emittedID("mirror", payload: payload)
        _ = try harness.waitForAttempts(id, count: 1, status: "processed")
        let body = String(decoding: try XCTUnwrap(mirror.received.first).body, as: UTF8.self)
        XCTAssertTrue(body.hasSuffix(#","data":"# + payload + "}"), body)
    }

    func testIdempotencyKeyReturnsTheFirstEvent() throws {
        harness = try OutboundHarness()
        try harness.start()
        let first = try harness.emit("partners", payload: #"{"order":1}"#, key: "order-1-paid")
        XCTAssertEqual(first.status, 202)
        XCTAssertEqual(first.json["duplicate"], .bool(false))
        let second = try harness.emit("partners", payload: #"{"order":1,"again":true}"#, key: "order-1-paid")
        XCTAssertEqual(second.status, 202)
        XCTAssertEqual(second.json["duplicate"], .bool(true))
        XCTAssertEqual(second.json["event"]?["id"], first.json["event"]?["id"])
        let other = try harness.emit("partners", key: "order-2-paid")
        XCTAssertNotEqual(other.json["event"]?["id"], first.json["event"]?["id"])
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events WHERE direction = 'outbound' AND dedupe_key = 'order-1-paid'"), 1)
        let id = try XCTUnwrap(first.json["event"]?["id"]?.stringValue)
        _ = try harness.waitForAttempts(id, count: 1, status: "processed")
        XCTAssertEqual(try harness.attempts(id).count, 1)

        XCTAssertEqual(try harness.emit("nosuch").status, 404)
        XCTAssertEqual(try harness.emit("partners", type: "").status, 400)
        XCTAssertEqual(try harness.emit("partners", payload: "[").status, 400)
        // The empty type is refused by the destination's rules; the broken body never names a payload.
        let metrics = try harness.server.admin("GET", "/metrics").text
        for line in [#"layeron_outbound_emits_total{destination="partners",result="recorded"} 2"#,
                     #"layeron_outbound_emits_total{destination="partners",result="duplicate"} 1"#,
                     #"layeron_outbound_emits_total{destination="partners",result="refused"} 1"#] {
            XCTAssertTrue(metrics.contains(line), "\(line) in\n\(metrics)")
        }
        XCTAssertFalse(metrics.contains("nosuch"), "a name from the request is never a label")
    }
}

/// RFC 3339 as the envelope writes it.
enum RFC3339Probe {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
