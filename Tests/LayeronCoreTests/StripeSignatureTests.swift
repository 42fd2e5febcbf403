import LayeronCore
import LayeronCrypto
import XCTest

final class StripeSignatureTests: XCTestCase {
    let secret = SecretValue("whsec_test_secret")
    let body = Array(#"{"id":"evt_1","type":"invoice.paid"}"#.utf8)
    let now: Int64 = 1_700_000_000

    private func sign(_ body: [UInt8], timestamp: Int64, secret: String = "whsec_test_secret") -> String {
        let mac = HMAC.authenticate(.sha256, key: Array(secret.utf8), message: Array("\(timestamp).".utf8) + body)
        return ByteEncoding.hex.encode(mac)
    }

    private func verify(header: String?, body: [UInt8]? = nil, secrets: [SecretValue]? = nil) -> Result<VerifiedSignature, VerificationFailure> {
        let headers = header.map { [("stripe-signature", $0)] } ?? []
        let request = InboundRequest(method: "POST", path: "/webhooks/stripe", headers: headers, body: body ?? self.body)
        return SignatureScheme.stripe().verify(request, url: "https://example.com/webhooks/stripe", secrets: secrets ?? [secret], now: now)
    }

    private func failure(_ result: Result<VerifiedSignature, VerificationFailure>) -> VerificationFailure? {
        if case let .failure(f) = result { return f }
        return nil
    }

    func testKnownVector() {
        // HMAC-SHA256("whsec_test_secret", "1700000000.{...}") computed independently with openssl dgst.
        XCTAssertEqual(sign(Array("{}".utf8), timestamp: 1_700_000_000),
                       "ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3")
    }

    func testValidSignatureVerifies() {
        XCTAssertNil(failure(verify(header: "t=\(now),v1=\(sign(body, timestamp: now))")))
    }

    func testTamperedBodyIsRejected() {
        let header = "t=\(now),v1=\(sign(body, timestamp: now))"
        XCTAssertEqual(failure(verify(header: header, body: body + [0x20])), .signatureMismatch)
    }

    func testWrongSecretIsRejected() {
        let header = "t=\(now),v1=\(sign(body, timestamp: now, secret: "whsec_other"))"
        XCTAssertEqual(failure(verify(header: header)), .signatureMismatch)
    }

    func testStaleAndFutureTimestampsAreRejected() {
        let old = now - 412
        XCTAssertEqual(failure(verify(header: "t=\(old),v1=\(sign(body, timestamp: old))")),
                       .timestampOutsideTolerance(skewSeconds: 412, toleranceSeconds: 300))
        XCTAssertEqual(failure(verify(header: "t=\(old),v1=\(sign(body, timestamp: old))"))?.description,
                       "timestamp outside tolerance (412 s > 300 s)")
        let future = now + 301
        XCTAssertEqual(failure(verify(header: "t=\(future),v1=\(sign(body, timestamp: future))")),
                       .timestampOutsideTolerance(skewSeconds: 301, toleranceSeconds: 300))
    }

    func testAnyOfSeveralV1SignaturesMayMatch() {
        let good = sign(body, timestamp: now)
        let bad = sign(body, timestamp: now, secret: "whsec_rotated_out")
        XCTAssertNil(failure(verify(header: "t=\(now),v1=\(bad),v1=\(good)")))
        XCTAssertNil(failure(verify(header: "t=\(now),v0=abc,v1=\(good)")))
    }

    func testAnyOfSeveralSecretsMayVerify() {
        let header = "t=\(now),v1=\(sign(body, timestamp: now))"
        XCTAssertNil(failure(verify(header: header, secrets: [SecretValue("whsec_new"), secret])))
    }

    func testGarbageHeadersFailCleanly() {
        XCTAssertEqual(failure(verify(header: nil)), .missingSignature(.header("stripe-signature")))
        XCTAssertEqual(failure(verify(header: ""))?.code, "malformed_header")
        XCTAssertEqual(failure(verify(header: "garbage"))?.code, "malformed_header")
        XCTAssertEqual(failure(verify(header: "v1=\(sign(body, timestamp: now))"))?.description, "no timestamp in the stripe-signature header")
        XCTAssertEqual(failure(verify(header: "t=abc,v1=\(sign(body, timestamp: now))"))?.code, "malformed_timestamp")
        XCTAssertEqual(failure(verify(header: "t=\(now),v1=zz")), .malformedSignature(.header("stripe-signature"), reason: "no hex signature field"))
        XCTAssertEqual(failure(verify(header: "t=\(now),v1=\(String(repeating: "a", count: 10_000))")), .signatureMismatch)
        XCTAssertEqual(failure(verify(header: ",,,=,=,t=,v1=")), .malformedSignature(.header("stripe-signature"), reason: "no hex signature field"))
    }
}

final class CustomHMACSchemeTests: XCTestCase {
    func testHexAndBase64OverRawBody() {
        let body = Array("payload".utf8)
        let mac = HMAC.authenticate(.sha256, key: Array("s3cret".utf8), message: body)
        for encoding in [ByteEncoding.hex, .base64] {
            let scheme = SignatureScheme(header: "X-Sig", format: .whole(prefix: "sha256="), algorithm: .hmac(.sha256),
                                         encoding: SignatureEncoding(rawValue: encoding.rawValue) ?? .hex, payload: .rawBody)
            let request = InboundRequest(method: "POST", path: "/", headers: [("x-sig", "sha256=" + encoding.encode(mac))], body: body)
            if case let .failure(f) = scheme.verify(request, url: "", secrets: [SecretValue("s3cret")], now: 0) {
                XCTFail("\(encoding): \(f)")
            }
            let tampered = InboundRequest(method: "POST", path: "/", headers: [("x-sig", "sha256=" + encoding.encode(mac))], body: body + [1])
            guard case .failure(.signatureMismatch) = scheme.verify(tampered, url: "", secrets: [SecretValue("s3cret")], now: 0) else {
                return XCTFail("\(encoding): a tampered body verified")
            }
        }
    }
}
