import LayeronCore

/// A token bucket for one destination's `rate`: `count` tokens refilled evenly over `per`, so a burst
/// of up to `count` may start at once and the long-run rate never exceeds the cap. Not thread-safe:
/// its owner holds it under its own lock. Its times are a monotonic clock's; a reading earlier than
/// the last (a wall clock stepped back) refills nothing and becomes the new reference, where the
/// bucket used to stay empty until the clock caught up.
public struct RateLimiter: Sendable {
    public let cap: RateCap
    private var tokens: Double
    private var updatedAt: Int64

    public init(cap: RateCap, nowMilliseconds: Int64) {
        self.cap = cap
        tokens = Double(cap.count)
        updatedAt = nowMilliseconds
    }

    /// How many deliveries may start now (whole tokens).
    public mutating func available(nowMilliseconds now: Int64) -> Int {
        refill(now)
        return Int(tokens)
    }

    /// Takes one token; false (and nothing taken) when none is left.
    public mutating func take(nowMilliseconds now: Int64) -> Bool {
        refill(now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    private mutating func refill(_ now: Int64) {
        guard now > updatedAt else {
            updatedAt = now
            return
        }
        let perMillisecond = Double(cap.count) / Double(max(1, cap.per.milliseconds))
        tokens = min(Double(cap.count), tokens + Double(now - updatedAt) * perMillisecond)
        updatedAt = now
    }
}
