import LayeronCore
import LayeronCrypto
import XCTest

/// Custom schemes and preset options that cannot work are refused at load, naming the key.
final class SignatureConfigTests: XCTestCase {
    private func issues(_ webhook: String) -> [String] {
        do {
            _ = try ConfigLoader.load(text: Array(#"{"webhooks": [\#(webhook)]}"#.utf8), file: "t.json")
            return []
        } catch {
            return error.description.split(separator: "\n").map(String.init)
        }
    }

    private func custom(_ signature: String) -> [String] {
        issues(#"{"name": "v", "provider": "custom", "signature": \#(signature)}"#)
    }

    private func assertIssue(_ found: [String], _ prefix: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(found.contains { $0.hasPrefix(prefix) }, "no issue starting \(prefix) in \(found)", file: file, line: line)
    }

    func testUnknownAlgorithmListsTheKnownOnes() {
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-md5", "secret": {"secret": "S"}}"#),
                    "t.json: webhooks[0].signature.algorithm: unknown algorithm \"hmac-md5\"; expected one of: ecdsa-p256-sha256, ed25519, hmac-sha1")
    }

    func testTemplateNamingAFieldNothingProvidesIsRefused() {
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "signedPayload": "{timestamp}.{body}"}"#),
                    "t.json: webhooks[0].signature.signedPayload: uses {timestamp} but nothing provides one")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "signedPayload": "{id}.{body}"}"#),
                    "t.json: webhooks[0].signature.signedPayload: uses {id} but nothing provides one")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "timestamp": "format"}"#),
                    "t.json: webhooks[0].signature.timestamp: \"format\" needs a \"format\" with a {timestamp} field")
    }

    func testInvalidPublicKeysAreRefusedAtLoad() {
        assertIssue(custom(#"{"header": "x", "algorithm": "ed25519", "publicKey": "abcd"}"#),
                    "t.json: webhooks[0].signature.publicKey: not a valid Ed25519 public key")
        // A valid Ed25519 key where an ECDSA P-256 key is expected.
        let ed = "302a300506032b6570032100" + String(repeating: "11", count: 32)
        assertIssue(custom(#"{"header": "x", "algorithm": "ecdsa-p256-sha256", "publicKey": "\#(ed)"}"#),
                    "t.json: webhooks[0].signature.publicKey: not a valid ECDSA P-256 public key: is a ed25519 key")
        assertIssue(issues(#"{"name": "d", "provider": "discord", "publicKey": "zz"}"#),
                    "t.json: webhooks[0].publicKey: not a valid Ed25519 public key")
        assertIssue(issues(#"{"name": "d", "provider": "discord", "publicKey": "abcd"}"#),
                    "t.json: webhooks[0].publicKey: not a valid Ed25519 public key: an Ed25519 public key is 32 bytes (64 hex digits) or a DER SubjectPublicKeyInfo; found 2 bytes")
        assertIssue(custom(#"{"header": "x", "algorithm": "rsa-sha256"}"#),
                    "t.json: webhooks[0].signature.publicKey: is required for rsa-sha256")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "publicKey": "ab"}"#),
                    "t.json: webhooks[0].signature.publicKey: hmac-sha256 uses a shared secret")
    }

    func testFormatsAndOptionsAreChecked() {
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "format": "t={timestamp},v1={sig}"}"#),
                    "t.json: webhooks[0].signature.format: format field \"v1={sig}\": unknown role {sig}")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "encoding": "base32"}"#),
                    "t.json: webhooks[0].signature.encoding: unknown encoding \"base32\"")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "timestamp": {"from": "header.x-t", "unit": "minutes"}}"#),
                    "t.json: webhooks[0].signature.timestamp.unit: unknown unit \"minutes\"")
        assertIssue(issues(#"{"name": "t", "provider": "twilio", "secret": {"secret": "S"}, "url": "example.com/x?y=1"}"#),
                    "t.json: webhooks[0].url: \"example.com/x?y=1\" must be an http(s) URL without a query")
        // `separator` is for a one-field format: with a format of several fields it split the format
        // wrongly ("unknown role"), and without a format the message said the opposite.
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "format": "t={timestamp},v1={signature}", "separator": ";"}"#),
                    "t.json: webhooks[0].signature.format: format \"t={timestamp},v1={signature}\" separates its fields with \",\"; \"separator\" is for a format of one field")
        assertIssue(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "separator": " "}"#),
                    "t.json: webhooks[0].signature.separator: only applies with a \"format\" (between the fields a one-field format")
        XCTAssertEqual(custom(#"{"header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "format": "v1,{signature}", "separator": " "}"#), [])
    }

    /// Settings that contradict each other were accepted and one of them silently ignored: the
    /// format's {id} beside an `id` source, a key given twice (its timestamp field vanished), and
    /// `text`, which an HMAC can never match. `v1,{signature}` without `separator` was refused as
    /// "not of the form key={signature}" when the separator was what to set.
    func testContradictorySettingsAreRefused() {
        let hmac = #""header": "x", "algorithm": "hmac-sha256", "secret": {"secret": "S"}"#
        assertIssue(custom(#"{\#(hmac), "format": "id={id},v1={signature}", "id": "header.x-id"}"#),
                    "t.json: webhooks[0].signature.format: has an {id} field but \"id\" reads it from header.x-id; drop one")
        assertIssue(custom(#"{\#(hmac), "format": "v1={timestamp},v1={signature}"}"#),
                    "t.json: webhooks[0].signature.format: format \"v1={timestamp},v1={signature}\" names the key \"v1\" twice")
        assertIssue(custom(#"{\#(hmac), "encoding": "text"}"#),
                    "t.json: webhooks[0].signature.encoding: \"text\" compares the header with the secret as it is, which is algorithm \"token\"; a hmac-sha256 signature is bytes")
        assertIssue(custom(#"{\#(hmac), "format": "v1,{signature}"}"#),
                    "t.json: webhooks[0].signature.format: format \"v1,{signature}\" puts \",\" between its key and value, and \",\" is also the default separator between fields; set \"separator\"")
        XCTAssertEqual(custom(#"{"header": "x", "algorithm": "token", "secret": {"secret": "S"}, "encoding": "text"}"#), [])
        assertIssue(custom(#"{"header": "x", "algorithm": "token", "secret": {"secret": "S"}, "secretEncoding": "hex"}"#),
                    "t.json: webhooks[0].signature.secretEncoding: \"hex\" decodes the secret to bytes, which a token header sent as text never equals; set \"encoding\": \"hex\" too")
        XCTAssertEqual(custom(#"{"header": "x", "algorithm": "token", "secret": {"secret": "S"}, "secretEncoding": "hex", "encoding": "hex"}"#), [])
        XCTAssertEqual(custom(#"{\#(hmac), "format": "id={id},v1={signature}"}"#), [])
    }

    /// A secret that is no key reads as a sentence after its name (it lacked its verb: "secret S1 not a DER …").
    func testAnUnusablePublicKeySecretIsDescribedAsOne() throws {
        let config = try ConfigLoader.load(text: Array(#"{"webhooks": [{"name": "c", "provider": "custom", "signature": {"header": "x", "algorithm": "ecdsa-p256-sha256", "secret": {"secret": "S1"}}}]}"#.utf8), file: "t.json")
        let reason = config.webhooks[0].scheme.unusableReason(SecretValue("bm90IGEga2V5IGF0IGFsbA=="))
        XCTAssertEqual(reason, "is not a usable ECDSA P-256 public key: not a DER SubjectPublicKeyInfo")
    }

    /// A header no request can carry would refuse every request as unsigned: refused at load instead.
    func testSignatureHeaderMustBeAHeaderName() {
        assertIssue(custom(#"{"header": "", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}"#),
                    "t.json: webhooks[0].signature.header: is empty; name the header the signature arrives in")
        for bad in ["bad header: x", "x-sig:", " x-sig", "x\u{e9}", "x/sig"] {
            assertIssue(custom(#"{"header": "\#(bad)", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}"#),
                        "t.json: webhooks[0].signature.header: \"\(bad)\" is not a header name; a header name is letters, digits and")
        }
        for good in ["X-Signature", "x_sig.v2", "sig~1!#$%&'*+^`|"] {
            XCTAssertEqual(custom(#"{"header": "\#(good)", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}"#), [], good)
        }
        XCTAssertEqual(custom(#"{"header": 1, "algorithm": "hmac-sha256", "secret": {"secret": "S"}}"#),
                       ["t.json: webhooks[0].signature.header: expected a string, found a number"])
    }

    func testStandardWebhooksCustomSchemeLoadsAndVerifies() throws {
        let text = #"""
        {"webhooks": [{"name": "sw", "provider": "custom", "tolerance": "2m",
          "signature": {"header": "webhook-signature", "algorithm": "hmac-sha256", "encoding": "base64",
                        "format": "v1,{signature}", "separator": " ", "secretEncoding": "whsec",
                        "secret": [{"secret": "OLD"}, {"secret": "NEW"}], "signedPayload": "{id}.{timestamp}.{body}",
                        "timestamp": "header.webhook-timestamp", "id": "header.webhook-id"}}]}
        """#
        let webhook = try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first)
        XCTAssertEqual(webhook.scheme, ProviderPreset.all["standard-webhooks"]?.scheme(120))
        XCTAssertEqual(webhook.secrets.map(\.name), ["OLD", "NEW"])
    }

    func testPresetToleranceOverrideApplies() {
        XCTAssertEqual(ProviderPreset.all["slack"]?.scheme(30).timestamp?.toleranceSeconds, 30)
        XCTAssertEqual(ProviderPreset.all["slack"]?.scheme(nil).timestamp?.toleranceSeconds, 300)
        XCTAssertNil(ProviderPreset.all["github"]?.scheme(30).timestamp)
    }

    func testRFC3339Timestamps() {
        let rule = TimestampRule(.formatField, unit: .rfc3339, toleranceSeconds: 0)
        XCTAssertNil(rule.check("2023-11-14T22:13:20Z", now: 1_700_000_000))
        XCTAssertNil(rule.check("2023-11-14T22:13:20.634234626Z", now: 1_700_000_000))
        XCTAssertNil(rule.check("2023-11-15T00:13:20+02:00", now: 1_700_000_000))
        XCTAssertEqual(rule.check("2023-11-14T22:13:21Z", now: 1_700_000_000), .timestampOutsideTolerance(skewSeconds: 1, toleranceSeconds: 0))
        for bad in ["", "2023-11-14", "2023-13-14T22:13:20Z", "2023-11-14T22:13:20", "2023-11-14T22:13:20Zjunk", "１７０"] {
            XCTAssertEqual(rule.check(bad, now: 0)?.code, "malformed_timestamp", bad)
        }
    }

    func testPublicURLOverrideIsSignedWithTheRequestQuery() throws {
        let text = #"{"webhooks": [{"name": "sq", "provider": "square", "secret": {"secret": "S"}, "url": "https://public.example.com/hooks/square"}]}"#
        let scheme = try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first).scheme
        let body = Array(#"{"event_id":"1"}"#.utf8)
        let signed = Array("https://public.example.com/hooks/square?a=1".utf8) + body
        let signature = ByteEncoding.base64.encode(HMAC.authenticate(.sha256, key: Array("key".utf8), message: signed))
        let request = InboundRequest(method: "POST", path: "/webhooks/sq", query: "a=1", host: "127.0.0.1",
                                     headers: [("x-square-hmacsha256-signature", signature)], body: body)
        guard case .success = scheme.verify(request, url: "https://127.0.0.1/webhooks/sq?a=1", secrets: [SecretValue("key")], now: 0) else {
            return XCTFail("the configured public URL was not the one verified")
        }
    }

    /// Headers an attacker controls never trap: every one ends in a typed failure.
    func testHostileHeadersNeverTrap() {
        let hostile = ["", " ", "=", ",", ";", "v1,", "t=,v1=", "t=99999999999999999999,v1=00", "sha256=", "v0=",
                       String(repeating: "v1=", count: 5000), "t=1,v1=" + String(repeating: "f", count: 100_001),
                       "\u{0}\u{1}\u{7f}", "é=ü,∑=∂", "t=-9223372036854775808,v1=aa", "ts=1;h1=zz;h1="]
        let request = { (value: String) in
            InboundRequest(method: "POST", path: "/", headers: ProviderPreset.list.flatMap { preset -> [(name: String, value: String)] in
                guard case let .header(name) = preset.baseScheme.signature else { return [] }
                return [(name, value)]
            } + [("x-slack-request-timestamp", value), ("webhook-timestamp", value), ("webhook-id", value)], body: Array(value.utf8))
        }
        for preset in ProviderPreset.list {
            for value in hostile {
                if case .success = preset.baseScheme.verify(request(value), url: "https://h/", secrets: [SecretValue("k")], now: 1_700_000_000) {
                    XCTFail("\(preset.name) accepted \(value.prefix(20))")
                }
            }
        }
    }
}
