/// A request the listener answers itself, before any handler sees it.
enum RequestRefusal: Equatable {
    /// A body over the limit, declared or (chunked) received.
    case bodyTooLarge(limit: Int)

    /// Each answer closes the connection: after an answer given from the head the unread body would
    /// be taken for the next request. (libmicrohttpd closes by itself after an early answer to POST
    /// and PUT only.)
    var response: HTTPResponse {
        switch self {
        case let .bodyTooLarge(limit):
            return .json(413, "{\"error\":\"request body exceeds the limit of \(limit) bytes\"}", headers: closing)
        }
    }
}

private let closing: [(name: String, value: String)] = [("Connection", "close")]
