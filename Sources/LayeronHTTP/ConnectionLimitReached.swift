/// A connection limit a listener met. Nothing else says when the listener fills (its accept thread
/// only waits), and libmicrohttpd says the same words for a client over its own cap as for a full
/// listener, so the listener tells its owner which it was.
public enum ConnectionLimitReached: Sendable, Equatable {
    /// The connection that opened holds the last of the listener's `limit` slots: until one closes,
    /// new clients wait in the kernel's backlog, unanswered.
    case listener(limit: Int)
    /// A client address that already held `limit` connections opened one more, which was closed at
    /// once (`HTTPServerLimits.maxConnectionsPerAddress`).
    case perAddress(limit: Int)
}
