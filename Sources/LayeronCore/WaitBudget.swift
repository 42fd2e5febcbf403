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
}
