import Foundation

/// A loopback connection that sends at its own pace, a byte at a time if need be, as a slow client
/// or a slowloris does; it reads what the server answers meanwhile and notes when the server closes.
final class TricklingConnection {
    private let fd: Int32
    private let opened = Date()
    private var received: [UInt8] = []
    /// Seconds from the opening until the server closed the connection; nil while it is open.
    private(set) var closedAfter: TimeInterval?

    init(port: Int) throws {
        fd = try LoopbackSocket.connect(port: port)
    }

    deinit { close(fd) }

    /// What the server sent so far.
    var text: String { String(decoding: received, as: UTF8.self) }

    var elapsed: TimeInterval { Date().timeIntervalSince(opened) }

    /// Sends `text` at once.
    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw TestFailure("send: \(errno)") }
    }

    /// Sends `bytes` one at a time, `interval` apart, reading between them, until all are sent, the
    /// server closes, or `limit` seconds have passed since this call.
    func trickle(_ bytes: [UInt8], every interval: TimeInterval, for limit: TimeInterval) {
        let end = Date().addingTimeInterval(limit)
        for byte in bytes where closedAfter == nil && Date() < end {
            // A send to a connection the server has closed fails; the read after it sees the close.
            _ = withUnsafePointer(to: byte) { Glibc.send(fd, $0, 1, Int32(MSG_NOSIGNAL)) }
            read(for: interval)
        }
    }

    /// Reads for `seconds`, or until the server closes, or until what it sent is `done`.
    func read(for seconds: TimeInterval, until done: (String) -> Bool = { _ in false }) {
        let end = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while closedAfter == nil, Date() < end {
            if done(text) { return }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(max(1, end.timeIntervalSinceNow * 1000))) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                received += buffer[0..<n]
            } else {
                closedAfter = elapsed
            }
        }
    }
}
