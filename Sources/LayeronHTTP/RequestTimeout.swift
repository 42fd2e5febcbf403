import LayeronCore

/// A connection the listener closed because its request was not whole within
/// `HTTPServerLimits.requestTimeout`: a client too slow to be served, or one holding a connection on
/// purpose by trickling its request. Carries nothing the client sent.
public struct RequestTimeout: Sendable {
    /// The client's address and port, like `203.0.113.7:51234` or `[2001:db8::7]:51234`.
    public let peer: String
    /// The listener's request timeout, which the request missed.
    public let limit: TimeSpan
}
