import Foundation
import LayeronCore
import XCTest

/// The walking skeleton end to end: a signed Stripe event through the real binary, a C plugin built
/// here with cc, the SQLite file and the admin API.
final class StripeEndToEndTests: XCTestCase {
    let secret = "whsec_integration_secret"
    var server: TestServer!
    var billingLog: String { server.path("billing.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(billingLog)" } } },
              "webhooks": [
                { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                  "on": { "checkout.session.completed": "billing.fulfill_checkout", "invoice.paid": "billing.mark_invoice_paid" } }
              ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func billingLines() -> [String] {
        ((try? String(contentsOfFile: billingLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testSignedEventIsRecordedHandledListedAndReplayed() throws {
        let body = Array(#"{"id":"evt_e2e_1","type":"checkout.session.completed","data":{"object":{}}}"#.utf8)
        let response = try server.post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: secret))], body: body)
        XCTAssertEqual(response.status, 200, response.body)
        let id = try XCTUnwrap(try JSONParser.parse(response.body)["id"]?.stringValue)
        XCTAssertTrue(EventID.isWellFormed(id), id)

        XCTAssertTrue(try server.waitUntil {
            let list = try server.admin("GET", "/admin/events")
            return list.json["events"].flatMap { if case let .array(a) = $0 { a.first } else { nil } }?["status"]?.stringValue == "processed"
        }, server.logs)
        let list = try server.admin("GET", "/admin/events?direction=inbound&limit=25")
        guard case let .array(events)? = list.json["events"] else { return XCTFail(list.text) }
        XCTAssertEqual(events.count, 1)
        XCTAssertEqual(events[0]["id"]?.stringValue, id)
        XCTAssertEqual(events[0]["type"]?.stringValue, "checkout.session.completed")
        XCTAssertEqual(events[0]["provider_event_id"]?.stringValue, "evt_e2e_1")

        XCTAssertEqual(billingLines().count, 1)
        XCTAssertTrue(billingLines()[0].hasPrefix("fulfill_checkout \(id) checkout.session.completed"), billingLines()[0])

        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events"), 1)
        let row = try store.rows("SELECT e.status, p.body, typeof(p.headers), json_valid(p.headers) FROM events e JOIN event_payloads p ON p.seq = e.seq").first
        XCTAssertEqual(row?[0], "processed")
        XCTAssertEqual(row?[1], String(decoding: body, as: UTF8.self), "the stored body is not the one sent")
        XCTAssertEqual(row?[2], "text", "headers are stored as JSON text")
        XCTAssertEqual(row?[3], "1")

        let replay = try server.admin("POST", "/admin/events/\(id)/replay?force=true")
        XCTAssertEqual(replay.status, 202, replay.text)
        XCTAssertEqual(replay.json["event"]?["id"]?.stringValue, id)
        XCTAssertTrue(try server.waitUntil {
            if case let .array(attempts)? = try server.admin("GET", "/admin/events/\(id)").json["attempts"] {
                return attempts.count == 2 && attempts[1]["outcome"]?.stringValue == "ok"
            }
            return false
        })
        let detail = try server.admin("GET", "/admin/events/\(id)")
        guard case let .array(attempts)? = detail.json["attempts"] else { return XCTFail(detail.text) }
        XCTAssertEqual(attempts[0]["replay"], .bool(false))
        XCTAssertEqual(attempts[1]["replay"], .bool(true))
        XCTAssertEqual(attempts[1]["plugin"]?.stringValue, "billing")
        XCTAssertEqual(detail.json["body"]?.stringValue, String(decoding: body, as: UTF8.self))
        XCTAssertEqual(detail.json["headers"]?["stripe-signature"]?.stringValue?.hasPrefix("t="), true)
        XCTAssertEqual(billingLines().count, 2)
        XCTAssertTrue(billingLines()[1].hasSuffix("attempt=2 replay=1"), billingLines()[1])
    }

    func testBadSignatureIsRefusedAndNothingIsRecordedOrRun() throws {
        let body = Array(#"{"id":"evt_bad","type":"invoice.paid"}"#.utf8)
        let wrong = Signing.stripeHeader(body: body, secret: "whsec_wrong")
        let response = try server.post("/webhooks/stripe", headers: [("Stripe-Signature", wrong)], body: body)
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(response.body.contains("no signature matches"), response.body)
        XCTAssertFalse(response.body.contains(secret))

        let missing = try server.post("/webhooks/stripe", body: body)
        XCTAssertEqual(missing.status, 400)

        let stale = try server.post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: secret, timestamp: Int64(Date().timeIntervalSince1970) - 1000))], body: body)
        XCTAssertEqual(stale.status, 400)
        XCTAssertTrue(stale.body.contains("timestamp outside tolerance"), stale.body)

        usleep(300_000)
        XCTAssertEqual(try StoreReader(path: server.databasePath).count("SELECT COUNT(*) FROM events"), 0)
        XCTAssertTrue(billingLines().isEmpty)
        let list = try server.admin("GET", "/admin/events")
        XCTAssertEqual(list.json["events"], .array([]))
    }

    func testRoutingErrorsAndLimits() throws {
        XCTAssertEqual(try server.post("/webhooks/nope", body: Array("{}".utf8)).status, 404)
        let get: Int = try HTTPClientShortcut.get(server.publicURL + "/webhooks/stripe")
        XCTAssertEqual(get, 405)
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 10)
        XCTAssertEqual(try server.post("/webhooks/stripe", headers: [("Stripe-Signature", "t=1,v1=00")], body: big).status, 413)
        // Request headers live in libmicrohttpd's 16 KB connection pool (docs/operations.md): 12 KB
        // of them pass, 20 KB are refused with 431 before any handler sees the request.
        let header = { (count: Int) in [("X-Padding", String(repeating: "h", count: count))] }
        XCTAssertEqual(try server.post("/webhooks/nope", headers: header(12_000), body: Array("{}".utf8)).status, 404)
        XCTAssertEqual(try server.post("/webhooks/nope", headers: header(20_000), body: Array("{}".utf8)).status, 431)
    }

    func testAdminNeedsTheToken() throws {
        XCTAssertEqual(try server.admin("GET", "/admin/events", authorized: false).status, 401)
        XCTAssertEqual(try server.admin("GET", "/admin/events", token: "wrong").status, 401)
        XCTAssertEqual(try server.admin("GET", "/healthz", authorized: false).status, 200)
        XCTAssertEqual(try server.admin("GET", "/admin/events/whevt_00000000000000000000000000").status, 404)
    }
}
