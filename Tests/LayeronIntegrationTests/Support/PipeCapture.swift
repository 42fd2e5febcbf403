import Foundation

/// Everything a child process writes to one pipe. A thread of its own keeps the pipe drained (a full
/// pipe would block the writer), and every read of `data` first takes what the pipe holds at that
/// moment: a line the child wrote before the call is in the answer, however late that thread runs
/// on a loaded machine. (A `readabilityHandler` delivers on a dispatch thread of its own time, so a
/// test that checked the log just after the server wrote a line could miss it.)
final class PipeCapture: @unchecked Sendable {
    /// Kept so the descriptor stays open as long as this reads it.
    private let handle: FileHandle
    /// Guards `bytes` and `ended`, and serialises every `read` of the pipe.
    private let lock = NSLock()
    private var bytes: Data
    private var ended = false

    /// Starts reading `handle` (the read end of a pipe); `initial` is what was read from it before.
    init(_ handle: FileHandle, initial: Data = Data()) {
        self.handle = handle
        bytes = initial
        let fd = handle.fileDescriptor
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        Thread { [self] in
            while drain() {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&poller, 1, 100)
            }
        }.start()
    }

    /// What the pipe has delivered so far, including what it holds right now.
    var data: Data {
        _ = drain()
        lock.lock()
        defer { lock.unlock() }
        return bytes
    }

    /// Reads until the pipe is empty; false once the writer has closed it.
    private func drain() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !ended {
            let n = read(handle.fileDescriptor, &buffer, buffer.count)
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                ended = true
            } else if errno == EINTR {
                continue
            } else {
                // EAGAIN: empty for now.
                return true
            }
        }
        return false
    }
}
