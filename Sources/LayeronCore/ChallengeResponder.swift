import LayeronCrypto

/// A provider handshake that the server answers for the user once the request has verified, so that
/// no plugin has to implement it. Each case is a rule no template can say.
public enum ChallengeResponder: String, Sendable, Hashable {
    /// Zoom `endpoint.url_validation`: `{"plainToken", "encryptedToken": hex HMAC-SHA256(secret, plainToken)}`.
    case zoomURLValidation
    /// Slack Events API `url_verification`: echo `challenge`.
    case slackURLVerification
    /// Discord interactions PING (`"type": 1`): answer PONG `{"type": 1}`.
    case discordPing
    /// Twitch EventSub `webhook_callback_verification`: the raw `challenge` as text.
    case twitchCallbackVerification

    /// The answer to send instead of recording an event, or nil when this request is not the handshake.
    /// `secret` is the secret that verified the request.
    public func response(to request: InboundRequest, secret: SecretValue?) -> ChallengeResponse? {
        switch self {
        case .zoomURLValidation:
            guard let body = try? JSONParser.parse(request.body), body["event"]?.stringValue == "endpoint.url_validation",
                  let plain = body["payload"]?["plainToken"]?.stringValue, let secret else { return nil }
            let encrypted = ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: secret.bytes, message: Array(plain.utf8)))
            return .json(.object([("plainToken", .string(plain)), ("encryptedToken", .string(encrypted))]))
        case .slackURLVerification:
            guard let body = try? JSONParser.parse(request.body), body["type"]?.stringValue == "url_verification",
                  let challenge = body["challenge"]?.stringValue else { return nil }
            return .json(.object([("challenge", .string(challenge))]))
        case .discordPing:
            guard let body = try? JSONParser.parse(request.body), case let .number(type)? = body["type"], type.value == 1 else { return nil }
            return .json(.object([("type", .number(1))]))
        case .twitchCallbackVerification:
            guard request.header("twitch-eventsub-message-type") == "webhook_callback_verification",
                  let body = try? JSONParser.parse(request.body), let challenge = body["challenge"]?.stringValue else { return nil }
            return ChallengeResponse(contentType: "text/plain", body: Array(challenge.utf8))
        }
    }
}

/// A 200 answer to a handshake.
public struct ChallengeResponse: Sendable, Equatable {
    public let contentType: String
    public let body: [UInt8]

    static func json(_ value: JSONValue) -> ChallengeResponse {
        ChallengeResponse(contentType: "application/json", body: Array(value.serialized().utf8))
    }
}
