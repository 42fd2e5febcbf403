import LayeronServer

/// Where `serve` is, for the signal thread: a SIGHUP that comes while the server starts waits for
/// it, one while it runs reloads it, one during the stop does nothing.
enum ServePhase {
    /// The server is starting; `hangUpWaiting` once a SIGHUP came meanwhile.
    case starting(hangUpWaiting: Bool)
    case running(Server)
    case stopping

    var server: Server? {
        if case let .running(server) = self { server } else { nil }
    }

    /// For a SIGHUP: true when it waits for the server to start (noted here), false when it is
    /// taken now.
    mutating func holdHangUp() -> Bool {
        guard case .starting = self else { return false }
        self = .starting(hangUpWaiting: true)
        return true
    }

    /// Moves on to running `server`; true when a SIGHUP came during the start.
    mutating func begin(_ server: Server) -> Bool {
        defer { self = .running(server) }
        if case let .starting(hangUpWaiting) = self { return hangUpWaiting }
        return false
    }
}
