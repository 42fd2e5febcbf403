@testable import LayeronCore
import LayeronCrypto
import XCTest

/// `SignatureHeaderFormat.parse` on a header's UTF-8 bytes: how fields are split, trimmed, looked
/// up and decoded.
final class SignatureHeaderParseTests: XCTestCase {
    private let stripe = SignatureHeaderFormat.fields(separator: ",", assignment: "=", keys: ["t": .timestamp, "v1": .signature])
    private let standard = SignatureHeaderFormat.fields(separator: " ", assignment: ",", keys: ["v1": .signature])

    private func parsed(_ format: SignatureHeaderFormat, _ value: String, _ encoding: SignatureEncoding = .hex) -> ParsedSignatureHeader? {
        if case let .success(p) = format.parse(value, source: .header("h"), encoding: encoding) { return p }
        return nil
    }

    func testRepeatedSignaturesAndUnknownKeys() throws {
        let p = try XCTUnwrap(parsed(stripe, "t=123,v1=aa,v0=cc,v1=BB"))
        XCTAssertEqual(p.candidates, [[0xAA], [0xBB]])
        XCTAssertEqual(p.timestamp, "123")
        XCTAssertNil(p.id)
    }

    func testSpacesAroundFieldsAreTrimmedButNotAroundTheAssignment() throws {
        let p = try XCTUnwrap(parsed(stripe, "  t=123 ,  v1=aa  "))
        XCTAssertEqual(p.candidates, [[0xAA]])
        XCTAssertEqual(p.timestamp, "123")
        XCTAssertEqual(parsed(stripe, "t= 123,v1=aa")?.timestamp, " 123")
        XCTAssertNil(parsed(stripe, "t =123,v1=aa")?.timestamp)
        XCTAssertNil(parsed(stripe, "t=1,v1 =aa"))
    }

    func testTabsAroundFieldsAndValuesAreTrimmedLikeSpaces() throws {
        let p = try XCTUnwrap(parsed(stripe, "t=123,\tv1=aa\t, \tv1=bb"))
        XCTAssertEqual(p.candidates, [[0xAA], [0xBB]])
        XCTAssertEqual(p.timestamp, "123")
        XCTAssertEqual(parsed(.whole(prefix: ""), "\taa\t")?.candidates, [[0xAA]])
        XCTAssertEqual(parsed(.whole(prefix: "sha256="), "sha256=\taa \t")?.candidates, [[0xAA]])
    }

