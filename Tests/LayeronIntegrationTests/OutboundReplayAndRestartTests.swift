import Foundation
import LayeronCore
import XCTest

/// Outbound replays through the delivery path, retries that survive a restart, and a plugin that
/// emits while it handles an inbound event.
final class OutboundReplayAndRestartTests: XCTestCase {
    private var harness: OutboundHarness!

    override func tearDown() {
        harness?.server.stop()
        harness = nil
    }

    func testReplayResendsThroughTheDeliveryPathAndIsRecorded() throws {
        harness = try OutboundHarness()
        try harness.start()
        let id = try harness.emittedID("partners")
        _ = try harness.waitForAttempts(id, count: 1, status: "processed")

        let unforced = try harness.server.admin("POST", "/admin/events/\(id)/replay")
        XCTAssertEqual(unforced.status, 409, unforced.text)
        XCTAssertTrue(unforced.text.contains("force=true"))
        XCTAssertEqual(try harness.server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202)
        _ = try harness.waitForAttempts(id, count: 2, status: "processed")
        let attempts = try harness.attempts(id)
        XCTAssertEqual(attempts.map { $0["replay"] }, [.bool(false), .bool(true)])
        XCTAssertEqual(attempts[1]["status_code"], .number(200))
        // The replay reached our inbound endpoint with the same webhook-id: folded into the first as a duplicate.
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.rows("SELECT duplicates FROM events WHERE webhook = 'sw-in' AND provider_event_id = '\(id)'").first?.first, "1")

