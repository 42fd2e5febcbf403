/// Chat, voice, email and video.
extension ProviderPresets {
    static let messaging: [ProviderPreset] = [
        ProviderPreset("slack", SignatureScheme(
            header: "x-slack-signature", format: .whole(prefix: "v0="), algorithm: .hmac(.sha256), encoding: .hex,
            payload: .preset("v0:{timestamp}:{body}"), timestamp: .header("x-slack-request-timestamp"),
            challenge: .slackURLVerification),
            id: "body.event_id", type: "body.event.type",
            docs: "https://api.slack.com/authentication/verifying-requests-from-slack"),
        ProviderPreset("zoom", SignatureScheme(
            header: "x-zm-signature", format: .whole(prefix: "v0="), algorithm: .hmac(.sha256), encoding: .hex,
            payload: .preset("v0:{timestamp}:{body}"), timestamp: .header("x-zm-request-timestamp"),
            challenge: .zoomURLValidation),
            // No default dedupe: Zoom sends no delivery id, and distinct events of one type share
            // `event_ts` (two participants joining in one millisecond), so no template of its fields
            // tells one delivery from another.
            type: "body.event",
            docs: "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events"),
        ProviderPreset("discord", SignatureScheme(
            header: "x-signature-ed25519", algorithm: .ed25519, encoding: .hex,
            payload: .preset("{timestamp}{body}"), timestamp: .header("x-signature-timestamp"),
            challenge: .discordPing),
            id: "body.id", type: "body.type",
            docs: "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers"),
        ProviderPreset("twilio", SignatureScheme(
            signature: .header("x-twilio-signature"), algorithm: .hmac(.sha1), encoding: .base64,
            payload: SignedPayloadTemplate(parts: [.url, .sortedFormParameters]),
            checksBodySHA256Query: true, acceptsURLWithDefaultPort: true),
            id: "header.i-twilio-idempotency-token",
            docs: "https://www.twilio.com/docs/usage/webhooks/webhooks-security#validating-signatures-from-twilio"),
        ProviderPreset("sendgrid", SignatureScheme(
            header: "x-twilio-email-event-webhook-signature", algorithm: .ecdsaP256SHA256, encoding: .base64,
            payload: .preset("{timestamp}{body}"), timestamp: .header("x-twilio-email-event-webhook-timestamp")),
            docs: "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features"),
        ProviderPreset("mailgun", SignatureScheme(
            signature: .body(["signature", "signature"]), algorithm: .hmac(.sha256), encoding: .hex,
            payload: .preset("{body:signature.timestamp}{body:signature.token}"),
            timestamp: TimestampRule(.field(.body(["signature", "timestamp"])))),
            id: "body.event-data.id", type: "body.event-data.event",
            docs: "https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks"),
        ProviderPreset("postmark", SignatureScheme(header: "authorization", format: .credentials(scheme: "Basic"),
                                                   algorithm: .token, encoding: .base64),
                       // Only Bounce and SpamComplaint records carry an id of their own (`ID`); the
                       // others share the message's `MessageID` across recipients, links and opens,
                       // so they get no key rather than one that folds distinct events.
                       type: "body.RecordType", dedupe: "{body.RecordType}:{body.ID}",
                       docs: "https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook"),
        ProviderPreset("intercom", SignatureScheme(header: "x-hub-signature", format: .whole(prefix: "sha1="),
                                                   algorithm: .hmac(.sha1), encoding: .hex),
                       id: "body.id", type: "body.topic",
                       docs: "https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications"),
        ProviderPreset("twitch", SignatureScheme(
            header: "twitch-eventsub-message-signature", format: .whole(prefix: "sha256="), algorithm: .hmac(.sha256),
            encoding: .hex, payload: .preset("{id}{timestamp}{body}"),
            timestamp: .header("twitch-eventsub-message-timestamp", .rfc3339, tolerance: 600),
            id: .field(.header("twitch-eventsub-message-id")), challenge: .twitchCallbackVerification),
            id: "header.twitch-eventsub-message-id", type: "header.twitch-eventsub-subscription-type",
            docs: "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message"),
    ]
}