    func testACredentialsSchemeNameMatchesInAnyCase() throws {
        let basic = SignatureHeaderFormat.credentials(scheme: "Basic")
        for value in ["Basic AAEC", "basic AAEC", "BASIC\tAAEC", "bAsIc   AAEC \t"] {
            XCTAssertEqual(parsed(basic, value, .base64)?.candidates, [[0, 1, 2]], value)
        }
        for value in ["Bearer AAEC", "BasicAAEC", "Basic", "Basi", "", "Basic !!"] {
            XCTAssertNil(parsed(basic, value, .base64), value)
        }
        guard case let .failure(failure) = basic.parse("Bearer AAEC", source: .header("authorization"), encoding: .base64) else {
            return XCTFail("another scheme parsed")
        }
        XCTAssertEqual(failure, .malformedSignature(.header("authorization"), reason: #"expected the "Basic" scheme"#))
    }

    func testPostmarkTakesBasicInAnyCase() throws {
        let scheme = try XCTUnwrap(ProviderPreset.all["postmark"]).baseScheme
        let credentials = "hook-user:hook-password-123"
        for name in ["Basic", "basic", "BASIC"] {
            let request = InboundRequest(method: "POST", path: "/", headers: [("authorization", "\(name) \(ByteEncoding.base64.encode(Array(credentials.utf8)))")],
                                         body: Array("{}".utf8))
            if case let .failure(f) = scheme.verify(request, url: "", secrets: [SecretValue(credentials)], now: 0) { XCTFail("\(name): \(f)") }
        }
    }

    func testEmptyFieldsAndFieldsWithoutAssignmentAreSkipped() throws {
        XCTAssertEqual(parsed(stripe, ",,t=1,,v1=aa,")?.candidates, [[0xAA]])
        XCTAssertEqual(parsed(stripe, "garbage,t=1,v1=aa")?.timestamp, "1")
        XCTAssertNil(parsed(stripe, "t=1,v1"))
        XCTAssertNil(parsed(stripe, ""))
        XCTAssertNil(parsed(stripe, ","))
        guard case let .failure(failure) = stripe.parse("t=1", source: .header("stripe-signature"), encoding: .hex) else {
            return XCTFail("a header without a signature parsed")
        }
        XCTAssertEqual(failure, .malformedSignature(.header("stripe-signature"), reason: "no hex signature field"))
    }

    func testValuesSplitAtTheFirstAssignmentAndLaterFieldsWin() throws {
        XCTAssertEqual(parsed(stripe, "t=1=2,v1=aa")?.timestamp, "1=2")
        XCTAssertEqual(parsed(stripe, "t=1,t=2,v1=aa")?.timestamp, "2")
        XCTAssertEqual(parsed(stripe, "t=,v1=aa")?.timestamp, "")
    }

    func testUndecodableCandidatesAreDropped() throws {
        XCTAssertEqual(parsed(stripe, "t=1,v1=zz,v1=abc,v1=,v1=0a")?.candidates, [[0x0A]])
        XCTAssertNil(parsed(stripe, "t=1,v1=zz"))
    }

    func testStandardWebhooksBase64WithPadding() throws {
        let p = try XCTUnwrap(parsed(standard, "v1,AAEC v1,/w== v2,ignored", .base64))
        XCTAssertEqual(p.candidates, [[0, 1, 2], [0xFF]])
    }

    func testNonASCIISeparatorAssignmentAndValues() throws {
        let format = SignatureHeaderFormat.fields(separator: "·", assignment: "→", keys: ["t": .timestamp, "s": .signature, "ïd": .id])
        let p = try XCTUnwrap(parsed(format, "t→5·s→aa·ïd→é1·x→y"))
        XCTAssertEqual(p.timestamp, "5")
        XCTAssertEqual(p.candidates, [[0xAA]])
        XCTAssertEqual(p.id, "é1")
        XCTAssertEqual(parsed(stripe, "t=1,v1=aa,é=ü")?.candidates, [[0xAA]])
    }

    func testParsedFormatDescriptionsParseHeaders() throws {
        let format = try SignatureHeaderFormat(parsingFormat: "ts={timestamp};sig={signature};id={id}")
        let p = try XCTUnwrap(parsed(format, "ts=9;id=msg_1;sig=ff;sig=00"))
        XCTAssertEqual(p.timestamp, "9")
        XCTAssertEqual(p.id, "msg_1")
        XCTAssertEqual(p.candidates, [[0xFF], [0x00]])
    }

    /// Mailgun's signature is a JSON body field: refusals call it one, not a header.
    func testBodyFieldSignatureIsNotCalledAHeader() throws {
        let text = #"{"webhooks": [{"name": "m", "provider": "mailgun", "path": "/m", "secret": {"secret": "S"}}]}"#
        let scheme = try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first).scheme
        func refusal(_ body: String) -> String {
            let request = InboundRequest(method: "POST", path: "/m", headers: [], body: Array(body.utf8))
            guard case let .failure(failure) = scheme.verify(request, url: "", secrets: [SecretValue("S")], now: 1_700_000_000) else {
                return "verified"
            }
            return failure.description
        }
        XCTAssertEqual(refusal(#"{"signature": {"timestamp": "1700000000", "token": "t"}}"#),
                       "missing signature body field body.signature.signature")
        XCTAssertEqual(refusal(#"{"signature": {"timestamp": "1700000000", "token": "t", "signature": "zz"}}"#),
                       "malformed body field body.signature.signature: signature is not hex")
    }

    /// A missing timestamp is named where the scheme reads it: Slack's and Standard Webhooks' are
    /// headers of their own, not part of the signature.
    func testAMissingTimestampNamesWhereItIsRead() throws {
        func refusal(_ provider: String, _ headers: [(name: String, value: String)]) throws -> String {
            let text = #"{"webhooks": [{"name": "w", "provider": "\#(provider)", "path": "/w", "secret": {"secret": "S"}}]}"#
            let scheme = try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first).scheme
            let request = InboundRequest(method: "POST", path: "/w", headers: headers, body: Array("{}".utf8))
            guard case let .failure(failure) = scheme.verify(request, url: "", secrets: [SecretValue("whsec_AAAA")], now: 1_700_000_000) else {
                return "verified"
            }
            return failure.description
        }
        XCTAssertEqual(try refusal("slack", [("x-slack-signature", "v0=aa")]), "missing timestamp header x-slack-request-timestamp")
        XCTAssertEqual(try refusal("slack", [("x-slack-signature", "v0=aa"), ("x-slack-request-timestamp", "")]),
                       "missing timestamp header x-slack-request-timestamp")
        XCTAssertEqual(try refusal("standard-webhooks", [("webhook-signature", "v1,AAAA"), ("webhook-id", "msg_1")]),
                       "missing timestamp header webhook-timestamp")
        XCTAssertEqual(try refusal("linear", [("linear-signature", "aa")]), "missing timestamp body field body.webhookTimestamp")
        XCTAssertEqual(try refusal("paddle", [("paddle-signature", "h1=aa")]), "no timestamp in the paddle-signature header")
    }

    /// Mailgun and Linear keep the signature or timestamp in the body: a body JavaScript wrote with a
    /// lone surrogate escape (a cut emoji), or one that begins with a byte order mark, still verifies.
    func testBodyFieldsAreReadFromBodiesWithLoneSurrogatesOrAByteOrderMark() throws {
        func scheme(_ provider: String) throws -> SignatureScheme {
            let text = #"{"webhooks": [{"name": "w", "provider": "\#(provider)", "path": "/w", "secret": {"secret": "S"}}]}"#
            return try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first).scheme
        }
        let mailgun = try scheme("mailgun"), linear = try scheme("linear")
        let mac = ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: Array("S".utf8), message: Array("1700000000tok".utf8)))
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        for prefix in [[], bom] {
            let mailgunBody = prefix + Array(#"{"signature": {"timestamp": "1700000000", "token": "tok", "signature": "\#(mac)"}, "event-data": {"subject": "Hi \ud83d"}}"#.utf8)
            let request = InboundRequest(method: "POST", path: "/w", headers: [], body: mailgunBody)
            if case let .failure(f) = mailgun.verify(request, url: "", secrets: [SecretValue("S")], now: 1_700_000_000) { XCTFail("mailgun: \(f)") }

            let linearBody = prefix + Array(#"{"data": {"title": "Fix \ud83d"}, "webhookTimestamp": 1700000000000}"#.utf8)
            let signature = ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: Array("S".utf8), message: linearBody))
            let signed = InboundRequest(method: "POST", path: "/w", headers: [("linear-signature", signature)], body: linearBody)
            if case let .failure(f) = linear.verify(signed, url: "", secrets: [SecretValue("S")], now: 1_700_000_000) { XCTFail("linear: \(f)") }
        }
    }
}
