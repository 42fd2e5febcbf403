import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// Built-in provider schemes through the real server, and `layeron verify` run as a process.
final class SignatureProvidersTests: XCTestCase {
    let githubSecret = "gh-webhook-secret"
    let swKey = Array("standard-webhooks-integration-key".utf8)
    var swSecret: String { "whsec_" + ByteEncoding.base64.encode(swKey) }
    let zoomSecret = "zoom-secret-token"
    let twilioToken = "twilio-auth-token"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["GH_SECRET": githubSecret, "SW_SECRET": swSecret, "ZOOM_SECRET": zoomSecret,
                                                   "TWILIO_TOKEN": twilioToken])
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [
                { "name": "gh", "provider": "github", "secret": { "secret": "GH_SECRET" } },
                { "name": "sw", "provider": "standard-webhooks", "secret": [{ "secret": "GH_SECRET" }, { "secret": "SW_SECRET" }] },
                { "name": "zoom", "provider": "zoom", "secret": { "secret": "ZOOM_SECRET" } },
                { "name": "twilio", "provider": "twilio", "path": "/webhooks/twilio/sms", "secret": { "secret": "TWILIO_TOKEN" } }
              ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func standardWebhooksHeaders(_ body: [UInt8], id: String, timestamp: Int64) -> [(String, String)] {
        let mac = HMAC.authenticate(.sha256, key: swKey, message: Array("\(id).\(timestamp).".utf8) + body)
        return [("webhook-id", id), ("webhook-timestamp", "\(timestamp)"), ("webhook-signature", "v1,AAAA v1,\(ByteEncoding.base64.encode(mac))")]
    }

    func testGitHubEventsAreVerifiedTypedAndDeduplicatedByDelivery() throws {
        let body = Array(#"{"action":"opened","number":7}"#.utf8)
        let headers = [("X-Hub-Signature-256", "sha256=" + Signing.hmacHex(body: body, secret: githubSecret)),
                       ("X-GitHub-Event", "pull_request"), ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")]
        let first = try server.post("/webhooks/gh", headers: headers, body: body)
        XCTAssertEqual(first.status, 200, first.body)
        let retry = try server.post("/webhooks/gh", headers: headers, body: body)
        XCTAssertEqual(try JSONParser.parse(Array(retry.body.utf8))["duplicate"], .bool(true), retry.body)

        let bad = try server.post("/webhooks/gh", headers: [("X-Hub-Signature-256", "sha256=" + Signing.hmacHex(body: body, secret: "wrong"))], body: body)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.body.contains("invalid signature: no signature matches"), bad.body)
        XCTAssertFalse(bad.body.contains(githubSecret))

        let store = try StoreReader(path: server.databasePath)
        let rows = try store.rows("SELECT type, dedupe_key, duplicates FROM events WHERE webhook = 'gh'")
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?[0], "pull_request")
        XCTAssertEqual(rows.first?[1], "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        XCTAssertEqual(rows.first?[2], "1")
    }

    func testStandardWebhooksRotationRejectionsAndMetrics() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let body = Array(#"{"type":"invoice.paid","data":{"n":"\#u{00e9}\#u{2713}"}}"#.utf8)
        let ok = try server.post("/webhooks/sw", headers: standardWebhooksHeaders(body, id: "msg_1", timestamp: now), body: body)
        XCTAssertEqual(ok.status, 200, ok.body)

        let tampered = try server.post("/webhooks/sw", headers: standardWebhooksHeaders(body, id: "msg_2", timestamp: now), body: body + [0x20])
        XCTAssertEqual(tampered.status, 400, tampered.body)
        let stale = try server.post("/webhooks/sw", headers: standardWebhooksHeaders(body, id: "msg_3", timestamp: now - 3600), body: body)
        XCTAssertEqual(stale.status, 400)
        XCTAssertTrue(stale.body.contains("timestamp outside tolerance"), stale.body)
        let missing = try server.post("/webhooks/sw", headers: [("webhook-id", "msg_4")], body: body)
        XCTAssertTrue(missing.body.contains("missing signature header webhook-signature"), missing.body)

        let metrics = try server.admin("GET", "/metrics").text
        for reason in ["mismatch", "timestamp", "missing_header"] {
            XCTAssertTrue(metrics.contains(#"layeron_signature_rejections_total{webhook="sw",reason="\#(reason)"} 1"#), metrics)
        }
        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events WHERE webhook = 'sw'"), 1, "a rejected body was stored")
        XCTAssertEqual(try store.rows("SELECT type, dedupe_key FROM events WHERE webhook = 'sw'").first ?? [], ["invoice.paid", "msg_1"])
    }

    func testZoomURLValidationIsAnsweredAndNotRecorded() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let body = Array(#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1,"event":"endpoint.url_validation"}"#.utf8)
        let mac = HMAC.authenticate(.sha256, key: Array(zoomSecret.utf8), message: Array("v0:\(now):".utf8) + body)
        let response = try server.post("/webhooks/zoom", headers: [("x-zm-signature", "v0=" + ByteEncoding.hex.encode(mac)),
                                                                 ("x-zm-request-timestamp", "\(now)")], body: body)
        XCTAssertEqual(response.status, 200, response.body)
        let expected = ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: Array(zoomSecret.utf8), message: Array("qgg8vlvZRS6UYooatFL8Aw".utf8)))
        XCTAssertEqual(try JSONParser.parse(Array(response.body.utf8))["encryptedToken"]?.stringValue, expected)
        XCTAssertEqual(try StoreReader(path: server.databasePath).count("SELECT COUNT(*) FROM events WHERE webhook = 'zoom'"), 0)

        let unsigned = try server.post("/webhooks/zoom", body: body)
        XCTAssertEqual(unsigned.status, 400, "an unsigned challenge must not be answered")
    }

    /// Twilio's documented rule: base64(HMAC-SHA1(auth token, URL + each form parameter's name and
    /// value, sorted by name)), over the URL as Twilio sent it.
    private func twilioSignature(url: String, form: [(String, String)]) -> String {
        let signed = form.sorted { $0.0 < $1.0 }.reduce(url) { $0 + $1.0 + $1.1 }
        return ByteEncoding.base64.encode(HMAC.authenticate(.sha1, key: Array(twilioToken.utf8), message: Array(signed.utf8)))
    }

    /// A URL signed with percent-encoding in its path and query is verified over the encoding sent,
    /// not over the path libmicrohttpd decoded for routing (`%2F` routes to `/webhooks/twilio/sms`).
    func testTwilioSignsTheURLAsSentWithItsPercentEncoding() throws {
        let target = "/webhooks/twilio%2Fsms?Channel=a%20b"
        let url = "https://127.0.0.1" + target
        let form = [("From", "+15551234567"), ("Body", "hello world")]
        let body = Array("From=%2B15551234567&Body=hello+world".utf8)
        let contentType = ("Content-Type", "application/x-www-form-urlencoded")
        let ok = try server.post(target, headers: [contentType, ("X-Twilio-Signature", twilioSignature(url: url, form: form)),
                                                   ("I-Twilio-Idempotency-Token", "twilio-1")], body: body)
        XCTAssertEqual(ok.status, 200, ok.body)

        let tampered = try server.post("/webhooks/twilio%2Fsms?Channel=a%20c",
                                       headers: [contentType, ("X-Twilio-Signature", twilioSignature(url: url, form: form))], body: body)
        XCTAssertEqual(tampered.status, 400, tampered.body)
        let overDecodedPath = try server.post(target, headers: [contentType, ("X-Twilio-Signature",
                                              twilioSignature(url: "https://127.0.0.1/webhooks/twilio/sms?Channel=a%20b", form: form))], body: body)
        XCTAssertEqual(overDecodedPath.status, 400, "the path was sent encoded, so it was signed encoded")
        XCTAssertEqual(try StoreReader(path: server.databasePath).count("SELECT COUNT(*) FROM events WHERE webhook = 'twilio'"), 1)

        // `layeron verify` gives the server's answer for the same request and URL.
        let saved = JSONValue.object([("url", .string(url)), ("headers", .object([("content-type", .string(contentType.1)),
                                      ("x-twilio-signature", .string(twilioSignature(url: url, form: form)))])),
                                      ("body_base64", .string(ByteEncoding.base64.encode(body)))]).serialized()
        XCTAssertEqual(try verify(["--provider", "twilio", "--secret", twilioToken, "--url", url], request: saved).output, "valid")
        XCTAssertEqual(try verify(["--config", server.configPath, "--webhook", "twilio"], request: saved).output, "valid")
        XCTAssertEqual(try verify(["--provider", "twilio", "--secret", twilioToken, "--url", "https://127.0.0.1/webhooks/twilio%2Fsms?Channel=a%20c"],
                                  request: saved).output, "invalid: no signature matches")
    }

    // MARK: layeron verify

    private func verify(_ arguments: [String], request: String) throws -> (status: Int32, output: String) {
        let file = server.path("request-\(UUID().uuidString).json")
        try request.write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
        process.arguments = ["verify"] + arguments
        var env = ChildEnvironment.inherited()
        env["GH_SECRET"] = githubSecret
        env["SW_SECRET"] = swSecret
        env["ZOOM_SECRET"] = zoomSecret
        env["TWILIO_TOKEN"] = twilioToken
        process.environment = env
        process.currentDirectoryURL = server.directory
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func savedRequest(headers: [(String, String)], body: [UInt8]) -> String {
        let headerJSON = JSONValue.object(headers.map { ($0.0, .string($0.1)) })
        return JSONValue.object([("method", .string("POST")), ("url", .string("https://hooks.example.com/webhooks/x")),
                                 ("headers", headerJSON), ("body_base64", .string(ByteEncoding.base64.encode(body)))]).serialized()
    }

    func testVerifyCommandForProvidersAndConfiguredWebhooks() throws {
        let body = Array(#"{"zen":"Keep it logically awesome."}"#.utf8)
        let github = savedRequest(headers: [("X-Hub-Signature-256", "sha256=" + Signing.hmacHex(body: body, secret: githubSecret))], body: body)
        XCTAssertEqual(try verify(["--provider", "github", "--secret", githubSecret], request: github).output, "valid")
        let wrong = try verify(["--provider", "github", "--secret", "nope"], request: github)
        XCTAssertEqual(wrong.status, 1)
        XCTAssertEqual(wrong.output, "invalid: no signature matches")
        // The secret from an environment variable, out of the process list and the shell's history.
        XCTAssertEqual(try verify(["--provider", "github", "--secret-env", "GH_SECRET"], request: github).output, "valid")
        XCTAssertEqual(try verify(["--provider", "github", "--secret-env", "NO_SUCH_VARIABLE"], request: github).status, 2)
        XCTAssertEqual(try verify(["--provider", "github", "--secret", "x", "--secret-env", "GH_SECRET"], request: github).status, 2)
        let both = try verify(["--config", server.configPath, "--webhook", "sw", "--secret-env", "GH_SECRET"], request: github)
        XCTAssertEqual(both.status, 2)
        XCTAssertTrue(both.output.contains("drop --secret-env"), both.output)

        let sw = savedRequest(headers: standardWebhooksHeaders(body, id: "msg_9", timestamp: 1_700_000_000), body: body)
        XCTAssertEqual(try verify(["--config", server.configPath, "--webhook", "sw", "--now", "1700000100"], request: sw).status, 0)
        XCTAssertEqual(try verify(["--provider", "standard-webhooks", "--secret", swSecret, "--now", "1700000100"], request: sw).output, "valid")
        let stale = try verify(["--provider", "standard-webhooks", "--secret", swSecret, "--now", "1700000412"], request: sw)
        XCTAssertEqual(stale.status, 1)
        XCTAssertEqual(stale.output, "invalid: timestamp outside tolerance (412 s > 300 s)")
        XCTAssertEqual(try verify(["--provider", "standard-webhooks", "--secret", swSecret, "--now", "1700000412", "--tolerance", "600"], request: sw).output, "valid")
        // A tolerance the config would refuse, or one with no timestamp to apply it to, is a usage error, not ignored.
        for seconds in ["0", "abc"] {
            let refused = try verify(["--provider", "standard-webhooks", "--secret", swSecret, "--tolerance", seconds], request: sw)
            XCTAssertEqual(refused.status, 2, "--tolerance \(seconds): \(refused.output)")
            XCTAssertTrue(refused.output.contains("--tolerance takes whole seconds, at least 1, like 300"), refused.output)
        }
        for (words, signer) in [(["--config", server.configPath, "--webhook", "gh"], "webhook gh (provider github)"),
                                (["--provider", "github", "--secret", githubSecret], "provider github")] {
            let untimed = try verify(words + ["--tolerance", "600"], request: github)
            XCTAssertEqual(untimed.status, 2, untimed.output)
            XCTAssertTrue(untimed.output.contains("--tolerance: \(signer) signs no timestamp, so there is no tolerance to change; drop --tolerance"), untimed.output)
        }

        let custom = try verify(["--provider", "custom", "--secret", "x"], request: github)
        XCTAssertEqual(custom.status, 2)
        XCTAssertTrue(custom.output.contains("--provider custom needs a scheme from config"), custom.output)
        // A usage error shows the command's own forms, not every command's.
        XCTAssertTrue(custom.output.contains("usage:\n  layeron verify --provider P"), custom.output)
        XCTAssertFalse(custom.output.contains("layeron serve"), custom.output)
        XCTAssertEqual(try verify(["--provider", "nosuch", "--secret", "x"], request: github).status, 2)
        XCTAssertEqual(try verify(["--provider", "discord", "--secret", "not-a-key"], request: github).status, 2)
        // Discord's key is 32 bytes of hex: a short one is told so, not only that it is not DER.
        let short = try verify(["--provider", "discord", "--secret", "abcd"], request: github)
        XCTAssertEqual(short.status, 2)
        XCTAssertTrue(short.output.hasPrefix("layeron: --secret for discord is its public key, and this one is not a valid Ed25519 public key: "
                                             + "an Ed25519 public key is 32 bytes (64 hex digits) or a DER SubjectPublicKeyInfo; found 2 bytes"), short.output)
        XCTAssertEqual(try verify(["--config", server.configPath, "--webhook", "nosuch"], request: github).status, 2)
        // A bad level from the environment is named as the environment's, not as a flag never given.
        let level = try CommandRun.layeron(["serve", "--config", "/nonexistent.json"], environment: ["LAYERON_LOG_LEVEL": "loud"])
        XCTAssertEqual(level.status, 2)
        XCTAssertTrue(level.stderr.contains("LAYERON_LOG_LEVEL takes debug, info, warn or error"), level.stderr)
        // --help anywhere after a command asks for its forms: exit 0, on standard output.
        for command in ["serve", "check", "secrets"] {
            let help = try CommandRun.layeron([command, "--help"])
            XCTAssertEqual(help.status, 0, help.stderr)
            XCTAssertTrue(help.stdout.hasPrefix("usage:\n  layeron \(command)"), help.stdout)
        }
    }
}
