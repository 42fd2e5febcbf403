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
    public var body: [UInt8]

    public init(method: String, path: String, query: String = "", host: String = "",
                headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.headers = headers
        self.body = body
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        // Names are stored lower-cased and callers nearly always ask with lower-case constants:
        // lower-case (a new string) only a name that may need it.
        let lower = name.utf8.contains(where: { $0 &- 65 < 26 || $0 >= 0x80 }) ? name.lowercased() : name
        return headers.first(where: { $0.name == lower })?.value
    }
}
