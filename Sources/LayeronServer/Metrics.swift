import Foundation

/// Counters and histograms for `GET /metrics`, in Prometheus text format. Label values come from
/// config names and fixed reason codes, never from request data, so the series count stays bounded
/// and no secret or payload can reach the page.
final class Metrics: @unchecked Sendable {
    private struct Histogram {
        static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        var buckets = [UInt64](repeating: 0, count: Histogram.bounds.count)
        var count: UInt64 = 0
        var sum: Double = 0

        mutating func observe(_ value: Double) {
            for (i, bound) in Histogram.bounds.enumerated() where value <= bound { buckets[i] += 1 }
            count += 1
            sum += value
        }
    }

    /// A request counter's labels, kept as values: formatting them is left to the scrape, not done
    /// per request.
    private struct RequestLabels: Hashable {
        let webhook: String
        let status: Int
    }

    /// Guards every table below.
    private let lock = NSLock()
    private var requests: [RequestLabels: UInt64] = [:]
    private var perWebhook: [String: WebhookCounters] = [:]
    private var endToEndSeconds = Histogram()
    private var rejections: [String: UInt64] = [:]
    private var duplicates: [String: UInt64] = [:]
    private var attempts: [String: UInt64] = [:]
    private var handlerSeconds: [String: Histogram] = [:]
    private var commitSeconds = Histogram()
    private var outboundEmits: [String: UInt64] = [:]
    private var outboundAttempts: [String: UInt64] = [:]
    private var outboundSeconds: [String: Histogram] = [:]

    func countRequest(webhook: String, status: Int) {
        lock.lock()
        requests[RequestLabels(webhook: webhook, status: status), default: 0] += 1
        perWebhook[webhook, default: WebhookCounters()].countRequest(accepted: (200..<300).contains(status))
        lock.unlock()
    }

    func countRejection(webhook: String, reason: String) {
        lock.lock()
        rejections["webhook=\"\(webhook)\",reason=\"\(reason)\"", default: 0] += 1
        perWebhook[webhook, default: WebhookCounters()].rejections += 1
        lock.unlock()
    }

    func countDuplicate(webhook: String) {
        lock.lock()
        duplicates["webhook=\"\(webhook)\"", default: 0] += 1
        perWebhook[webhook, default: WebhookCounters()].duplicates += 1
        lock.unlock()
    }

    /// From receipt to a handler's successful finish, first attempts and retries alike.
    func observeEndToEnd(seconds: Double) {
        lock.lock()
        endToEndSeconds.observe(seconds)
        lock.unlock()
    }

    func webhookCounters() -> [String: WebhookCounters] {
        lock.lock()
        defer { lock.unlock() }
        return perWebhook
    }

    func countAttempt(plugin: String, outcome: String, seconds: Double) {
        lock.lock()
        attempts["plugin=\"\(plugin)\",outcome=\"\(outcome)\"", default: 0] += 1
        handlerSeconds["plugin=\"\(plugin)\"", default: Histogram()].observe(seconds)
        lock.unlock()
    }

    func observeCommit(seconds: Double) {
        lock.lock()
        commitSeconds.observe(seconds)
        lock.unlock()
    }

    /// An emit for a configured destination: `recorded`, `duplicate` (its idempotency key named an
    /// earlier event) or `refused` (invalid type, key or payload, or the destination is disabled).
    func countEmit(destination: String, result: String) {
        lock.lock()
        outboundEmits["destination=\"\(destination)\",result=\"\(result)\"", default: 0] += 1
        lock.unlock()
    }

    /// One finished delivery attempt and how long the receiver took to answer (or the transport to fail).
    func countDelivery(destination: String, outcome: String, seconds: Double) {
        lock.lock()
        outboundAttempts["destination=\"\(destination)\",outcome=\"\(outcome)\"", default: 0] += 1
        outboundSeconds["destination=\"\(destination)\"", default: Histogram()].observe(seconds)
        lock.unlock()
    }

    /// The exposition text; `gauges` are sampled by the caller at scrape time.
    func render(gauges: [(name: String, help: String, value: Double)]) -> String {
        lock.lock()
        defer { lock.unlock() }
        var out = ""
        func counter(_ name: String, _ help: String, _ table: [String: UInt64]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (labels, value) in table.sorted(by: { $0.key < $1.key }) { out += "\(name){\(labels)} \(value)\n" }
        }
        func histogram(_ name: String, _ labels: String, _ h: Histogram) {
            let prefix = labels.isEmpty ? "" : labels + ","
            for (i, bound) in Histogram.bounds.enumerated() {
                out += "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(h.buckets[i])\n"
            }
            out += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(h.count)\n"
            out += "\(name)_sum\(labels.isEmpty ? "" : "{\(labels)}") \(h.sum)\n"
            out += "\(name)_count\(labels.isEmpty ? "" : "{\(labels)}") \(h.count)\n"
        }
        let requestLines = Dictionary(uniqueKeysWithValues: requests.map { ("webhook=\"\($0.key.webhook)\",code=\"\($0.key.status)\"", $0.value) })
        counter("layeron_requests_total", "Inbound webhook requests by webhook and response status.", requestLines)
        counter("layeron_signature_rejections_total", "Requests refused for their signature, by reason.", rejections)
        counter("layeron_duplicates_total", "Provider retries folded into an earlier event.", duplicates)
        counter("layeron_handler_attempts_total", "Handler attempts by plugin and outcome.", attempts)
        out += "# HELP layeron_handler_duration_seconds Handler call duration.\n# TYPE layeron_handler_duration_seconds histogram\n"
        for (labels, h) in handlerSeconds.sorted(by: { $0.key < $1.key }) { histogram("layeron_handler_duration_seconds", labels, h) }
        out += "# HELP layeron_store_append_seconds Time from append to commit of an inbound event.\n# TYPE layeron_store_append_seconds histogram\n"
        histogram("layeron_store_append_seconds", "", commitSeconds)
        out += "# HELP layeron_event_end_to_end_seconds From receipt to the handler's successful finish.\n# TYPE layeron_event_end_to_end_seconds histogram\n"
        histogram("layeron_event_end_to_end_seconds", "", endToEndSeconds)
        counter("layeron_outbound_emits_total", "Outbound events emitted, by destination and result.", outboundEmits)
        counter("layeron_outbound_attempts_total", "Outbound delivery attempts by destination and outcome.", outboundAttempts)
        out += "# HELP layeron_outbound_attempt_duration_seconds Time the receiver took to answer a delivery.\n# TYPE layeron_outbound_attempt_duration_seconds histogram\n"
        for (labels, h) in outboundSeconds.sorted(by: { $0.key < $1.key }) { histogram("layeron_outbound_attempt_duration_seconds", labels, h) }
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n\(gauge.name) \(gauge.value)\n"
        }
        return out
    }
}

/// Per-webhook counts since start, for `GET /admin/webhooks`.
struct WebhookCounters: Sendable {
    var requests: UInt64 = 0
    var accepted: UInt64 = 0
    var rejections: UInt64 = 0
    var duplicates: UInt64 = 0

    /// One request, `accepted` when it was answered with a 2xx.
    mutating func countRequest(accepted: Bool) {
        requests += 1
        if accepted { self.accepted += 1 }
    }
}
