import Foundation

extension Thread {
    /// Starts `body` on a thread the OS knows as `name`, so that `top -H`, `perf` and
    /// `/proc/PID/task/*/comm` tell the server's threads apart. Foundation on Linux hands a name to the
    /// OS only when it is set on the running thread (one set before `start()` stays inside
    /// Foundation), and Linux keeps at most 15 bytes of it.
    public static func startNamed(_ name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "Linux thread names hold at most 15 bytes: \(name)")
        let thread = Thread {
            Thread.current.name = name
            body()
        }
        thread.start()
    }
}
