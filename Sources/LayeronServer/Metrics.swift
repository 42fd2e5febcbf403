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

    /// Guards every table below.
    private let lock = NSLock()
    private var requests: [String: UInt64] = [:]
    private var rejections: [String: UInt64] = [:]
    private var duplicates: [String: UInt64] = [:]
    private var attempts: [String: UInt64] = [:]
    private var handlerSeconds: [String: Histogram] = [:]
    private var commitSeconds = Histogram()

    func countRequest(webhook: String, status: Int) {
        bump(&requests, "webhook=\"\(webhook)\",code=\"\(status)\"")
    }

    func countRejection(webhook: String, reason: String) {
        bump(&rejections, "webhook=\"\(webhook)\",reason=\"\(reason)\"")
    }

    func countDuplicate(webhook: String) {
        bump(&duplicates, "webhook=\"\(webhook)\"")
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

    private func bump(_ table: inout [String: UInt64], _ labels: String) {
        lock.lock()
        table[labels, default: 0] += 1
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
        counter("layeron_requests_total", "Inbound webhook requests by webhook and response status.", requests)
        counter("layeron_signature_rejections_total", "Requests refused for their signature, by reason.", rejections)
        counter("layeron_duplicates_total", "Provider retries folded into an earlier event.", duplicates)
        counter("layeron_handler_attempts_total", "Handler attempts by plugin and outcome.", attempts)
        out += "# HELP layeron_handler_duration_seconds Handler call duration.\n# TYPE layeron_handler_duration_seconds histogram\n"
        for (labels, h) in handlerSeconds.sorted(by: { $0.key < $1.key }) { histogram("layeron_handler_duration_seconds", labels, h) }
        out += "# HELP layeron_store_append_seconds Time from append to commit of an inbound event.\n# TYPE layeron_store_append_seconds histogram\n"
        histogram("layeron_store_append_seconds", "", commitSeconds)
        for gauge in gauges {
            out += "# HELP \(gauge.name) \(gauge.help)\n# TYPE \(gauge.name) gauge\n\(gauge.name) \(gauge.value)\n"
        }
        return out
    }
}
