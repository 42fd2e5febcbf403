/// When a failed handler attempt runs again. Every schedule ends: after `attempts` tries the event is
/// failed, whatever the handler asks for.
public struct RetryPolicy: Sendable, Equatable {
    public enum Backoff: String, Sendable {
        /// `initial`, then doubling, capped at `maximum`.
        case exponential
        /// `initial` every time.
        case fixed
    }

    public var attempts: Int
    public var initial: TimeSpan
    public var maximum: TimeSpan
    public var backoff: Backoff
    /// Up to this fraction of each delay is randomised away, so that a burst of failures does not
    /// retry in lockstep against a recovering dependency.
    public var jitter: Double

    /// 8 attempts, 5 s doubling to at most 1 h, 20 % jitter.
    public static let defaults = RetryPolicy(attempts: 8, initial: .seconds(5), maximum: .seconds(3600))

    public init(attempts: Int, initial: TimeSpan, maximum: TimeSpan, backoff: Backoff = .exponential, jitter: Double = 0.2) {
        self.attempts = attempts
        self.initial = initial
        self.maximum = maximum
        self.backoff = backoff
        self.jitter = jitter
    }

    /// The delay before the attempt after attempt `n` (1-based), or nil when `n` was the last.
    /// A delay the handler asked for is honoured up to `maximum`, without jitter. `random` is a
    /// number in 0..<1 (injected so that schedules are testable).
    public func delay(afterAttempt n: Int, requestedMilliseconds: UInt64?, random: Double = 0) -> TimeSpan? {
        guard n < attempts else { return nil }
        if let requested = requestedMilliseconds {
            return TimeSpan(milliseconds: min(Int64(clamping: requested), maximum.milliseconds))
        }
        let base: Int64
        switch backoff {
        case .fixed:
            base = initial.milliseconds
        case .exponential:
            let exponent = min(n - 1, 40)
            let (scaled, overflow) = initial.milliseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
            base = overflow ? maximum.milliseconds : min(scaled, maximum.milliseconds)
        }
        let cut = Int64(Double(base) * jitter * min(max(random, 0), 0.999_999))
        return TimeSpan(milliseconds: base - cut)
    }
}
