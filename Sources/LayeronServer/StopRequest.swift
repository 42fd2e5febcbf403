import Foundation
import LayeronCore

/// A stop (SIGTERM, SIGINT) asked for, at any moment from the beginning of `serve` on. The start
/// waits on it for the plugins present at start to load (`Server.start`): an `init` may never
/// return, and a stop asked for meanwhile ends the start instead of waiting for it. Once the
/// server runs, `serve` waits on it to drain.
public final class StopRequest: @unchecked Sendable {
    /// Guards `requested`, and wakes the waits when it is set or a piece of work they wait for ends.
    private let condition = MonotonicCondition()
    private var requested = false
    private let whileWaiting: @Sendable (_ wait: () -> Void) -> Void

    /// `whileWaiting` wraps each wait of the start's for plugin loads: `serve` lets the waiting
    /// thread take the process's signals meanwhile, so that the kernel hands them to it rather than
    /// to a thread inside an `init`, whose sleeps and waits they would cut short (EINTR).
    public init(whileWaiting: @escaping @Sendable (_ wait: () -> Void) -> Void = { $0() }) {
        self.whileWaiting = whileWaiting
    }

    /// Asks for the stop; the waits return.
    public func request() {
        condition.lock()
        requested = true
        condition.broadcast()
        condition.unlock()
    }

    public var isRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return requested
    }

    /// Waits until the stop is asked for.
    public func wait() {
        condition.lock()
        while !requested { condition.wait() }
        condition.unlock()
    }

    /// Starts `work`, handing it the call to make once it has finished (from any thread), and
    /// waits, inside `whileWaiting`, until it has or the stop is asked for; true when it finished
    /// and no stop was asked for. With the stop asked for already, `work` is not started. `work`
    /// starts the threads it needs before the wait, so they do not inherit what `whileWaiting`
    /// changes for this thread (its signal mask).
    func wait(for work: (_ finished: @escaping @Sendable () -> Void) -> Void) -> Bool {
        guard !isRequested else { return false }
        let progress = Progress()
        work { [condition] in
            condition.lock()
            progress.finished = true
            condition.broadcast()
            condition.unlock()
        }
        whileWaiting {
            condition.lock()
            while !progress.finished, !requested { condition.wait() }
            condition.unlock()
        }
        return !isRequested
    }

    /// Whether the work of one `wait(for:)` has finished; guarded by `condition`.
    private final class Progress: @unchecked Sendable {
        var finished = false
    }
}
