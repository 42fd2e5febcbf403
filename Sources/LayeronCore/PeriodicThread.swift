import Foundation

/// A named thread that runs a pass at a steady interval until it is stopped. Stopping cuts the wait
/// between passes short and returns once the running pass has finished, so nothing a pass uses is
/// torn down under it.
public final class PeriodicThread: @unchecked Sendable {
    /// Guards `stopping`.
    private let condition = MonotonicCondition()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    public init() {}

    /// Runs `pass` `first` seconds from now, then every `interval` seconds.
    public func start(named name: String, first: TimeInterval, every interval: TimeInterval, _ pass: @escaping @Sendable () -> Void) {
        Thread.startNamed(name) { [self] in
            var wait = first
            while pause(wait) {
                pass()
                wait = interval
            }
            finished.signal()
        }
    }

    /// Only after `start`.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        finished.wait()
    }

    /// Waits `seconds` unless stopped; false once stopping. A pass that works in steps pauses between
    /// them with this, so a stop need not wait for the last step.
    public func pause(_ seconds: TimeInterval) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if !stopping { condition.wait(seconds: seconds) }
        return !stopping
    }
}
