import Foundation
import LayeronCore
import XCTest

/// A whole scenario (set, serve, good and bad deliveries, replay, rotation, SIGHUP, every admin route,
/// every CLI command that talks about secrets), then a search of every log line, admin response,
/// metrics page and command output for each secret value. None may appear.
final class SecretsRedactionTests: XCTestCase {
    let stripeValue = "whsec_redaction_stripe_value_one"
    let rotatedValue = "whsec_redaction_stripe_value_two"
    let vendorValue = "vendor_redaction_value_three"
    let adminValue = "admin_redaction_token_four"
    /// A token scheme: the request's header carries this value itself.
    let gitlabValue = "gitlab_redaction_token_five"
    var seen: [(what: String, text: String)] = []

    private func record(_ what: String, _ text: String) { seen.append((what, text)) }

    private func record(_ what: String, _ run: CommandRun) {
        record(what, run.stdout + run.stderr)
    }

    func testNoSecretValueAppearsInLogsAdminResponsesMetricsOrCommandOutput() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        server.setsAdminToken = false
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try PluginBuilder.install(source: PluginBuilder.examplePath("vendor"), into: server.pluginsDir, name: "vendor.so")
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(server.path("billing.log"))" } } },
              "webhooks": [
                { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                  "on": { "checkout.session.completed": "billing.fulfill_checkout" } },
                { "name": "vendor", "provider": "custom", "path": "/webhooks/vendor",
                  "signature": { "header": "x-vendor-signature", "algorithm": "hmac-sha256", "encoding": "hex",
                                 "secret": { "secret": "VENDOR_WEBHOOK_SECRET" }, "signedPayload": "rawBody" },
                  "dedupe": { "key": "body.event_id", "ttl": "7d" }, "handler": "vendor.process" },
                { "name": "gitlab", "provider": "gitlab", "secret": { "secret": "GITLAB_WEBHOOK_TOKEN" } }
              ]
            }
            """)
        for (name, value) in [("STRIPE_WEBHOOK_SECRET", stripeValue), ("VENDOR_WEBHOOK_SECRET", vendorValue), ("LAYERON_ADMIN_TOKEN", adminValue),
                              ("GITLAB_WEBHOOK_TOKEN", gitlabValue)] {
            let run = try server.secrets(["set", name], stdin: value + "\n")
            XCTAssertEqual(run.status, 0, run.stderr)
            record("secrets set \(name)", run)
        }
        try server.start()
        defer { server.stop() }
        record("serve stdout", server.output)

        // Deliveries: valid, wrongly signed, unsigned, a duplicate, the custom scheme.
        let body = Array(#"{"id":"evt_redact_1","type":"checkout.session.completed","data":{"object":{}}}"#.utf8)
        let good = try server.post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: stripeValue))], body: body)
        XCTAssertEqual(good.status, 200, good.body)
        record("stripe good", good.body)
        record("stripe duplicate", try server.post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: stripeValue))], body: body).body)
        let bad = try server.post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: "whsec_wrong"))], body: body)
        XCTAssertEqual(bad.status, 400)
        record("stripe bad", bad.body)
        record("stripe unsigned", try server.post("/webhooks/stripe", body: body).body)
        let vendorBody = Array(#"{"event_id":"v1","type":"order.created"}"#.utf8)
        let vendor = try server.post("/webhooks/vendor", headers: [("x-vendor-signature", Signing.hmacHex(body: vendorBody, secret: vendorValue))], body: vendorBody)
        XCTAssertEqual(vendor.status, 200, vendor.body)
        record("vendor good", vendor.body)
        record("vendor bad", try server.post("/webhooks/vendor", headers: [("x-vendor-signature", "00")], body: vendorBody).body)
        let gitlab = try server.post("/webhooks/gitlab", headers: [("X-Gitlab-Token", gitlabValue), ("X-Gitlab-Event", "Push Hook")],
                                     body: Array(#"{"object_kind":"push"}"#.utf8))
        XCTAssertEqual(gitlab.status, 200, gitlab.body)
        let gitlabID = try XCTUnwrap(try JSONParser.parse(Array(gitlab.body.utf8))["id"]?.stringValue)
        let gitlabEvent = try server.admin("GET", "/admin/events/\(gitlabID)", token: adminValue)
        XCTAssertTrue(gitlabEvent.text.contains("x-gitlab-token"), "the header is listed, its value redacted: \(gitlabEvent.text)")
        record("admin GET the gitlab event", gitlabEvent.text)

        // Every admin route, with the right token, a wrong one and none.
        let goodID = try XCTUnwrap(try JSONParser.parse(Array(good.body.utf8))["id"]?.stringValue)
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/admin/events/\(goodID)", token: adminValue).json["status"]?.stringValue == "processed" })
        for (method, path) in [("GET", "/admin/events"), ("GET", "/admin/events?webhook=stripe&limit=1"), ("GET", "/admin/events/\(goodID)"),
                               ("POST", "/admin/events/\(goodID)/replay"), ("GET", "/admin/plugins"), ("GET", "/metrics"),
                               ("GET", "/healthz"), ("GET", "/admin/nope"), ("GET", "/admin/events/whevt_00000000000000000000000000")] {
            record("admin \(method) \(path)", try server.admin(method, path, token: adminValue).text)
        }
        XCTAssertEqual(try server.admin("GET", "/admin/events", token: adminValue).status, 200)
        let wrong = try server.admin("GET", "/admin/events", token: "wrong")
        XCTAssertEqual(wrong.status, 401)
        record("admin wrong token", wrong.text)
        record("admin no token", try server.admin("GET", "/metrics", authorized: false).text)

        // Rotation and a SIGHUP reload while running.
        let rotate = try server.secrets(["rotate", "STRIPE_WEBHOOK_SECRET", "--grace", "1h"], stdin: rotatedValue)
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        record("secrets rotate", rotate)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: rotatedValue) == 200 })
        XCTAssertEqual(try server.stripeStatus(signedWith: stripeValue), 200, "the old value verifies during the grace")
        let reloads = server.logs.components(separatedBy: "config reloaded").count
        server.hangUp()
        XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "config reloaded").count > reloads })
        XCTAssertEqual(try server.stripeStatus(signedWith: "whsec_wrong"), 400)
        record("metrics after rotation", try server.admin("GET", "/metrics", token: adminValue).text)

        // The CLI: listing, the admin commands (token found in the store), check, verify, mistakes.
        let cli: (String, [String], String?) -> Void = { what, words, stdin in
            if let run = try? CommandRun.layeron(words, stdin: stdin, removing: secretVariables, directory: server.directory.path) {
                self.record(what, run)
            } else {
                XCTFail("\(what) did not run")
            }
        }
        let store = ["--config", server.configPath, "--database", server.databasePath]
        cli("secrets list", ["secrets", "list"] + store, nil)
        cli("secrets list --json", ["secrets", "list", "--json"] + store, nil)
        cli("secrets get missing", ["secrets", "get", "NOT_SET"] + store, nil)
        cli("secrets set with a value in argv", ["secrets", "set", "STRIPE_WEBHOOK_SECRET", stripeValue + "_argv"] + store, nil)
        cli("secrets rotate without grace", ["secrets", "rotate", "STRIPE_WEBHOOK_SECRET"] + store, rotatedValue)
        cli("events list", ["events", "list", "--admin", server.adminURL] + store, nil)
        cli("events show", ["events", "show", goodID, "--json", "--admin", server.adminURL] + store, nil)
        cli("plugins list", ["plugins", "list", "--admin", server.adminURL] + store, nil)
        cli("check", ["check", "--config", server.configPath], nil)
        let saved = JSONValue.object([("method", .string("POST")), ("url", .string("https://localhost/webhooks/stripe")),
                                      ("headers", .object([("Stripe-Signature", .string(Signing.stripeHeader(body: body, secret: rotatedValue)))])),
                                      ("body_base64", .string(Data(body).base64EncodedString()))]).serialized()
        let verify = try CommandRun.layeron(["verify", "--webhook", "stripe"] + store, stdin: saved, removing: secretVariables,
                                            directory: server.directory.path)
        XCTAssertEqual(verify.stdout, "valid\n", verify.stderr)
        record("verify", verify)
        let wrongKey = try CommandRun.layeron(["secrets", "list"] + store, environment: ["LAYERON_MASTER_KEY": String(repeating: "ab", count: 32)],
                                              removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(wrongKey.status, 1)
        record("secrets list with a wrong key", wrongKey)

        let listing = try XCTUnwrap(seen.first { $0.what == "secrets list" }?.text)
        XCTAssertTrue(listing.contains("STRIPE_WEBHOOK_SECRET") && listing.contains("development"), listing)
        let events = try XCTUnwrap(seen.first { $0.what == "events list" }?.text)
        XCTAssertTrue(events.contains(goodID), "the admin token was found without LAYERON_ADMIN_TOKEN: \(events)")
        let rejected = server.logs.split(separator: "\n").filter { $0.contains("signature rejected") }
        XCTAssertFalse(rejected.isEmpty)
        XCTAssertTrue(rejected.allSatisfy { $0.contains("STRIPE_WEBHOOK_SECRET") || $0.contains("VENDOR_WEBHOOK_SECRET") },
                      "a rejection names the reference it tried: \(rejected)")

        server.stop()
        let stored = try StoreReader(path: server.databasePath).rows("SELECT headers, hex(body) FROM event_payloads")
        record("the store's headers and bodies", stored.map { $0.compactMap { $0 }.joined(separator: " ") }.joined(separator: "\n"))
        record("server logs", server.logs)
        record("server stdout at the end", server.output)
        XCTAssertGreaterThan(server.logs.split(separator: "\n").count, 10, "the scan must have log lines to search")
        for value in [stripeValue, rotatedValue, vendorValue, adminValue, gitlabValue] {
            for (what, text) in seen {
                XCTAssertFalse(text.contains(value), "\(what) shows a secret value")
            }
        }
    }
}
