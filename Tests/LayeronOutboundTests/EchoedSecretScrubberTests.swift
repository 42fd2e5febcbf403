import LayeronCore
@testable import LayeronOutbound
import XCTest

final class EchoedSecretScrubberTests: XCTestCase {
    private let scrubber = EchoedSecretScrubber(headerValues: ["Bearer abc/def-12345"],
                                                signingSecrets: [SecretValue("whsec_c2lnbmluZy1rZXktYnl0ZXM=")])

    private func scrubbed(_ text: String, truncated: Bool = false) -> String {
        String(decoding: scrubber.scrub(Array(text.utf8), truncated: truncated), as: UTF8.self)
    }

    func testTheWholeValueAndTheCredentialAfterItsSchemeAreRedacted() {
        XCTAssertEqual(scrubbed("got Bearer abc/def-12345 twice: Bearer abc/def-12345."), "got <redacted> twice: <redacted>.")
        XCTAssertEqual(scrubbed("token=abc/def-12345"), "token=<redacted>")
    }

    func testJSONQuotedEchoesAreRedacted() {
        XCTAssertEqual(scrubbed(#"{"authorization":"Bearer abc\/def-12345"}"#), #"{"authorization":"<redacted>"}"#)
    }

    func testSigningSecretsAreRedactedWithAndWithoutTheirPrefix() {
        XCTAssertEqual(scrubbed("whsec_c2lnbmluZy1rZXktYnl0ZXM= c2lnbmluZy1rZXktYnl0ZXM="), "<redacted> <redacted>")
    }

    func testATruncatedSnippetLosesATailThatBeginsAValue() {
        XCTAssertEqual(scrubbed("you sent Bearer abc/d", truncated: true), "you sent <redacted>")
        XCTAssertEqual(scrubbed("you sent Bearer abc/d"), "you sent Bearer abc/d")
        XCTAssertEqual(scrubbed("you sent Bear", truncated: true), "you sent Bear", "a tail shorter than the minimum stays")
    }

    func testValuesShorterThanTheMinimumAreNotLookedFor() {
        let short = EchoedSecretScrubber(headerValues: ["Basic a"], signingSecrets: [])
        XCTAssertEqual(String(decoding: short.scrub(Array("a Basic a".utf8), truncated: false), as: UTF8.self), "a Basic a")
    }

    func testHeaderValuesAndTheBodyOfAnAnswerAreScrubbed() {
        let answer = DeliveryResult(status: 500, headers: [("X-Echo", "Bearer abc/def-12345"), ("Retry-After", "5")],
                                    bodySnippet: Array("Authorization: Bearer abc/def-12345".utf8), transportError: nil, latencyMilliseconds: 3)
        let result = scrubber.scrub(answer)
        XCTAssertEqual(result.headers.map(\.value), ["<redacted>", "5"])
        XCTAssertEqual(String(decoding: result.bodySnippet, as: UTF8.self), "Authorization: <redacted>")
        XCTAssertEqual(result.status, 500)
    }
}
