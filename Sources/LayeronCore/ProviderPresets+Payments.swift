/// Payments and commerce.
extension ProviderPresets {
    static let payments: [ProviderPreset] = [
        ProviderPreset("stripe", .stripe(), id: "body.id", type: "body.type",
                       docs: "https://docs.stripe.com/webhooks#verify-manually"),
        ProviderPreset("paddle", SignatureScheme(
            header: "paddle-signature", format: .keyed(";", ["ts": .timestamp, "h1": .signature]),
            algorithm: .hmac(.sha256), encoding: .hex, payload: .preset("{timestamp}:{body}"),
            timestamp: TimestampRule(.formatField)),
            id: "body.event_id", type: "body.event_type",
            docs: "https://developer.paddle.com/webhooks/signature-verification"),
        ProviderPreset("square", SignatureScheme(
            header: "x-square-hmacsha256-signature", algorithm: .hmac(.sha256), encoding: .base64,
            payload: .preset("{url}{body}")),
            id: "body.event_id", type: "body.type",
            docs: "https://developer.squareup.com/docs/webhooks/step3validate"),
        ProviderPreset("shopify", SignatureScheme(header: "x-shopify-hmac-sha256", algorithm: .hmac(.sha256), encoding: .base64),
                       id: "header.x-shopify-webhook-id", type: "header.x-shopify-topic",
                       docs: "https://shopify.dev/docs/apps/build/webhooks/verify-deliveries"),
        ProviderPreset("razorpay", SignatureScheme(header: "x-razorpay-signature", algorithm: .hmac(.sha256), encoding: .hex),
                       id: "header.x-razorpay-event-id", type: "body.event",
                       docs: "https://razorpay.com/docs/webhooks/validate-test/"),
        ProviderPreset("coinbase-commerce", SignatureScheme(header: "x-cc-webhook-signature", algorithm: .hmac(.sha256), encoding: .hex),
                       id: "body.event.id", type: "body.event.type",
                       docs: "https://docs.cdp.coinbase.com/commerce-onchain/docs/webhooks-security"),
        ProviderPreset("lemon-squeezy", SignatureScheme(header: "x-signature", algorithm: .hmac(.sha256), encoding: .hex),
                       type: "header.x-event-name",
                       docs: "https://docs.lemonsqueezy.com/help/webhooks/signing-requests"),
        ProviderPreset("woocommerce", SignatureScheme(header: "x-wc-webhook-signature", algorithm: .hmac(.sha256), encoding: .base64),
                       id: "header.x-wc-webhook-delivery-id", type: "header.x-wc-webhook-topic",
                       docs: "https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks"),
    ]
}
