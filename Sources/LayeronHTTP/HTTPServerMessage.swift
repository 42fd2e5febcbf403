/// A message from libmicrohttpd about a listener, which it would otherwise print raw to standard
/// error, in the middle of the server's own (possibly JSON) log lines.
public struct HTTPServerMessage: Sendable, Equatable {
    /// Whose problem the message describes, so the server can log it at a level that fits.
    public enum Concern: Sendable, Equatable {
        /// A client's broken or abandoned request (a malformed header, a bad `Content-Length`, a
        /// connection closed mid-request): routine on a public listener, not the operator's to fix.
        case client
        /// The listener itself: binding, threads, the connection limit, system resources, a
        /// response the server built wrong.
        case server
    }

    public let text: String
    public let concern: Concern
    /// Who wrote it: `libmicrohttpd`, or `accept` for the listener's own accept thread.
    public let source: String

    public init(text: String, concern: Concern, source: String = "libmicrohttpd") {
        self.text = text
        self.concern = concern
        self.source = source
    }

    /// Classifies a libmicrohttpd message by the words of its 0.9.75 texts about one connection's
    /// request ("Error processing request (HTTP response code is 400 …)", "Connection was closed by
    /// remote side with incomplete request.", "Failed to parse `Content-Length' header …").
    /// Anything else (binding, threads, the connection limit, an answer the server got wrong) is
    /// the server's, so a message this list does not know is shown rather than hidden.
    public init(libraryText text: String) {
        let clientMarkers = ["Error processing request", "remote side", "remote peer", "Socket has been disconnected",
                             "Connection socket is closed", "Failed to send", "Content-Length", "Not enough memory in pool",
                             "Closing connection (out of memory)", "without `Host'", "The socket is no longer available",
                             "The socket is not connected", "Too late"]
        self.init(text: text, concern: clientMarkers.contains { text.contains($0) } ? .client : .server)
    }

    /// The system's reason at the end of a message such as "Failed to bind to port 0: Address
    /// already in use" (libmicrohttpd names the port it was given, 0 when it binds an address).
    var systemReason: String? {
        guard text.hasPrefix("Failed to"), let colon = text.range(of: ": ", options: .backwards) else { return nil }
        let reason = text[colon.upperBound...]
        return reason.isEmpty ? nil : String(reason)
    }
}
