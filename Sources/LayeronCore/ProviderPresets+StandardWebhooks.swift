/// Standard Webhooks and the providers that send it (most through Svix).
extension ProviderPresets {
    /// `webhook-signature: v1,<b64> v1,<b64>`, HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with the
    /// base64 after `whsec_`. `prefix` names the headers: `webhook` (the standard) or `svix`.
    static func standardWebhooksScheme(headers prefix: String) -> SignatureScheme {
        SignatureScheme(header: "\(prefix)-signature", format: .fields(separator: " ", assignment: ",", keys: ["v1": .signature]),
                        algorithm: .hmac(.sha256), encoding: .base64, secretFormat: .whsec,
                        payload: .preset("{id}.{timestamp}.{body}"), timestamp: .header("\(prefix)-timestamp"),
                        id: .field(.header("\(prefix)-id")))
    }

    static let standardWebhooks: [ProviderPreset] = [
        ProviderPreset("standard-webhooks", standardWebhooksScheme(headers: "webhook"), id: "header.webhook-id", type: "body.type",
                       docs: "https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md"),
        ProviderPreset("svix", standardWebhooksScheme(headers: "svix"), id: "header.svix-id", type: "body.type",
                       docs: "https://docs.svix.com/receiving/verifying-payloads/how-manual"),
        ProviderPreset("clerk", standardWebhooksScheme(headers: "svix"), id: "header.svix-id", type: "body.type",
                       docs: "https://clerk.com/docs/webhooks/sync-data"),
        ProviderPreset("resend", standardWebhooksScheme(headers: "svix"), id: "header.svix-id", type: "body.type",
                       docs: "https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests"),
        ProviderPreset("replicate", standardWebhooksScheme(headers: "webhook"), id: "header.webhook-id", type: "body.status",
                       docs: "https://replicate.com/docs/topics/webhooks/verify-webhook"),
    ]
}
