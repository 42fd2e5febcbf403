/// When a failed handler attempt runs again. Every schedule ends: after `attempts` tries the event is
/// failed, whatever the handler asks for.
public struct RetryPolicy: Sendable, Equatable {
    public var attempts: Int
    public var initial: TimeSpan
    public var maximum: TimeSpan

    public static let defaults = RetryPolicy(attempts: 8, initial: .seconds(5), maximum: .seconds(3600))

    public init(attempts: Int, initial: TimeSpan, maximum: TimeSpan) {
        self.attempts = attempts
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the attempt after attempt `n` (1-based), or nil when `n` was the last.
    /// A delay the handler asked for is honoured up to `maximum`.
    public func delay(afterAttempt n: Int, requestedMilliseconds: UInt64?) -> TimeSpan? {
        guard n < attempts else { return nil }
        if let requested = requestedMilliseconds {
            return TimeSpan(milliseconds: min(Int64(clamping: requested), maximum.milliseconds))
        }
        let exponent = min(n - 1, 40)
        let (scaled, overflow) = initial.milliseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        return TimeSpan(milliseconds: overflow ? maximum.milliseconds : min(scaled, maximum.milliseconds))
    }
}
