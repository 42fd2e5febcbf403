import Foundation

/// One request written on a fresh loopback connection as raw bytes, for requests no HTTP client
/// would send; returns what the server answered before it closed (or after 10 s without a byte: an
/// answer that waits for a commit can take seconds on a machine busy writing).
enum RawConnection {
    static func exchange(port: Int, _ request: String) throws -> String {
        try exchange(port: port, bytes: Array(request.utf8))
    }

    /// The errno of a loopback connect to `port` (`ECONNREFUSED` when nothing listens), or nil when it connects.
    static func connectError(port: Int) throws -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        defer { close(fd) }
        return connect(fd, port: port)
    }

    /// Connects `fd` to 127.0.0.1:`port`; nil, or the errno.
    private static func connect(_ fd: Int32, port: Int) -> Int32? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Foundation.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return connected == 0 ? nil : errno
    }

    /// The request as bytes, for those that are not UTF-8.
    static func exchange(port: Int, bytes: [UInt8]) throws -> String {
        let fd = try LoopbackSocket.connect(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard write(fd, bytes, bytes.count) == bytes.count else { throw TestFailure("write: \(errno)") }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
