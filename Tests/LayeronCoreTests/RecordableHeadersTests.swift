import LayeronCore
import XCTest

/// A token scheme's header is the secret itself, so it is recorded redacted; a signature header,
/// derived from the secret, is kept as sent.
final class RecordableHeadersTests: XCTestCase {
    let headers: [(name: String, value: String)] = [("host", "hooks.example.com"), ("x-gitlab-token", "the-token"),
                                                   ("authorization", "Basic dXNlcjpwYXNz"), ("stripe-signature", "t=1,v1=ab")]

    private func recorded(_ scheme: SignatureScheme) -> [String] {
        scheme.recordable(headers).map { "\($0.name)=\($0.value)" }
    }

    func testTokenSchemesRedactTheirHeaderOnly() throws {
        let gitlab = try XCTUnwrap(ProviderPreset.all["gitlab"]).scheme(nil)
        XCTAssertEqual(recorded(gitlab), ["host=hooks.example.com", "x-gitlab-token=<redacted>",
                                          "authorization=Basic dXNlcjpwYXNz", "stripe-signature=t=1,v1=ab"])
        let postmark = try XCTUnwrap(ProviderPreset.all["postmark"]).scheme(nil)
        XCTAssertEqual(recorded(postmark)[2], "authorization=<redacted>")
        let custom = SignatureScheme(signature: .header("X-Gitlab-Token"), algorithm: .token, encoding: .text)
        XCTAssertEqual(recorded(custom)[1], "x-gitlab-token=<redacted>", "header names match whatever their case")
    }

    func testSignatureSchemesKeepEveryHeader() {
        XCTAssertNil(SignatureScheme.stripe().headerHoldingTheSecret)
        XCTAssertEqual(recorded(.stripe()), headers.map { "\($0.name)=\($0.value)" })
    }
}
