import LayeronCore
import LayeronCrypto
@testable import LayeronOutbound
import XCTest

final class OutboundSignerTests: XCTestCase {
    /// The test vector published with the Standard Webhooks reference libraries.
    func testStandardWebhooksVector() throws {
        let headers = try OutboundSigner.headers(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8),
            secrets: [SecretValue("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")], extra: [])
        XCTAssertEqual(headers.map(\.name), ["webhook-id", "webhook-timestamp", "webhook-signature"])
        XCTAssertEqual(headers[1].value, "1614265330")
        XCTAssertEqual(headers[2].value, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    func testEverySecretSignsAndGitHubSchemeIsAdded() throws {
        let body = Array("{}".utf8)
        let headers = try OutboundSigner.headers(
            id: "whevt_X", timestamp: 10, body: body,
            secrets: [SecretValue("whsec_" + ByteEncoding.base64.encode([1, 2, 3])), SecretValue("whsec_" + ByteEncoding.base64.encode([4]))],
            extra: [.github])
        XCTAssertEqual(headers[2].value.split(separator: " ").count, 2)
        XCTAssertEqual(headers[2].value.split(separator: " ")[1], Substring(OutboundSigner.signature(id: "whevt_X", timestamp: 10, body: body, key: [4])))
        let mac = HMAC.authenticate(.sha256, key: Array(("whsec_" + ByteEncoding.base64.encode([1, 2, 3])).utf8), message: body)
        XCTAssertEqual(headers.last?.name, "X-Hub-Signature-256")
        XCTAssertEqual(headers.last?.value, "sha256=" + ByteEncoding.hex.encode(mac))
    }

    func testUnusableSecretIsRefusedWithItsPosition() {
        XCTAssertThrowsError(try OutboundSigner.headers(id: "a", timestamp: 1, body: [], secrets: [SecretValue("whsec_!!!")], extra: [])) {
            XCTAssertTrue("\($0)".contains("secret 1 is not a Standard Webhooks key"), "\($0)")
        }
    }
}
