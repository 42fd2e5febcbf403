import Foundation

/// A thread the system refused to create. The server cannot run without any of its threads (a
/// missing writer, worker or watcher leaves acknowledged events unrecorded or requests hanging), so
/// it stops with this message instead.
public struct ThreadStartError: Error, CustomStringConvertible {
    public let name: String
    /// What `pthread_create` returned.
    public let code: Int32

    public init(name: String, code: Int32) {
        self.name = name
        self.code = code
    }

    public var description: String {
        let reason = String(cString: strerror(code))
        let cause = code == EAGAIN
            ? "the process or its user reached the limit on threads: raise `ulimit -u` (RLIMIT_NPROC, counted over every process and thread of the user), the container's pids.max or systemd's TasksMax"
            : "the system has no memory left for another thread's stack: free memory or lower `ulimit -s`"
        return "cannot start the \(name) thread: \(reason); \(cause)"
    }
}

/// Creates a detached thread that runs `start(context)`, returning 0 or the error number. A parameter
/// of `NamedThread.start` so that a test can make creation fail.
public typealias ThreadCreation = (
    _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?, _ context: UnsafeMutableRawPointer
) -> Int32

public enum NamedThread {
    /// Starts `body` on a thread the OS knows as `name`, so that `top -H`, `perf` and
    /// `/proc/PID/task/*/comm` tell the server's threads apart, or throws when the thread could not be
    /// created. `pthread_create` is called directly: Foundation's `Thread.start()` drops a failed
    /// creation without a word, and the body then never runs. Linux keeps at most 15 bytes of a name.
    public static func start(_ name: String, creating create: ThreadCreation = createDetached,
                             _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        precondition(name.utf8.count <= 15, "Linux thread names hold at most 15 bytes: \(name)")
        let context = Unmanaged.passRetained(ThreadBody(name: name, body: body))
        let result = create(runThreadBody, context.toOpaque())
        guard result == 0 else {
            context.release()
            throw ThreadStartError(name: name, code: result)
        }
    }

    /// `pthread_create` with a detached thread and the default stack size.
    public static func createDetached(_ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
                                      _ context: UnsafeMutableRawPointer) -> Int32 {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        return pthread_create(&thread, &attributes, start, context)
    }
}

extension Thread {
    /// `NamedThread.start`, for a thread the server cannot run without: when the system refuses to
    /// create it, the process writes why to standard error and exits with status 1. As the server
    /// starts, that is a refusal to start, before the listening lines; once it runs, it is as safe as
    /// a crash: every event it acknowledged is committed, and attempts cut off run again after the
    /// next start.
    public static func startNamed(_ name: String, _ body: @escaping @Sendable () -> Void) {
        do {
            try NamedThread.start(name, body)
        } catch {
            StandardStream.error.write("layeron: \(error); stopping (acknowledged events are committed and run after the next start)\n")
            _exit(1)
        }
    }
}

/// What a new thread runs, handed to it through `pthread_create`'s context pointer.
private final class ThreadBody {
    let name: String
    let body: @Sendable () -> Void

    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}

private let runThreadBody: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
    let thread = Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue()
    setOSThreadName(thread.name)
    thread.body()
    return nil
}

/// Names the calling thread for the OS through `/proc/thread-self/comm`: Swift's Glibc module does not
/// expose `pthread_setname_np`, and `prctl` is variadic.
private func setOSThreadName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    _ = name.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
