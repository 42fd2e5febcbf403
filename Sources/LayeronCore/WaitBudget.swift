import Dispatch

/// A length of time that only the waits made through it use up. A stop waits for plugins' code
/// (a load's `init`, a reload waiting for one) this long in all, across several waits with the
/// drain in between: a deadline set when the stop began would be used up by a drain of running
/// handlers, which may take minutes, and the loads still in `init` after it would not be waited
/// for at all.
public struct WaitBudget: Sendable {
    private var nanoseconds: UInt64

    public init(_ span: TimeSpan) {
        nanoseconds = UInt64(max(0, span.milliseconds)) * 1_000_000
    }

    /// Runs `wait` with the deadline what is left sets from now, and takes the time it took off.
    public mutating func spend<T>(_ wait: (_ deadline: DispatchTime) throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { nanoseconds -= min(nanoseconds, DispatchTime.now().uptimeNanoseconds - start) }
        return try wait(DispatchTime(uptimeNanoseconds: start + nanoseconds))
    }

    /// The least each wait made under a budget is given, the budget spent or not: a thread that is
    /// idle or about to finish (a folder watch woken to stop, a load whose `init` has just returned)
    /// still needs a moment to be scheduled and say so. A wait given a deadline already past found
    /// it still running, so once a hung `init` had used the budget up, the stop warned of a watch
    /// that was idle and left its descriptors open, and named a load that was ending as abandoned.
    public static let leastWait = TimeSpan(milliseconds: 200)

    /// `deadline`, or `leastWait` from now when that is later.
    public static func givingLeastWait(_ deadline: DispatchTime) -> DispatchTime {
        max(deadline, .now() + .milliseconds(Int(leastWait.milliseconds)))
    }
}
