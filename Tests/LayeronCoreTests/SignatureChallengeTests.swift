import LayeronCore
import LayeronCrypto
import XCTest

/// Handshakes answered for the user once the request verified.
final class SignatureChallengeTests: XCTestCase {
    private func request(_ body: String, headers: [(name: String, value: String)] = []) -> InboundRequest {
        InboundRequest(method: "POST", path: "/", headers: headers, body: Array(body.utf8))
    }

    func testZoomURLValidationMatchesTheCommittedVector() throws {
        let vector = try XCTUnwrap(try SignatureVectors.json("custom.json")["zoom_challenge"])
        let plain = try XCTUnwrap(vector["plainToken"]?.stringValue)
        let secret = SecretValue(try XCTUnwrap(vector["secret"]?.stringValue))
        let body = #"{"payload":{"plainToken":"\#(plain)"},"event_ts":1700000000000,"event":"endpoint.url_validation"}"#
        let response = try XCTUnwrap(ProviderPreset.all["zoom"]?.baseScheme.challenge?.response(to: request(body), secret: secret))
        let json = try JSONParser.parse(response.body)
        XCTAssertEqual(json["plainToken"]?.stringValue, plain)
        XCTAssertEqual(json["encryptedToken"]?.stringValue, vector["encryptedToken"]?.stringValue)
        XCTAssertEqual(response.contentType, "application/json")
        XCTAssertNil(ChallengeResponder.zoomURLValidation.response(to: request(#"{"event":"meeting.started"}"#), secret: secret))
    }

    func testSlackDiscordAndTwitchHandshakes() throws {
        let slack = try XCTUnwrap(ChallengeResponder.slackURLVerification.response(
            to: request(#"{"token":"t","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#), secret: nil))
        XCTAssertEqual(try JSONParser.parse(slack.body)["challenge"]?.stringValue, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        XCTAssertNil(ChallengeResponder.slackURLVerification.response(to: request(#"{"type":"event_callback"}"#), secret: nil))

        let pong = try XCTUnwrap(ChallengeResponder.discordPing.response(to: request(#"{"type":1,"id":"1"}"#), secret: nil))
        XCTAssertEqual(String(decoding: pong.body, as: UTF8.self), #"{"type":1}"#)
        XCTAssertNil(ChallengeResponder.discordPing.response(to: request(#"{"type":2}"#), secret: nil))

        let twitch = try XCTUnwrap(ChallengeResponder.twitchCallbackVerification.response(
            to: request(#"{"challenge":"pogchamp-kappa-360noscope-vohiyo"}"#,
                        headers: [("twitch-eventsub-message-type", "webhook_callback_verification")]), secret: nil))
        XCTAssertEqual(String(decoding: twitch.body, as: UTF8.self), "pogchamp-kappa-360noscope-vohiyo")
        XCTAssertEqual(twitch.contentType, "text/plain")
        XCTAssertNil(ChallengeResponder.twitchCallbackVerification.response(
            to: request(#"{"challenge":"x"}"#, headers: [("twitch-eventsub-message-type", "notification")]), secret: nil))
    }
}
