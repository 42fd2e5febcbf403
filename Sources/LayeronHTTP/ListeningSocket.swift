import CShims
import Foundation
import LayeronCore
import Synchronization

/// A listener's bound TCP socket and the one thread that accepts on it, handing each connection on.
/// The listener owns it rather than libmicrohttpd: 0.9.75's `MHD_quiesce_daemon` on a thread pool
/// in epoll mode removes the listening socket from each worker's epoll set while a worker that
/// wakes at that moment removes it too, and the loser aborts the process ("Failed to remove listen
/// FD from epoll set"). Stopping here is a shutdown of the socket, which the blocked `accept`
/// returns from, and a join: libmicrohttpd never sees a listening socket.
final class ListeningSocket: @unchecked Sendable {
    /// The bound port (port 0 resolved).
    let port: UInt16
    private let descriptor: Int32
    /// Set by `stop` before it shuts the socket down, so the thread leaves instead of retrying.
    private let stopping = Atomic<Bool>(false)
    /// Signalled by the accept thread as it ends; `stop` waits on it.
    private let ended = DispatchSemaphore(value: 0)
    private var acceptThreadRunning = false
    /// How long the thread waits before trying again when the listener is full or the process is
    /// out of descriptors: the kernel's backlog holds new clients meanwhile, and a retry at once
    /// would spin.
    private static let backOffMicroseconds: UInt32 = 10_000

    /// Binds `address` (`length` bytes, IPv4 or IPv6) and listens, as libmicrohttpd did: address
    /// reuse on, an IPv6 socket for IPv6 only, the system's largest backlog. `display` names the
    /// address in the error.
    init(address: UnsafePointer<sockaddr>, length: socklen_t, display: String) throws(HTTPServerError) {
        let family = Int32(address.pointee.sa_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .startFailed(display, reason: Self.systemReason()) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 { _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size)) }
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        guard bind(fd, address, length) == 0, listen(fd, SOMAXCONN) == 0,
              withUnsafeMutablePointer(to: &bound, {
                  $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
              }) == 0 else {
            let reason = Self.systemReason()
            close(fd)
            throw .startFailed(display, reason: reason)
        }
        descriptor = fd
        // sin_port and sin6_port sit at the same offset, just after the family.
        port = withUnsafeBytes(of: bound) { UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)) }
    }

    deinit {
        stop()
    }

    /// Starts the accept thread. It accepts only while `connections` has room, so that a full
    /// listener leaves new clients waiting in the kernel's backlog (as libmicrohttpd's epoll mode
    /// did) rather than accepting and closing them; `hand` receives each connection, non-blocking and
    /// close-on-exec, with its client's address, and owns it from then on. `onMessage` is told when
    /// the process or the system runs out of descriptors, once for each run of failures.
    func startAccepting(connections: ConnectionCount, onMessage: @escaping @Sendable (HTTPServerMessage) -> Void,
                        hand: @escaping @Sendable (Int32, UnsafePointer<sockaddr>, socklen_t) -> Void) {
        acceptThreadRunning = true
        // Named as the operator sees it (`top -H`, /proc/PID/task/*/comm) and docs/architecture.md lists it.
        Thread.startNamed("http-accept") { [self] in
            acceptLoop(connections: connections, onMessage: onMessage, hand: hand)
            ended.signal()
        }
    }

    private func acceptLoop(connections: ConnectionCount, onMessage: @Sendable (HTTPServerMessage) -> Void,
                            hand: @Sendable (Int32, UnsafePointer<sockaddr>, socklen_t) -> Void) {
        var address = sockaddr_storage()
        var outOfDescriptors = false
        while !stopping.load(ordering: .acquiring) {
            guard connections.open < connections.limit else {
                usleep(Self.backOffMicroseconds)
                continue
            }
            var length = socklen_t(0)
            let client = layeron_accept(descriptor, &address, &length)
            if client >= 0 {
                outOfDescriptors = false
                withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { hand(client, $0, length) } }
                continue
            }
            let error = errno
            switch error {
            case EINTR, ECONNABORTED, EPROTO, ENETDOWN, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH:
                // The connection that failed is gone (Linux reports its network errors here); the next one may not be.
                continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                if !outOfDescriptors && !stopping.load(ordering: .acquiring) {
                    outOfDescriptors = true
                    onMessage(HTTPServerMessage(text: "Failed to accept a connection: \(String(cString: strerror(error))); new clients wait "
                                                    + "until a descriptor is free again, which the server's own files may hold for good (raise "
                                                    + "the open-file limit, `ulimit -n` or `LimitNOFILE=`, or lower limits.maxConnections)",
                                                concern: .server, source: "accept"))
                }
                usleep(Self.backOffMicroseconds)
            default:
                // EINVAL once `stop` has shut the socket down; anything else is retried, not spun on.
                if !stopping.load(ordering: .acquiring) { usleep(Self.backOffMicroseconds) }
            }
        }
    }

    /// Refuses new connections from now on (the kernel answers ECONNREFUSED, and resets those that
    /// completed their handshake but were not accepted), waits for the accept thread to end, so no
    /// connection is handed on after this returns, and closes the socket. Calling it again does nothing.
    func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(descriptor, Int32(SHUT_RDWR))
        if acceptThreadRunning { ended.wait() }
        close(descriptor)
    }

    private static func systemReason() -> String {
        String(cString: strerror(errno))
    }
}
