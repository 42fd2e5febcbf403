import CMicroHTTPD
import LayeronCore

/// A request the listener answers itself, before any handler sees it.
enum RequestRefusal: Equatable {
    /// A request line and headers that leave the connection's pool too little room for the answer
    /// (`HeadRoom`).
    case headTooLarge
    /// Whitespace between a header's name and its colon (RFC 9112 §5.1).
    case spaceBeforeColon
    /// `Transfer-Encoding: chunked` followed by whitespace, which libmicrohttpd does not read as chunked.
    case paddedChunked
    /// Two `Content-Length` headers with different values.
    case conflictingLengths
    /// An HTTP/1.1 request without `Host`.
    case missingHost
    /// More than one `Host` header.
    case repeatedHost
    /// Both `Transfer-Encoding` and `Content-Length`.
    case lengthAndChunked
    /// A transfer coding other than a single `chunked`.
    case unsupportedCoding
    /// `%00` in the path: decoded, it would end the path early.
    case encodedNUL
    /// A body over the limit, declared or (chunked) received.
    case bodyTooLarge(limit: Int)
    /// A request not whole within the listener's request timeout.
    case requestTimeout(limit: TimeSpan)
    /// A request whose answer would wait (a commit, a handler) arriving once the listener stops:
    /// the stop would cut it off, so it is answered at once and its work not started.
    case stopping

    /// The refusal's name in the metrics (`layeron_http_refused_total`): a fixed set, never anything
    /// the request wrote.
    var label: String {
        switch self {
        case .headTooLarge: "head_too_large"
        case .spaceBeforeColon: "space_before_colon"
        case .paddedChunked: "padded_chunked"
        case .conflictingLengths: "conflicting_lengths"
        case .missingHost: "missing_host"
        case .repeatedHost: "repeated_host"
        case .lengthAndChunked: "length_and_chunked"
        case .unsupportedCoding: "unsupported_coding"
        case .encodedNUL: "encoded_nul"
        case .bodyTooLarge: "body_too_large"
        case .requestTimeout: "request_timeout"
        case .stopping: "stopping"
        }
    }

    /// Each answer closes the connection: after a framing error nothing that follows on it can be
    /// trusted, and after an answer given from the head the unread body would be taken for the next
    /// request. (libmicrohttpd closes by itself after an early answer to POST and PUT only.)
    func response(adding extra: [(name: String, value: String)]) -> HTTPResponse {
        var response = self.response
        response.headers += extra
        return response
    }

    private var response: HTTPResponse {
        switch self {
        case .headTooLarge:
            return .json(431, "{\"error\":\"the request line and headers exceed the limit of \(HeadRoom.limit) bytes, counting \(HeadRoom.bytesPerHeader) bytes for each header\"}", headers: closing)
        case .spaceBeforeColon:
            return .json(400, #"{"error":"a header name is empty or has whitespace before its colon"}"#, headers: closing)
        case .paddedChunked:
            return .json(400, #"{"error":"the Transfer-Encoding value has whitespace after chunked; send exactly chunked"}"#, headers: closing)
        case .conflictingLengths:
            return .json(400, #"{"error":"the request has Content-Length headers with different values"}"#, headers: closing)
        case .missingHost:
            return .json(400, #"{"error":"an HTTP/1.1 request needs a Host header"}"#, headers: closing)
        case .repeatedHost:
            return .json(400, #"{"error":"the request has more than one Host header"}"#, headers: closing)
        case .lengthAndChunked:
            return .json(400, #"{"error":"the request has both Transfer-Encoding and Content-Length"}"#, headers: closing)
        case .unsupportedCoding:
            return .json(501, #"{"error":"the only transfer coding accepted is chunked; send the body chunked or with a Content-Length"}"#, headers: closing)
        case .encodedNUL:
            return .json(400, #"{"error":"the request path holds an encoded NUL (%00)"}"#, headers: closing)
        case let .bodyTooLarge(limit):
            return .json(413, "{\"error\":\"request body exceeds the limit of \(limit) bytes\"}", headers: closing)
        case let .requestTimeout(limit):
            return .json(408, "{\"error\":\"the request was not complete within \(limit)\"}", headers: closing)
        case .stopping:
            return .json(503, #"{"error":"the server is stopping; retry later"}"#, headers: closing + [("Retry-After", "5")])
        }
    }

    /// The response as it goes on the wire, for the one moment libmicrohttpd takes no response: while
    /// it hands over a piece of the body (`ConnectionDeadline.answerAndShutDown`).
    func wireBytes(adding extra: [(name: String, value: String)]) -> [UInt8] {
        let response = self.response(adding: extra)
        var head = "HTTP/1.1 \(response.status) \(HTTPStatus.reasonPhrase(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\n\r\n"
        return Array(head.utf8) + response.body
    }
}

private let closing: [(name: String, value: String)] = [("Connection", "close")]
