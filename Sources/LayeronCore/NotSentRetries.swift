/// When a delivery the server could not send (its own want of descriptors: the receiver was never
/// contacted) is tried again. Such tries take no step of the destination's schedule, which measures
/// the receiver; but a cause that lasts must not keep an event pending for ever: the waits grow while
/// it lasts, and once the server has not sent the delivery for as long as the schedule gives a
/// receiver, the event fails, where an operator looks for failed events, and can be replayed.
extension DeliverySchedule {
    /// The first wait after a delivery was not sent: long enough not to spin while descriptors are
    /// short, short enough that a brief shortage delays it little.
    public static let firstNotSentWait = TimeSpan.seconds(5)

    /// The longest wait between two tries of a delivery not sent, so that it goes out soon after a
    /// long shortage ends.
    public static let longestNotSentWait = TimeSpan.seconds(300)

    /// How long a delivery may go unsent before its event fails: the sum of the schedule's waits (the
    /// time it gives a receiver to come back), and at least `firstNotSentWait`, so that a shortage
    /// gets one more try even with a schedule without retries.
    public var notSentHorizon: TimeSpan {
        max(TimeSpan(milliseconds: delays.reduce(0) { $0 + $1.milliseconds }), Self.firstNotSentWait)
    }

    /// When to try again a delivery that was not sent at `now`, with `since` the start of the first
    /// try of this run that was not sent (no try since reached the receiver); nil when the run has
    /// lasted `notSentHorizon` and the event fails. The wait is as long as the run so far, cut to
    /// whole seconds (so it doubles from try to try: a try's own milliseconds rounded up made the
    /// waits 5, 6, 12, 24 s), from `firstNotSentWait` up to `longestNotSentWait`; the last try falls
    /// on the horizon.
    public func nextNotSentTry(since: Int64, now: Int64) -> Int64? {
        let elapsed = max(0, now - since)
        let horizon = notSentHorizon.milliseconds
        guard elapsed < horizon else { return nil }
        let wait = min(max(elapsed / 1000 * 1000, Self.firstNotSentWait.milliseconds), Self.longestNotSentWait.milliseconds)
        return min(now + wait, since + horizon)
    }
}
