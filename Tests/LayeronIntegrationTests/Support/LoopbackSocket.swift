import Foundation

/// A TCP connection to 127.0.0.1, for clients written byte by byte.
enum LoopbackSocket {
    static func connect(port: Int) throws -> Int32 {
        let (fd, error) = try attempt(port: port)
        if let error { throw TestFailure("connect: \(error)") }
        return fd
    }

    /// The errno of a connect to `port` (`ECONNREFUSED` when nothing listens), or nil when it connects.
    static func connectError(port: Int) throws -> Int32? {
        let (fd, error) = try attempt(port: port)
        if error == nil { close(fd) }
        return error
    }

    /// A connected socket, or the connect's errno (the socket then closed).
    private static func attempt(port: Int) throws -> (fd: Int32, error: Int32?) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let error = errno
            close(fd)
            return (fd, error)
        }
        return (fd, nil)
    }
}
