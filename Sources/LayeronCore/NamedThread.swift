import Foundation

extension Thread {
    /// Starts `body` on a thread the OS knows as `name`, so that `top -H`, `perf` and
    /// `/proc/PID/task/*/comm` tell the server's threads apart. Foundation on Linux hands a name to the
    /// OS only when it is set on the running thread (one set before `start()` stays inside
    /// Foundation), and Linux keeps at most 15 bytes of it. Even set there it sometimes never reached
    /// the OS on a loaded machine (the store's completion thread kept the process's name in about one
    /// test run in ten with two busy loops running; none in 40 since), so it is also written for the
    /// OS directly.
    public static func startNamed(_ name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "Linux thread names hold at most 15 bytes: \(name)")
        let thread = Thread {
            Thread.current.name = name
            setOSThreadName(name)
            body()
        }
        thread.start()
    }
}

/// Names the calling thread for the OS through `/proc/thread-self/comm`: Swift's Glibc module does not
/// expose `pthread_setname_np`, and `prctl` is variadic.
private func setOSThreadName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    _ = name.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
