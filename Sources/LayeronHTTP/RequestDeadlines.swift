import LayeronCore
import Synchronization

/// A listener's open connections with their request deadlines, and the thread that closes those
/// past theirs. The access handler sees a late request only when a piece of it arrives; a client
/// that trickles its headers (which reach no handler before they are whole), or stops sending,
/// is seen only by this thread's pass, once a second.
final class RequestDeadlines: Sendable {
    let limit: TimeSpan
    private let onTimeout: @Sendable (RequestTimeout) -> Void
    /// Guards the table. A connection leaves it in libmicrohttpd's close report, which comes before
    /// libmicrohttpd closes the socket, so a socket the sweeper shuts down under this lock cannot
    /// have been closed and its number handed to a new connection.
    private let open = Mutex<[ObjectIdentifier: ConnectionDeadline]>([:])
    private let sweeper = PeriodicThread()

    init(limit: TimeSpan, onTimeout: @escaping @Sendable (RequestTimeout) -> Void) {
        self.limit = limit
        self.onTimeout = onTimeout
    }

    /// A connection opened (on its libmicrohttpd thread); its clock starts now.
    func opened(socket: Int32, peer: PeerAddress) -> ConnectionDeadline {
        let connection = ConnectionDeadline(socket: socket, peer: peer, limit: limit.milliseconds, now: ConnectionDeadline.now())
        open.withLock { $0[ObjectIdentifier(connection)] = connection }
        return connection
    }

    /// libmicrohttpd is about to close the connection's socket.
    func closed(_ connection: ConnectionDeadline) {
        _ = open.withLock { $0.removeValue(forKey: ObjectIdentifier(connection)) }
    }

    /// Tells the listener's owner of a connection closed for missing its deadline.
    func report(_ connection: ConnectionDeadline) {
        onTimeout(RequestTimeout(peer: connection.peer.description, limit: limit))
    }

    func start() {
        sweeper.start(named: "http-deadline", first: 1, every: 1) { [self] in closeOverdue(now: ConnectionDeadline.now()) }
    }

    func stop() {
        sweeper.stop()
    }

    private func closeOverdue(now: Int64) {
        let late = open.withLock { open in
            open.values.filter { connection in
                guard connection.sweep(now: now) == .missed else { return false }
                connection.shutDown()
                return true
            }
        }
        late.forEach(report)
    }
}
