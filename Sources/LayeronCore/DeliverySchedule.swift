/// When a failed outbound delivery is tried again: a fixed list of waits, like Svix's. Attempt 1 runs
/// at once; after attempt `n` fails the next waits `delays[n - 1]`; after the last the event is failed.
public struct DeliverySchedule: Sendable, Equatable {
    public var delays: [TimeSpan]

    public init(delays: [TimeSpan]) { self.delays = delays }

    /// Immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: eight attempts over about 27 h.
    public static let standard = DeliverySchedule(delays: [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000), .seconds(36_000), .seconds(36_000),
    ])

    /// A receiver's `Retry-After` is honoured up to this, so a hostile or broken value cannot park an
    /// event for months.
    public static let maximumRetryAfter = TimeSpan.seconds(86_400)

    public var attempts: Int { delays.count + 1 }

    /// The wait after scheduled attempt `n` (1-based) failed, or nil when it was the last. A receiver's
    /// `Retry-After` can lengthen the schedule's wait for that step (up to `maximumRetryAfter`), never
    /// shorten it: a `0` or a date in the past (a receiver's clock behind ours) would otherwise spend
    /// the whole schedule within a second. It never adds attempts.
    public func delay(afterAttempt n: Int, retryAfter: TimeSpan? = nil) -> TimeSpan? {
        guard n >= 1, n <= delays.count else { return nil }
        guard let retryAfter else { return delays[n - 1] }
        return max(delays[n - 1], min(retryAfter, Self.maximumRetryAfter))
    }
}
