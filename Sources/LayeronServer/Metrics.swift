import Foundation
import LayeronHTTP

/// Counters and histograms for `GET /metrics`, in Prometheus text format. Label values come from
/// config names and fixed reason codes, never from request data, so the series count stays bounded
/// and no secret or payload can reach the page.
final class Metrics: @unchecked Sendable {
    /// Two label values of a counter (their names are the counter's, given at scrape time): a
    /// handler attempt or a delivery is counted without building its label text, which an attempt
    /// did twice on every event, under the lock.
    private struct LabelPair: Hashable {
        let first: String
        let second: String
    }

    /// Guards every table below. The counters every event updates are not among them: they are
    /// cells with locks of their own (`WebhookMetrics`, `PluginMetrics`, `HistogramCell`), which
    /// the request path and the workers hold on to, so an event neither takes this lock nor hashes a
    /// name for its metrics (docs/performance.md, item 50).
    private let lock = NSLock()
    /// By webhook name; a cell outlives reloads, so counts survive a config change.
    private var webhooks: [String: WebhookMetrics] = [:]
    /// By plugin name.
    private var plugins: [String: PluginMetrics] = [:]
    /// From receipt to a handler's successful finish, first attempts and retries alike.
    let endToEnd = HistogramCell()
    /// From append to commit of an inbound event.
    let commit = HistogramCell()
    private var walRestartSeconds = Histogram()
    /// By trigger: `timer` (a pass over every webhook) or `release` (over capped webhooks whose events finished).
    private var schedulerPasses: [String: UInt64] = [:]
    /// Config reloads by result: `applied` or `refused` (the running config stayed).
    private var configReloads: [String: UInt64] = [:]
    /// Whether the last reload was applied (true before any): a refused one leaves the file and the
    /// running config apart until the next reload, which an alert can watch for.
    private var lastReloadApplied = true
    /// Events of capped webhooks started from the scheduler's read-ahead as a slot freed.
    private var readAheadStarts: UInt64 = 0
    /// Connections closed for a request not whole in time, by listener (`public`, `admin`).
    private var requestTimeouts: [String: UInt64] = [:]
    /// (listener, reason): requests answered before any webhook or admin route took them.
    private var refusals: [LabelPair: UInt64] = [:]
    /// Times each listener filled (`ConnectionLimitReached.listener`), by listener.
    private var connectionLimitsReached: [String: UInt64] = [:]
    /// Connections closed as they opened for their address's cap, by listener.
    private var perAddressRefusals: [String: UInt64] = [:]
    /// Each listener's open connections, read at scrape time.
    private var openConnections: [(listener: String, read: @Sendable () -> Int)] = []
    /// (destination, result)
    private var outboundEmits: [LabelPair: UInt64] = [:]
    /// (destination, outcome)
    private var outboundAttempts: [LabelPair: UInt64] = [:]
    /// By destination.
    private var outboundSeconds: [String: Histogram] = [:]

    /// The counters of the webhook named `name`, made at its first use.
    func webhook(named name: String) -> WebhookMetrics {
        lock.lock()
        defer { lock.unlock() }
        return Self.cell(named: name, in: &webhooks, make: WebhookMetrics.init)
    }

    /// The counters of the plugin named `name`, made at its first use.
    func plugin(named name: String) -> PluginMetrics {
        lock.lock()
        defer { lock.unlock() }
        return Self.cell(named: name, in: &plugins, make: PluginMetrics.init)
    }

    private static func cell<Cell>(named name: String, in table: inout [String: Cell], make: () -> Cell) -> Cell {
        if let cell = table[name] { return cell }
        let cell = make()
        table[name] = cell
        return cell
    }

