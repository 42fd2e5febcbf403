import Foundation
import LayeronCore

/// The signals `serve` acts on, taken by one thread with `sigwait` instead of signal handlers or
/// dispatch sources. They are blocked before `serve` starts any thread, so every later thread inherits
/// the mask and none can take one: a signal sent at any moment, even as the listening lines are printed,
/// waits pending for that thread. With dispatch sources a signal could meet the default action (SIGHUP's
/// ends the process) or be dropped under `SIG_IGN` while the source was still being registered.
enum ProcessSignals {
    /// SIGTERM and SIGINT drain and stop; SIGHUP reloads.
    private static let handled = [SIGTERM, SIGINT, SIGHUP]

    /// Call before anything in this process starts a thread.
    static func block() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Starts the thread that passes each handled signal to `handle`, for the life of the process.
    static func deliver(to handle: @escaping @Sendable (Int32) -> Void) {
        Thread.startNamed("signals") {
            var set = signalSet()
            while true {
                var received: Int32 = 0
                if sigwait(&set, &received) == 0 { handle(received) }
            }
        }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in handled { sigaddset(&set, signal) }
        return set
    }
}
