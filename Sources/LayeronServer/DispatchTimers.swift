import Foundation

/// libdispatch sets up its event loop (an epoll descriptor among others) the first time a timer is
/// armed, and traps if it cannot. The server arms timers only once it runs: a plugin load's retry
/// after a temporary refusal, an after-handler answer's timeout, a held attempt's next write. The
/// first of them, armed while the process is out of descriptors (the very case a plugin's retry is
/// for), killed the process with SIGILL. Arming one at start, while descriptors are free, sets the
/// loop up before anything can need it.
enum DispatchTimers {
    static func prepare() {
        let fired = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(1)) { fired.signal() }
        // Bounded: with no thread to spare for the callback (a thread limit), the start goes on and
        // the server's own thread creation says what is short.
        _ = fired.wait(timeout: .now() + .seconds(5))
    }
}
