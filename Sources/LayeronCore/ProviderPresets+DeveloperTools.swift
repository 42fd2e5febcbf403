/// Source hosting, issue trackers, monitoring and deploy platforms.
extension ProviderPresets {
    static let developerTools: [ProviderPreset] = [
        ProviderPreset("github", SignatureScheme(header: "x-hub-signature-256", format: .whole(prefix: "sha256="),
                                                 algorithm: .hmac(.sha256), encoding: .hex),
                       id: "header.x-github-delivery", type: "header.x-github-event",
                       docs: "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries"),
        ProviderPreset("gitlab", SignatureScheme(header: "x-gitlab-token", algorithm: .token, encoding: .text),
                       id: "header.x-gitlab-event-uuid", type: "body.object_kind",
                       // X-Gitlab-Event-UUID is new on every retry; Idempotency-Key (GitLab 17.4+) stays the same
                       // across retries, so it is the dedupe key. Older GitLab sends none and is not deduplicated.
                       dedupe: "header.idempotency-key",
                       docs: "https://docs.gitlab.com/user/project/integrations/webhooks/#validate-payloads-by-using-a-secret-token"),
        ProviderPreset("bitbucket", SignatureScheme(header: "x-hub-signature", format: .whole(prefix: "sha256="),
                                                    algorithm: .hmac(.sha256), encoding: .hex),
                       id: "header.x-request-uuid", type: "header.x-event-key",
                       docs: "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks"),
        ProviderPreset("linear", SignatureScheme(
            header: "linear-signature", algorithm: .hmac(.sha256), encoding: .hex,
            timestamp: TimestampRule(.field(.body(["webhookTimestamp"])), unit: .milliseconds, toleranceSeconds: 60)),
            id: "header.linear-delivery", type: "header.linear-event",
            docs: "https://linear.app/developers/webhooks#securing-webhooks"),
        ProviderPreset("sentry", SignatureScheme(header: "sentry-hook-signature", algorithm: .hmac(.sha256), encoding: .hex),
                       id: "header.request-id", type: "header.sentry-hook-resource",
                       docs: "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#verifying-the-signature"),
        ProviderPreset("vercel", SignatureScheme(header: "x-vercel-signature", algorithm: .hmac(.sha1), encoding: .hex),
                       id: "body.id", type: "body.type",
                       docs: "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks"),
        ProviderPreset("pagerduty", SignatureScheme(header: "x-pagerduty-signature", format: .keyed(",", ["v1": .signature]),
                                                    algorithm: .hmac(.sha256), encoding: .hex),
                       id: "body.event.id", type: "body.event.event_type",
                       docs: "https://developer.pagerduty.com/docs/webhooks-overview#verifying-signatures"),
        ProviderPreset("segment", SignatureScheme(header: "x-signature", algorithm: .hmac(.sha1), encoding: .hex),
                       id: "body.messageId", type: "body.type",
                       docs: "https://segment.com/docs/connections/destinations/catalog/webhooks/#authentication"),
    ]
}