    /// Per-webhook counts since start, for `GET /admin/webhooks`.
    func webhookCounters() -> [String: WebhookCounters] {
        lock.lock()
        let cells = webhooks
        lock.unlock()
        return cells.mapValues { $0.counts.totals }
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

    func countConfigReload(applied: Bool) {
        lock.lock()
        configReloads[applied ? "applied" : "refused", default: 0] += 1
        lastReloadApplied = applied
        lock.unlock()
    }

    func countReadAheadStart() {
        lock.lock()
        readAheadStarts += 1
        lock.unlock()
    }

    func countRequestTimeout(listener: String) {
        lock.lock()
        requestTimeouts[listener, default: 0] += 1
        lock.unlock()
    }

    /// A request the listener answered itself (`RequestRefusal.label`), or a public request whose
    /// path no webhook serves (`no_webhook`, `no_webhook_for_host`): a fixed set of reasons, since
    /// the path and everything else in the request are the sender's to choose.
    func countRefusal(listener: String, reason: String) {
        lock.lock()
        refusals[LabelPair(first: listener, second: reason), default: 0] += 1
        lock.unlock()
    }

    /// A listener filled, or closed a connection for its address's cap.
    func countConnectionLimit(listener: String, _ reached: ConnectionLimitReached) {
        lock.lock()
        switch reached {
        case .listener: connectionLimitsReached[listener, default: 0] += 1
        case .perAddress: perAddressRefusals[listener, default: 0] += 1
        }
        lock.unlock()
    }

    /// Shows `read()` (an atomic load) as the listener's open connections.
    func showOpenConnections(listener: String, _ read: @escaping @Sendable () -> Int) {
        lock.lock()
        openConnections.append((listener, read))
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
        var requests: [String: UInt64] = [:]
        var rejections: [LabelPair: UInt64] = [:]
        var duplicates: [String: UInt64] = [:]
        for (name, cell) in webhooks {
            let counts = cell.counts
            for (status, value) in counts.byStatus { requests["webhook=\"\(name)\",code=\"\(status)\""] = value }
            for (reason, value) in counts.rejectionsByReason { rejections[LabelPair(first: name, second: reason)] = value }
            if counts.totals.duplicates > 0 { duplicates[name] = counts.totals.duplicates }
        }
        var attempts: [LabelPair: UInt64] = [:]
        var handlerSeconds: [String: Histogram] = [:]
        for (name, cell) in plugins {
            let counts = cell.counts
            for (outcome, value) in counts.attempts where value > 0 { attempts[LabelPair(first: name, second: outcome)] = value }
            if counts.seconds.count > 0 { handlerSeconds[name] = counts.seconds }
        }
        counter("layeron_requests_total", "Inbound webhook requests by webhook and response status.", requests)
        counter("layeron_signature_rejections_total", "Requests refused for their signature, by reason.", labelled(rejections, "webhook", "reason"))
        counter("layeron_duplicates_total", "Provider retries folded into an earlier event.", labelled(duplicates, "webhook"))
        counter("layeron_handler_attempts_total", "Handler attempts by plugin and outcome.", labelled(attempts, "plugin", "outcome"))
        out += "# HELP layeron_handler_duration_seconds Handler call duration.\n# TYPE layeron_handler_duration_seconds histogram\n"
        for (labels, h) in labelled(handlerSeconds, "plugin").sorted(by: { $0.key < $1.key }) { histogram("layeron_handler_duration_seconds", labels, h) }
        out += "# HELP layeron_store_append_seconds Time from append to commit of an inbound event.\n# TYPE layeron_store_append_seconds histogram\n"
        histogram("layeron_store_append_seconds", "", commit.value)
        out += "# HELP layeron_store_wal_restart_seconds Time the store's commits waited for the writer's own WAL checkpoint (once per WAL cycle).\n# TYPE layeron_store_wal_restart_seconds histogram\n"
        histogram("layeron_store_wal_restart_seconds", "", walRestartSeconds)
        out += "# HELP layeron_event_end_to_end_seconds From receipt to the handler's successful finish.\n# TYPE layeron_event_end_to_end_seconds histogram\n"
        histogram("layeron_event_end_to_end_seconds", "", endToEnd.value)
        counter("layeron_scheduler_passes_total", "The scheduler's reads of due events: every webhook on a timer, or capped webhooks as their events finish.",
                labelled(schedulerPasses, "trigger"))
        out += "# HELP layeron_dispatch_read_ahead_starts_total Events of capped webhooks started as a slot freed, from the due events the scheduler read past the cap.\n"
            + "# TYPE layeron_dispatch_read_ahead_starts_total counter\nlayeron_dispatch_read_ahead_starts_total \(readAheadStarts)\n"
        counter("layeron_config_reloads_total", "Config reloads (a change to the config file, or SIGHUP) by result: applied, or refused with the running config kept.",
                labelled(configReloads, "result"))
        out += "# HELP layeron_config_last_reload_successful 1 when the last config reload was applied (or none was tried), 0 when it was refused.\n"
            + "# TYPE layeron_config_last_reload_successful gauge\nlayeron_config_last_reload_successful \(lastReloadApplied ? 1 : 0)\n"
        counter("layeron_http_request_timeouts_total", "Connections closed because their request was not complete within the listener's request timeout.",
                labelled(requestTimeouts, "listener"))
        counter("layeron_http_refused_total", "Requests answered before any webhook or admin route took them: framing the listener refuses, a body or head over its limit, a path no webhook serves.",
                labelled(refusals, "listener", "reason"))
        out += "# HELP layeron_http_connections_open Connections open now, idle ones included, by listener.\n# TYPE layeron_http_connections_open gauge\n"
        for source in openConnections { out += "layeron_http_connections_open{listener=\"\(source.listener)\"} \(source.read())\n" }
        counter("layeron_http_connection_limit_reached_total", "Times a listener's connections reached its limit: new clients then wait unanswered until one closes.",
                labelled(connectionLimitsReached, "listener"))
        counter("layeron_http_connections_refused_total", "Connections closed as they opened, by listener and reason (per_address_limit: the client's address held limits.maxConnectionsPerAddress).",
                Dictionary(uniqueKeysWithValues: perAddressRefusals.map { ("listener=\"\($0.key)\",reason=\"per_address_limit\"", $0.value) }))
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
