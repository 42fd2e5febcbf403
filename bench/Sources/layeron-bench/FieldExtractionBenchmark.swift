import LayeronCore

/// The HTTP thread's per-request parsing, on a Stripe `invoice.paid` event of the shape
/// `bench/make_requests.py` sends (1.2 KB): `EventFields.extract` for the Stripe preset (the pruned
/// parse of the body for id, type and dedupe key) beside a full parse of the same body into a tree.
enum FieldExtractionBenchmark {
    static let iterations = 50_000

    static let body = Array(#"{"id":"evt_bench0000000001","object":"event","api_version":"2024-06-20","created":1796412695,"type":"invoice.paid","livemode":false,"pending_webhooks":1,"request":{"id":"req_bench00000001","idempotency_key":"ik_bench_1"},"data":{"object":{"id":"in_bench0000000001","object":"invoice","amount_due":4200,"amount_paid":4200,"amount_remaining":0,"billing_reason":"subscription_cycle","collection_method":"charge_automatically","currency":"usd","customer":"cus_bench000001","customer_email":"user1@example.com","hosted_invoice_url":"https://invoice.stripe.com/i/acct_1Bench/test_xxxxxxxxxxxxxxxx","invoice_pdf":"https://pay.stripe.com/invoice/acct_1Bench/test_xxxxxxxxxxxxxxxx/pdf","lines":{"object":"list","data":[{"id":"il_bench00000001","amount":4200,"currency":"usd","description":"1 x Pro plan (at $42.00 / month)","period":{"start":1719792000,"end":1722470400},"price":{"id":"price_1BenchPro","unit_amount":4200,"recurring":{"interval":"month"}}}],"has_more":false,"total_count":1,"url":"/v1/invoices/in_bench0000000001/lines"},"metadata":{"order":"ord_1","region":"eu-west"},"paid":true,"status":"paid","subscription":"sub_bench00000001","subtotal":4200,"tax":0,"total":4200}}}"#.utf8)

    static func run() throws -> JSONValue {
        let config = #"{"webhooks": [{"name": "stripe", "provider": "stripe", "secret": {"secret": "STRIPE_WEBHOOK_SECRET"}}]}"#
        guard let webhook = try ConfigLoader.load(text: Array(config.utf8), file: "bench.json").webhooks.first else {
            return .object([("error", "no webhook in the bench config")])
        }
        let request = InboundRequest(method: "POST", path: "/webhooks/stripe", host: "localhost",
                                     headers: [("content-type", "application/json; charset=utf-8")], body: body)
        let extract = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(EventFields.extract(from: request, webhook: webhook)) }
        let full = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(try? JSONParser.parse(body)) }
        return .object([("body_bytes", .int(Int64(body.count))), ("extract_ns", .double((extract * 10).rounded() / 10)),
                        ("full_parse_ns", .double((full * 10).rounded() / 10))])
    }
}
