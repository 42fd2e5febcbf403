/// CRM, forms, scheduling, storage, support, accounting and site builders.
extension ProviderPresets {
    static let business: [ProviderPreset] = [
        ProviderPreset("hubspot", SignatureScheme(
            header: "x-hubspot-signature-v3", algorithm: .hmac(.sha256), encoding: .base64,
            payload: .preset("{method}{url}{body}{timestamp}"), timestamp: .header("x-hubspot-request-timestamp", .milliseconds)),
            docs: "https://developers.hubspot.com/docs/guides/apps/authentication/validating-requests#validate-the-v3-request-signature"),
        ProviderPreset("typeform", SignatureScheme(header: "typeform-signature", format: .whole(prefix: "sha256="),
                                                   algorithm: .hmac(.sha256), encoding: .base64),
                       id: "body.event_id", type: "body.event_type",
                       docs: "https://www.typeform.com/developers/webhooks/secure-your-webhooks/"),
        ProviderPreset("calendly", SignatureScheme(
            header: "calendly-webhook-signature", format: .keyed(",", ["t": .timestamp, "v1": .signature]),
            algorithm: .hmac(.sha256), encoding: .hex, payload: .preset("{timestamp}.{body}"),
            timestamp: TimestampRule(.formatField, toleranceSeconds: 180)),
            type: "body.event", dedupe: "{body.event}:{body.payload.uri}",
            docs: "https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures"),
        ProviderPreset("dropbox", SignatureScheme(header: "x-dropbox-signature", algorithm: .hmac(.sha256), encoding: .hex),
                       docs: "https://www.dropbox.com/developers/reference/webhooks#notifications"),
        ProviderPreset("zendesk", SignatureScheme(
            header: "x-zendesk-webhook-signature", algorithm: .hmac(.sha256), encoding: .base64,
            payload: .preset("{timestamp}{body}"), timestamp: .header("x-zendesk-webhook-signature-timestamp", .rfc3339)),
            id: "header.x-zendesk-webhook-invocation-id", type: "body.type",
            docs: "https://developer.zendesk.com/documentation/webhooks/verifying/"),
        ProviderPreset("xero", SignatureScheme(header: "x-xero-signature", algorithm: .hmac(.sha256), encoding: .base64)
                           .rejecting(with: 401),
                       docs: "https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/"),
        ProviderPreset("webflow", SignatureScheme(
            header: "x-webflow-signature", algorithm: .hmac(.sha256), encoding: .hex,
            payload: .preset("{timestamp}:{body}"), timestamp: .header("x-webflow-timestamp", .milliseconds)),
            type: "body.triggerType",
            docs: "https://developers.webflow.com/data/docs/working-with-webhooks#validating-request-signatures"),
        ProviderPreset("mux", SignatureScheme(
            header: "mux-signature", format: .keyed(",", ["t": .timestamp, "v1": .signature]),
            algorithm: .hmac(.sha256), encoding: .hex, payload: .preset("{timestamp}.{body}"),
            timestamp: TimestampRule(.formatField)),
            id: "body.id", type: "body.type",
            docs: "https://docs.mux.com/core/verify-webhook-signatures"),
        ProviderPreset("cal-com", SignatureScheme(header: "x-cal-signature-256", algorithm: .hmac(.sha256), encoding: .hex),
                       type: "body.triggerEvent",
                       docs: "https://cal.com/docs/developing/guides/automation/webhooks#verifying-the-authenticity-of-the-received-payload"),
        ProviderPreset("trello", SignatureScheme(header: "x-trello-webhook", algorithm: .hmac(.sha1), encoding: .base64,
                                                 payload: .preset("{body}{url}")).answeringHeadProbes(),
                       id: "body.action.id", type: "body.action.type",
                       docs: "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures"),
    ]
}
