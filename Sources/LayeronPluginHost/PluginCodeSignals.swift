import Foundation

/// Plugin code runs with no signal blocked, as code in a plain program does. `serve` blocks the
/// signals it handles in its own threads, and a thread's mask is what every process it starts begins
/// with, through `fork`, `posix_spawn`, `system` and `popen` alike: a plugin's helper would otherwise
/// ignore SIGTERM for its whole life. A signal that lands on a plugin's thread runs the handler `serve`
/// installed (SA_RESTART), which hands it to the server's signal thread.
public enum PluginCodeSignals {
    /// For a thread that runs plugin code for its whole life (a handler worker); threads it starts
    /// inherit the empty mask.
    public static func unblockForThisThread() {
        _ = unblockAll()
    }

    /// Unblocks every signal in this thread and returns the mask to `restore` once the plugin's code
    /// has returned.
    static func unblockAll() -> sigset_t {
        var none = sigset_t()
        sigemptyset(&none)
        var previous = sigset_t()
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        return previous
    }

    static func restore(_ mask: sigset_t) {
        var mask = mask
        pthread_sigmask(SIG_SETMASK, &mask, nil)
    }
}
