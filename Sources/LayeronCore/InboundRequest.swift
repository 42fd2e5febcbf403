/// What the pipeline sees of one HTTP request: independent of the HTTP library so that routing,
/// verification and field extraction are testable without a server.
public struct InboundRequest: Sendable {
    public var method: String
    /// The path without the query string.
    public var path: String
    /// The raw query string without `?`, empty when there is none.
    public var query: String
    /// The Host header without a port, lower-cased; empty when absent.
    public var host: String
    /// Headers in arrival order with lower-cased names.
    public var headers: [(name: String, value: String)]
    /// The bytes of header values that are not valid UTF-8, by position in `headers` (where U+FFFD
    /// stands in for them); empty for nearly every request.
    public var invalidUTF8HeaderValues: [Int: [UInt8]]
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", host: String = "",
                headers: [(name: String, value: String)], invalidUTF8HeaderValues: [Int: [UInt8]] = [:], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.headers = headers
        self.invalidUTF8HeaderValues = invalidUTF8HeaderValues
        self.body = body
    }

    /// The bytes the first header named `name` (lower-case) arrived with, when they are not valid
    /// UTF-8; nil otherwise, found without a scan when the request has no such header.
    func invalidUTF8Bytes(ofHeader name: String) -> [UInt8]? {
        guard !invalidUTF8HeaderValues.isEmpty, let index = headers.firstIndex(where: { $0.name == name }) else { return nil }
        return invalidUTF8HeaderValues[index]
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        // Names are stored lower-cased and callers nearly always ask with lower-case constants:
        // lower-case (a new string) only a name that may need it.
        let lower = name.utf8.contains(where: { $0 &- 65 < 26 || $0 >= 0x80 }) ? name.lowercased() : name
        return headers.first(where: { $0.name == lower })?.value
    }
}
