import Foundation

/// A loopback TCP connection that writes bytes exactly as given, for requests no HTTP client would
/// send (conflicting headers, a body declared and never sent), and reads what comes back.
final class RawHTTPConnection {
    private let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawHTTPError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw RawHTTPError("connect to 127.0.0.1:\(port): errno \(code)", errno: code)
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw RawHTTPError("write: errno \(errno)") }
    }

    /// Sends `text` (without SIGPIPE when the server has closed) and reads what has arrived,
    /// waiting up to 5 s for a first byte: false once the connection is closed or nothing came. For
    /// clients that send request after request on one connection.
    func ask(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return false }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        return read(fd, &buffer, buffer.count) > 0
    }

    /// Everything the server sends until it closes the connection (`closed`), or until `seconds`
    /// pass without it closing.
    func receive(seconds: Double) -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                answer += buffer[0..<n]
            } else if n == 0 || errno != EAGAIN {
                return (String(decoding: answer, as: UTF8.self), true)
            }
        }
        return (String(decoding: answer, as: UTF8.self), false)
    }
}

struct RawHTTPError: Error, CustomStringConvertible {
    let description: String
    /// The system's error number, when a call failed with one (`ECONNREFUSED` for a refused connect).
    let errno: Int32?
    init(_ description: String, errno: Int32? = nil) {
        self.description = description
        self.errno = errno
    }
}
