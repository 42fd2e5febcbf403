import Foundation

/// One request written on a fresh loopback connection as raw bytes, for requests no HTTP client
/// would send; returns what the server answered before it closed (or after 10 s without a byte: an
/// answer that waits for a commit can take seconds on a machine busy writing).
enum RawConnection {
    static func exchange(port: Int, _ request: String) throws -> String {
        try exchange(port: port, bytes: Array(request.utf8))
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
