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

    /// Two label values of a counter (their names are the counter's, given at scrape time): a
    /// handler attempt or a delivery is counted without building its label text, which an attempt
    /// did twice on every event, under the lock.
    private struct LabelPair: Hashable {
        let first: String
        let second: String
    }

    /// Guards every table below.
    private let lock = NSLock()
    private var requests: [RequestLabels: UInt64] = [:]
    private var perWebhook: [String: WebhookCounters] = [:]
    private var endToEndSeconds = Histogram()
    /// (webhook, reason)
    private var rejections: [LabelPair: UInt64] = [:]
    /// By webhook.
    private var duplicates: [String: UInt64] = [:]
    /// (plugin, outcome)
    private var attempts: [LabelPair: UInt64] = [:]
    /// By plugin.
    private var handlerSeconds: [String: Histogram] = [:]
    private var commitSeconds = Histogram()
    private var walRestartSeconds = Histogram()
    /// By trigger: `timer` (a pass over every webhook) or `release` (over capped webhooks whose events finished).
    private var schedulerPasses: [String: UInt64] = [:]
    /// Events of capped webhooks started from the scheduler's read-ahead as a slot freed.
    private var readAheadStarts: UInt64 = 0
    /// (destination, result)
    private var outboundEmits: [LabelPair: UInt64] = [:]
    /// (destination, outcome)
    private var outboundAttempts: [LabelPair: UInt64] = [:]
    /// By destination.
    private var outboundSeconds: [String: Histogram] = [:]

    func countRequest(webhook: String, status: Int) {
        lock.lock()
        requests[RequestLabels(webhook: webhook, status: status), default: 0] += 1
        perWebhook[webhook, default: WebhookCounters()].countRequest(accepted: (200..<300).contains(status))
        lock.unlock()
    }

    func countRejection(webhook: String, reason: String) {
        lock.lock()
        rejections[LabelPair(first: webhook, second: reason), default: 0] += 1
        perWebhook[webhook, default: WebhookCounters()].rejections += 1
        lock.unlock()
    }

    func countDuplicate(webhook: String) {
        lock.lock()
        duplicates[webhook, default: 0] += 1
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
        attempts[LabelPair(first: plugin, second: outcome), default: 0] += 1
        handlerSeconds[plugin, default: Histogram()].observe(seconds)
        lock.unlock()
    }

    func observeWALRestart(seconds: Double) {
        lock.lock()
        walRestartSeconds.observe(seconds)
        lock.unlock()
    }

    func countSchedulerPass(trigger: String) {
        lock.lock()
        schedulerPasses[trigger, default: 0] += 1
        lock.unlock()
    }

    func countReadAheadStart() {
        lock.lock()
        readAheadStarts += 1
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
        outboundEmits[LabelPair(first: destination, second: result), default: 0] += 1
        lock.unlock()
    }

    /// One finished delivery attempt and how long the receiver took to answer (or the transport to fail).
    func countDelivery(destination: String, outcome: String, seconds: Double) {
        lock.lock()
        outboundAttempts[LabelPair(first: destination, second: outcome), default: 0] += 1
        outboundSeconds[destination, default: Histogram()].observe(seconds)
        lock.unlock()
    }

    /// The exposition text; `gauges` and `sampledCounters` (totals kept elsewhere) are sampled by the
    /// caller at scrape time.
    func render(gauges: [(name: String, help: String, value: Double)],
                sampledCounters: [(name: String, help: String, value: UInt64)] = []) -> String {
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
        func labelled(_ table: [LabelPair: UInt64], _ first: String, _ second: String) -> [String: UInt64] {
            Dictionary(uniqueKeysWithValues: table.map { ("\(first)=\"\($0.key.first)\",\(second)=\"\($0.key.second)\"", $0.value) })
        }
        func labelled<Value>(_ table: [String: Value], _ name: String) -> [String: Value] {
            Dictionary(uniqueKeysWithValues: table.map { ("\(name)=\"\($0.key)\"", $0.value) })
        }
        let requestLines = Dictionary(uniqueKeysWithValues: requests.map { ("webhook=\"\($0.key.webhook)\",code=\"\($0.key.status)\"", $0.value) })
        counter("layeron_requests_total", "Inbound webhook requests by webhook and response status.", requestLines)
        counter("layeron_signature_rejections_total", "Requests refused for their signature, by reason.", labelled(rejections, "webhook", "reason"))
        counter("layeron_duplicates_total", "Provider retries folded into an earlier event.", labelled(duplicates, "webhook"))
        counter("layeron_handler_attempts_total", "Handler attempts by plugin and outcome.", labelled(attempts, "plugin", "outcome"))
        out += "# HELP layeron_handler_duration_seconds Handler call duration.\n# TYPE layeron_handler_duration_seconds histogram\n"
        for (labels, h) in labelled(handlerSeconds, "plugin").sorted(by: { $0.key < $1.key }) { histogram("layeron_handler_duration_seconds", labels, h) }
        out += "# HELP layeron_store_append_seconds Time from append to commit of an inbound event.\n# TYPE layeron_store_append_seconds histogram\n"
        histogram("layeron_store_append_seconds", "", commitSeconds)
        out += "# HELP layeron_store_wal_restart_seconds Time the store's commits waited for the writer's own WAL checkpoint (once per WAL cycle).\n# TYPE layeron_store_wal_restart_seconds histogram\n"
        histogram("layeron_store_wal_restart_seconds", "", walRestartSeconds)
        out += "# HELP layeron_event_end_to_end_seconds From receipt to the handler's successful finish.\n# TYPE layeron_event_end_to_end_seconds histogram\n"
        histogram("layeron_event_end_to_end_seconds", "", endToEndSeconds)
        counter("layeron_scheduler_passes_total", "The scheduler's reads of due events: every webhook on a timer, or capped webhooks as their events finish.",
                labelled(schedulerPasses, "trigger"))
        out += "# HELP layeron_dispatch_read_ahead_starts_total Events of capped webhooks started as a slot freed, from the due events the scheduler read past the cap.\n"
            + "# TYPE layeron_dispatch_read_ahead_starts_total counter\nlayeron_dispatch_read_ahead_starts_total \(readAheadStarts)\n"
        counter("layeron_outbound_emits_total", "Outbound events emitted, by destination and result.", labelled(outboundEmits, "destination", "result"))
        counter("layeron_outbound_attempts_total", "Outbound delivery attempts by destination and outcome.",
                labelled(outboundAttempts, "destination", "outcome"))
        out += "# HELP layeron_outbound_attempt_duration_seconds Time the receiver took to answer a delivery.\n# TYPE layeron_outbound_attempt_duration_seconds histogram\n"
        for (labels, h) in labelled(outboundSeconds, "destination").sorted(by: { $0.key < $1.key }) { histogram("layeron_outbound_attempt_duration_seconds", labels, h) }
        for sampled in sampledCounters {
            out += "# HELP \(sampled.name) \(sampled.help)\n# TYPE \(sampled.name) counter\n\(sampled.name) \(sampled.value)\n"
        }
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