        // Bulk replay of outbound events goes the same way.
        let bulk = try HTTPClientShortcut.post(harness.server.adminURL + "/admin/events/replay", token: harness.server.adminToken,
                                               body: Array(#"{"direction":"outbound","force":true}"#.utf8))
        XCTAssertEqual(bulk.json["queued"], .number(1), bulk.text)
        _ = try harness.waitForAttempts(id, count: 3, status: "processed")
        XCTAssertEqual(try harness.attempts(id)[2]["replay"], .bool(true))
        // Inbound dispatch never ran the outbound event: no inbound handler attempt exists for it.
        XCTAssertTrue(try harness.attempts(id).allSatisfy { $0["plugin"] == .null })
    }

    func testRetriesResumeAfterARestart() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 503)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "later", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["3s"] } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("later")
        let first = try harness.waitForAttempts(id, count: 1)
        XCTAssertEqual(first["status"], .string("pending"))
        XCTAssertNotEqual(first["next_attempt_at"], .null)
        harness.server.kill()
        XCTAssertEqual(receiver.received.count, 1)

        try harness.start()
        let done = try harness.waitForAttempts(id, count: 2, status: "processed")
        let attempts = try harness.attempts(id)
        XCTAssertEqual(attempts.map { $0["status_code"] }, [.number(503), .number(200)], done.serialized())
        XCTAssertEqual(receiver.received.count, 2)
        XCTAssertGreaterThanOrEqual(receiver.received[1].at.timeIntervalSince(receiver.received[0].at), 2.9, "the schedule's wait is kept across the restart")
    }

    /// A delivery that a stop (graceful, then a crash) cuts off cannot have crashed the server: it is
    /// sent again at start in its own place in the schedule, so the schedule's last attempt still runs.
    func testADeliveryCutOffByAStopKeepsItsPlaceInTheSchedule() throws {
        let receivers = try (0..<2).map { _ in
            try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 500), ScriptedReceiver.Reply(status: 200, delayMilliseconds: 3_000)],
                                 then: ScriptedReceiver.Reply(status: 500))
        }
        harness = try OutboundHarness(destinations: receivers.enumerated().map { i, receiver in
            #"{ "name": "cut\#(i)", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1s"] } }"#
        })
        try harness.start()
        let cuts: [() -> Void] = [{ self.harness.server.stop() }, { self.harness.server.kill() }]
        for (i, cut) in cuts.enumerated() {
            let id = try harness.emittedID("cut\(i)")
            // Cut off once the second attempt is both sent and recorded as started.
            XCTAssertTrue(try harness.server.waitUntil { try receivers[i].received.count == 2 && harness.attempts(id).count == 2 },
                          harness.server.logs)
            cut()
            try harness.start()
            let event = try harness.waitForAttempts(id, count: 3, status: "failed")
            let attempts = try harness.attempts(id)
            XCTAssertEqual(attempts.map { $0["outcome"] }, [.string("retry"), .string("retry"), .string("error")], event.serialized())
            XCTAssertTrue(attempts[1]["error"]?.stringValue?.hasPrefix("interrupted: ") == true, event.serialized())
            XCTAssertEqual(attempts[2]["error"], .string("the receiver answered 500 (attempt 2 of 2, the last)"), event.serialized())
            XCTAssertEqual(receivers[i].received.count, 3)
        }
        XCTAssertTrue(harness.server.logs.contains("1 outbound delivery(ies) were cut off by the last stop"), harness.server.logs)
    }

    /// A replay of a delivered event that a stop (graceful, then a crash) cuts off is not sent again by
    /// anything: its attempt says so, and the event stays processed with no next attempt.
    func testAReplayCutOffByAStopEndsThereAndSaysSo() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 200)],
                                            then: ScriptedReceiver.Reply(status: 200, delayMilliseconds: 3_000))
        harness = try OutboundHarness(destinations: [
            #"{ "name": "slowok", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("slowok")
        _ = try harness.waitForAttempts(id, count: 1, status: "processed")
        let ended = "interrupted: the server stopped while this replay ran; replay the event again if it is still wanted"

        for (cut, n) in [({ self.harness.server.stop() }, 2), ({ self.harness.server.kill() }, 3)] {
            XCTAssertEqual(try harness.server.admin("POST", "/admin/events/\(id)/replay?force=true").status, 202)
            // Cut off once the replay is both sent and recorded as started: its start record is queued
            // for the writer as the request goes out, so a kill as the receiver sees it may beat the commit.
            XCTAssertTrue(try harness.server.waitUntil { try receiver.received.count == n && harness.attempts(id).count == n },
                          harness.server.logs)
            cut()
            try harness.start()
            let event = try harness.waitForAttempts(id, count: n)
            let attempt = try harness.attempts(id)[n - 1]
            XCTAssertEqual(attempt["replay"], .bool(true))
            XCTAssertEqual(attempt["outcome"], .string("error"), event.serialized())
            XCTAssertEqual(attempt["error"], .string(ended), event.serialized())
            XCTAssertEqual(event["status"], .string("processed"))
            XCTAssertEqual(event["next_attempt_at"], .null, event.serialized())
        }
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(try harness.attempts(id).count, 3, "nothing runs the replay again")
        XCTAssertEqual(receiver.received.count, 3)
    }

    /// Replays answered 202 while their event is being delivered, then a crash: each is sent once
    /// after the restart, recorded as its own replay attempt.
    func testReplaysAcknowledgedBeforeASIGKILLAreEachSentAfterTheRestart() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 200, delayMilliseconds: 2_000)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "slowfirst", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("slowfirst")
        XCTAssertTrue(harness.server.waitUntil(timeout: 10) { receiver.received.count == 1 }, harness.server.logs)
        for _ in 0..<2 { XCTAssertEqual(try harness.server.admin("POST", "/admin/events/\(id)/replay").status, 202) }
        harness.server.kill()

        try harness.start()
        let store = try StoreReader(path: harness.server.databasePath)
        let sent = try harness.server.waitUntil(timeout: 15) {
            try store.count("SELECT COUNT(*) FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.id = '\(id)' AND a.replay = 1 AND a.outcome = 'ok'") == 2
        }
        let event = try harness.event(id)
        XCTAssertTrue(sent, event.serialized())
        Thread.sleep(forTimeInterval: 1)
        let replays = try harness.attempts(id).filter { $0["replay"] == .bool(true) }
        XCTAssertEqual(replays.count, 2, JSONValue.array(replays).serialized())
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM replay_requests"), 0)
    }

    private let shopSecret = "vendor-relay-secret"

    /// A server whose "shop" webhook is handled by the emitter fixture, whose `relay` emits each
    /// event's body to "partners".
    private func startRelay(handler: String = "relay", topLevel: String = "") throws {
        harness = try OutboundHarness(webhooks: """
            ,
                { "name": "shop", "provider": "custom", "path": "/webhooks/shop", "handler": "emitter.\(handler)",
                  "signature": { "header": "x-shop-signature", "algorithm": "hmac-sha256", "encoding": "hex",
                                 "secret": { "secret": "SHOP_SECRET" }, "signedPayload": "rawBody" } }
            """, topLevel: topLevel)
        harness.server.environment["SHOP_SECRET"] = shopSecret
        try PluginBuilder.install(source: PluginBuilder.fixturePath("emitter"), into: harness.server.pluginsDir, name: "emitter.so")
        try harness.start()
    }

    /// Posts `body` to "shop", signed; returns the inbound event's id.
    private func relay(_ body: [UInt8]) throws -> String {
        let answer = try harness.server.post("/webhooks/shop", headers: [("x-shop-signature", Signing.hmacHex(body: body, secret: shopSecret))], body: body)
        XCTAssertEqual(answer.status, 200, answer.body)
        return try XCTUnwrap(try JSONParser.parse(Array(answer.body.utf8))["id"]?.stringValue, answer.body)
    }

    func testPluginEmitsWhileHandlingAnInboundEvent() throws {
        try startRelay()
        let inboundID = try relay(Array(#"{"type":"payment.succeeded","amount":1200}"#.utf8))

        var outboundID: String?
        XCTAssertTrue(try harness.server.waitUntil {
            let listed = try harness.server.admin("GET", "/admin/events?direction=outbound").json
            guard case let .array(events)? = listed["events"], let first = events.first else { return false }
            outboundID = first["id"]?.stringValue
            return first["dedupe_key"] == .string(inboundID) && first["status"] == .string("processed")
        }, harness.server.logs.suffix(3000).description)
        let id = try XCTUnwrap(outboundID)
        let outbound = try harness.event(id)
        XCTAssertEqual(outbound["type"], .string("order.paid"))
        XCTAssertEqual(try JSONParser.parse(Array(outbound["body"]?.stringValue?.utf8 ?? "".utf8))["data"]?["amount"], .number(1200))
        let inbound = try harness.event(inboundID)
        XCTAssertEqual(inbound["status"], .string("processed"), inbound.serialized())
        // And our own inbound endpoint verified the relayed delivery.
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events WHERE webhook = 'sw-in' AND provider_event_id = '\(id)'"), 1)
    }

    /// A plugin's emit has no request limit in front of it: a payload over 1 MiB is refused
    /// (LAYERON_INVALID, the reason in the log), not stored and delivered.
    func testAPluginEmitOverTheSizeLimitIsRefused() throws {
        try startRelay(topLevel: #" "limits": { "maxBodyBytes": 3000000 },"#)
        let inboundID = try relay(Array(("{\"type\":\"bulk\",\"blob\":\"" + String(repeating: "x", count: 1_100_000) + "\"}").utf8))
        XCTAssertTrue(try harness.server.waitUntil { try harness.event(inboundID)["status"] == .string("failed") }, harness.server.logs.suffix(2000).description)
        XCTAssertEqual(try harness.attempts(inboundID).first?["error"], .string("emit refused"))
        XCTAssertTrue(harness.server.logs.contains("the limit is 1048576 (1 MiB)"), harness.server.logs.suffix(2000).description)
        let outbound = try harness.server.admin("GET", "/admin/events?direction=outbound").json
        XCTAssertEqual(outbound["events"], .array([]), outbound.serialized())
    }

    /// The parse of a plugin's payload steps over a leading byte order mark; the envelope must not
    /// keep it, or every delivery's body is not JSON.
    func testAPluginPayloadWithAByteOrderMarkIsDeliveredWithoutIt() throws {
        try startRelay()
        let inboundID = try relay([0xEF, 0xBB, 0xBF] + Array(#"{"bom":1}"#.utf8))
        var outbound: JSONValue = .null
        XCTAssertTrue(try harness.server.waitUntil {
            let listed = try harness.server.admin("GET", "/admin/events?direction=outbound").json
            guard case let .array(events)? = listed["events"], let first = events.first else { return false }
            outbound = first
            return first["dedupe_key"] == .string(inboundID) && first["status"] == .string("processed")
        }, "\(outbound.serialized())\n\(harness.server.logs.suffix(3000))")
        let id = try XCTUnwrap(outbound["id"]?.stringValue)
        let body = try JSONParser.parse(Array(try harness.event(id)["body"]?.stringValue?.utf8 ?? "".utf8))
        XCTAssertEqual(body["data"], .object([("bom", .number(1))]))
    }

    /// A type or idempotency key that is not UTF-8 is refused, not decoded with replacement: keys
    /// differing only in their invalid bytes would become one, and the second event would be dropped
    /// as a duplicate after emit answered LAYERON_OK.
    func testAPluginEmitWithATypeOrKeyThatIsNotUTF8IsRefused() throws {
        try startRelay(handler: "invalid_utf8")
        let inboundID = try relay(Array(#"{"type":"payment.succeeded"}"#.utf8))
        XCTAssertTrue(try harness.server.waitUntil { try harness.event(inboundID)["status"] == .string("failed") }, harness.server.logs.suffix(2000).description)
        XCTAssertEqual(try harness.attempts(inboundID).first?["error"], .string("type invalid, key invalid"))
        XCTAssertTrue(harness.server.waitUntil(timeout: 5) {
            harness.server.logs.contains("emit refused: the type is not valid UTF-8")
                && harness.server.logs.contains("emit refused: the idempotency key is not valid UTF-8")
        }, harness.server.logs.suffix(2000).description)
        let outbound = try harness.server.admin("GET", "/admin/events?direction=outbound").json
        XCTAssertEqual(outbound["events"], .array([]), outbound.serialized())
    }
}
