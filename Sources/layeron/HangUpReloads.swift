import Foundation
import LayeronCore

/// Runs the reloads that SIGHUP asks for, one at a time, on a thread of their own: a reload can wait
/// for a plugin's `init` however long that takes, and the signal thread must still take a stop
/// meanwhile. Hang-ups that arrive while one is queued share it; it reads the files as they are when
/// it runs. The thread is made as `serve` starts rather than taken from libdispatch's pool when the
/// first SIGHUP comes: out of threads then (a low `ulimit -u`), libdispatch would spin on the signal
/// thread for ever and no stop signal would be taken again.
final class HangUpReloads: @unchecked Sendable {
    /// Guards `queued` and `running`.
    private let condition = MonotonicCondition()
    private var queued = false
    private var running = false

    init(_ reload: @escaping @Sendable () -> Void) {
        Thread.startNamed("sighup-reload") { [self] in
            while true {
                condition.lock()
                while !queued { condition.wait() }
                queued = false
                running = true
                condition.unlock()
                reload()
                condition.lock()
                running = false
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Queues a reload unless one is queued already.
    func request() {
        condition.lock()
        queued = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until no reload is queued or running, or until `deadline`; false when one still is.
    func waitUntilIdle(until deadline: DispatchTime) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while queued || running, DispatchTime.now() < deadline { condition.wait(seconds: deadline.secondsFromNow) }
        return !(queued || running)
    }
}
