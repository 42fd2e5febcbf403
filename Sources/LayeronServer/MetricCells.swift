import LayeronStore
import Synchronization

/// Observations in Prometheus's cumulative buckets; bounds in seconds.
struct Histogram {
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

/// A histogram every event observes, with a lock of its own so that its observers (the completion
/// thread, the workers) do not queue behind each other's unrelated counters.
final class HistogramCell: Sendable {
    private let histogram = Mutex(Histogram())

    func observe(seconds: Double) {
        histogram.withLock { $0.observe(seconds) }
    }

    var value: Histogram { histogram.withLock { $0 } }
}

/// One webhook's request counters. A request reaches them through its `InboundWebhook`, resolved
/// with the config snapshot, instead of by the webhook's name under the lock every metric shared.
final class WebhookMetrics: Sendable {
    struct Counts {
        /// Requests by the status they were answered with.
        var byStatus: [Int: UInt64] = [:]
        /// Signature rejections by reason code.
        var rejectionsByReason: [String: UInt64] = [:]
        var totals = WebhookCounters()
    }

    private let state = Mutex(Counts())

    func countRequest(status: Int) {
        state.withLock { counts in
            counts.byStatus[status, default: 0] += 1
            counts.totals.countRequest(accepted: (200..<300).contains(status))
        }
    }

    func countRejection(reason: String) {
        state.withLock { counts in
            counts.rejectionsByReason[reason, default: 0] += 1
            counts.totals.rejections += 1
        }
    }

    func countDuplicate() {
        state.withLock { $0.totals.duplicates += 1 }
    }

    var counts: Counts { state.withLock { $0 } }
}

/// One plugin's handler attempts and their durations; the dispatcher keeps the cell with the
/// handler reference it resolved, so an attempt hashes no name for its metrics.
final class PluginMetrics: Sendable {
    struct Counts {
        /// By outcome, in `AttemptOutcome`'s order: ok, retry, error.
        var ok: UInt64 = 0
        var retry: UInt64 = 0
        var error: UInt64 = 0
        var seconds = Histogram()

        /// Each outcome with its label value.
        var attempts: [(String, UInt64)] {
            [(AttemptOutcome.ok.rawValue, ok), (AttemptOutcome.retry.rawValue, retry), (AttemptOutcome.error.rawValue, error)]
        }
    }

    private let state = Mutex(Counts())

    /// `seconds` is nil for an attempt whose handler was not called: it has no duration to observe.
    func countAttempt(outcome: AttemptOutcome, seconds: Double?) {
        state.withLock { counts in
            switch outcome {
            case .ok: counts.ok += 1
            case .retry: counts.retry += 1
            case .error: counts.error += 1
            }
            if let seconds { counts.seconds.observe(seconds) }
        }
    }

    var counts: Counts { state.withLock { $0 } }
}
