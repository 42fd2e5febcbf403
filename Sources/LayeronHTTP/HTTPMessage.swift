/// One request as libmicrohttpd parsed it.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoded by libmicrohttpd: what routing matches.
    public var path: String
    /// The path as sent, when it holds percent-encoding (`/a%2Fb`, where `path` is `/a/b`); nil
    /// otherwise, nearly always. Signatures over the request's URL are made over what was sent.
    public var encodedPath: String?
    /// The query string as sent, without `?`; empty when none.
    public var rawQuery: String
    /// Query arguments, percent-decoded by libmicrohttpd.
    public var query: [(name: String, value: String)]
    /// Header names lower-cased, in arrival order.
    public var headers: [(name: String, value: String)]
    /// The bytes of header values that are not valid UTF-8, by position in `headers` (where U+FFFD
    /// stands in for them), so that a signature over such a header can still be checked. Empty for
    /// nearly every request.
    public var invalidUTF8HeaderValues: [Int: [UInt8]]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        // Names are stored lower-cased and callers nearly always ask with lower-case constants:
        // lower-case (a new string) only a name that may need it.
        let lower = name.utf8.contains(where: { $0 &- 65 < 26 || $0 >= 0x80 }) ? name.lowercased() : name
        return headers.first(where: { $0.name == lower })?.value
    }

    /// The path exactly as the request line carried it.
    public var pathAsSent: String { encodedPath ?? path }
}

/// The answer to a request.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON body with the right content type.
    public static func json(_ status: Int, _ text: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        json(status, body: Array(text.utf8), headers: headers)
    }

    /// A JSON body already in bytes. Nearly every answer has no other header, and then the header
    /// list is one shared array rather than a new one per response.
    public static func json(_ status: Int, body: [UInt8], headers: [(name: String, value: String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers.isEmpty ? jsonContentType : jsonContentType + headers, body: body)
    }

    private static let jsonContentType: [(name: String, value: String)] = [("Content-Type", "application/json")]

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}

/// How a request is answered: at once, or later from another thread. A `later` reply suspends the
/// connection, so the worker thread serves other connections while a handler runs.
public enum HTTPReply: Sendable {
    case now(HTTPResponse)
    /// `start` receives the function to call, exactly once, with the response.
    case later(_ start: @Sendable (_ respond: @escaping @Sendable (HTTPResponse) -> Void) -> Void)
}

/// Who answers requests. Called on libmicrohttpd's worker threads; may block for a short while (a
/// group commit) but never for a handler's full run: slow work answers with `.later`.
public typealias HTTPRequestHandler = @Sendable (HTTPRequest) -> HTTPReply
