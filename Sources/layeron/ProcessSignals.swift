import CShims
import Foundation
import LayeronCore
import Synchronization

/// The signals `serve` acts on. A handler (C, in CShims) writes each one to a pipe that one thread
/// reads, so acting on a signal can take locks and log. They are blocked before `serve` starts any
/// thread, so the server's own threads inherit the mask and their system calls are never interrupted;
/// threads that run plugin code unblock them (`PluginCodeSignals`), so that the processes a plugin
/// starts begin with no signal blocked, and one landing there goes through the same handler. A signal
/// sent at any moment, even as the listening lines are printed, waits pending (or in the pipe) for
/// the reading thread. SIGPIPE is discarded by a handler rather than ignored, so that a write to a
/// closed connection fails with EPIPE while the programs a plugin runs still start with its default
/// action. With dispatch sources a signal could meet the default action (SIGHUP's ends the
/// process) or be dropped under `SIG_IGN` while the source was still being registered.
enum ProcessSignals {
    /// SIGTERM and SIGINT drain and stop; SIGHUP reloads.
    private static let handled = [SIGTERM, SIGINT, SIGHUP]
    /// The pipe's read end, once `install` made it.
    private static let readEnd = Atomic<Int32>(-1)

    /// Call before anything in this process starts a thread. Exits when the process has no
    /// descriptor left for the pipe.
    static func install() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0, fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0,
              fcntl(ends[1], F_SETFL, O_NONBLOCK) == 0,
              layeron_signals_forward(handled, Int32(handled.count), ends[1]) == 0,
              layeron_signals_discard(SIGPIPE) == 0 else {
            StandardStream.error.write("error: cannot set up signal handling: \(String(cString: strerror(errno)))\n")
            exit(1)
        }
        readEnd.store(ends[0], ordering: .releasing)
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Lets the calling thread take the handled signals: meant for the main thread once the server
    /// runs, as it then only waits. The kernel hands a signal sent to the process to its main thread
    /// whenever that thread does not block it, so the handler runs there rather than on a thread
    /// running plugin code, whose `sleep` or `poll` it would cut short (EINTR), in the middle of the
    /// very drain it asks for. (A second signal arriving while the main thread still has the first
    /// pending goes to another thread that takes it.)
    static func takeOnThisThread() {
        var set = signalSet()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Runs `wait` with the handled signals unblocked in the calling thread, as `takeOnThisThread`
    /// does for good: for the main thread while the start waits for plugin loads, so that a signal
    /// lands on it rather than inside a plugin's `init`. The mask is put back after, so that the
    /// threads the start goes on to make inherit the block.
    @Sendable static func takingSignals(_ wait: () -> Void) {
        var set = signalSet()
        var previous = sigset_t()
        pthread_sigmask(SIG_UNBLOCK, &set, &previous)
        wait()
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Starts the thread that passes each handled signal to `handle`, for the life of the process.
    static func deliver(to handle: @escaping @Sendable (Int32) -> Void) {
        Thread.startNamed("signals") {
            var set = signalSet()
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            let pipe = readEnd.load(ordering: .acquiring)
            var number: UInt8 = 0
            while true {
                let count = read(pipe, &number, 1)
                if count == 1 {
                    handle(Int32(number))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
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
