import Glibc
import Synchronization

/// The time one connection has to send its current request: from the connection's opening, or on a
/// kept-alive connection from the first byte seen after the answer to its previous request, until the
/// last byte of the body. libmicrohttpd's idle timeout starts again with every byte, so without this
/// a client that trickles a byte every few seconds keeps its connection, and one of the listener's
/// slots, for ever. The wait between two requests stays the idle timeout's: a connection kept open
/// for the next request sends nothing meanwhile.
///
/// One per connection, made when libmicrohttpd reports it open, so that a request allocates nothing
/// for its deadline: its calls take this record's lock, which only the sweeper's pass, once a second,
/// can find taken.
final class ConnectionDeadline: Sendable {
    /// Where the connection's current request stands.
    private enum Phase {
        /// Arriving; it must be whole by `deadline` (`now()` milliseconds).
        case receiving(deadline: Int64)
        /// Whole: its answer is being worked out (a commit, an after-handler handler) or sent, which
        /// takes the time it takes and is not the client's to answer for.
        case answering
        /// The answer went at `since` (`now()` milliseconds) and no byte of a next request has been
        /// seen yet.
        case waiting(since: Int64)
        /// Closed for missing its deadline; nothing starts the clock again.
        case missed
    }

    /// What a look at the deadline found.
    enum Check: Equatable {
        case inTime
        /// Missed, found by this look: its caller closes the connection and reports it.
        case missed
        /// Missed and closed already, by an earlier look.
        case missedEarlier
    }

    let socket: Int32
    let peer: PeerAddress
    let limit: Int64
    private let phase: Mutex<Phase>

    /// `limit` in milliseconds; the clock starts at `now`, the connection's opening.
    init(socket: Int32, peer: PeerAddress, limit: Int64, now: Int64) {
        self.socket = socket
        self.peer = peer
        self.limit = limit
        phase = Mutex(.receiving(deadline: now + limit))
    }

    /// The clock deadlines are kept in: coarse (a few milliseconds), since they are checked once a
    /// second, and so cheap enough to read on every call of a request.
    static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// While the request arrives: whether it is still in time.
    func check(now: Int64) -> Check {
        phase.withLock { check(&$0, now: now) }
    }

    /// The request has arrived whole: stops the clock if it is in time.
    func finishRequest(now: Int64) -> Check {
        phase.withLock { phase in
            let found = check(&phase, now: now)
            if found == .inTime { phase = .answering }
            return found
        }
    }

    /// The answer has gone: the connection waits for its next request.
    func answered(now: Int64) {
        phase.withLock { phase in
            if case .missed = phase { return }
            phase = .waiting(since: now)
        }
    }

    /// The sweeper's look, once a second, under the lock that keeps `socket` this connection's. A
    /// waiting connection's next request starts its clock when the kernel says data arrived after
    /// the answer (until its head is whole no call of ours sees it), from the last data it reports.
    func sweep(now: Int64) -> Check {
        phase.withLock { phase in
            guard case let .waiting(since) = phase else { return check(&phase, now: now) }
            if let received = lastReceived(now: now), received > since + Self.tickMargin {
                phase = .receiving(deadline: received + limit)
            }
            return .inTime
        }
    }

    /// The kernel keeps when data last arrived in ticks of up to 10 ms, and the last bytes of a
    /// request arrive moments before its answer: data counts as the next request's from this long
    /// after the answer. A client that trickles is seen at its next byte.
    private static let tickMargin: Int64 = 100

    /// When data last arrived on the socket, in `now()`'s milliseconds (`TCP_INFO`).
    private func lastReceived(now: Int64) -> Int64? {
        var info = tcp_info()
        var size = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, &info, &size) == 0 else { return nil }
        return now - Int64(info.tcpi_last_data_recv)
    }

    private func check(_ phase: inout Phase, now: Int64) -> Check {
        switch phase {
        case let .receiving(deadline) where now >= deadline:
            phase = .missed
            return .missed
        case .waiting:
            // A call of ours sees the next request before the sweeper did.
            phase = .receiving(deadline: now + limit)
            return .inTime
        case .receiving, .answering:
            return .inTime
        case .missed:
            return .missedEarlier
        }
    }

    /// Ends the connection without closing its socket, which stays libmicrohttpd's to close: it finds
    /// the stream ended at its next read (the shutdown wakes its epoll), closes the connection and
    /// reports the close. Only on the connection's own thread, or under the lock that the close report
    /// waits for (`RequestDeadlines`), is `socket` surely still this connection's.
    func shutDown() {
        shutdown(socket, Int32(SHUT_RDWR))
    }

    /// Writes `answer` straight to the socket, then shuts it down. Only on the connection's own thread
    /// while libmicrohttpd hands it a piece of the body: libmicrohttpd 0.9.75 takes no response then
    /// (`MHD_queue_response` fails while upload data is handed over), and it writes nothing on the
    /// socket meanwhile (a `100 Continue` has gone before the body); or at the head, when its pool has
    /// no room to build an answer (`HeadRoom`), before it has written anything for the request. The answer is a few hundred bytes,
    /// which an empty send buffer always takes.
    func answerAndShutDown(_ answer: [UInt8]) {
        _ = answer.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        shutDown()
    }
}
