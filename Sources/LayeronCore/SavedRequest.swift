import LayeronCrypto

/// A request saved as JSON, the file `layeron verify` reads and the signature vectors hold:
/// `{"method", "url", "headers": {…}, "body_base64"}`. Vectors may instead name a large shared body by
/// `"body_sha256"`.
public struct SavedRequest: Sendable {
    public let method: String
    public let url: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// Why a saved request cannot be read; names the member at fault.
    public enum ReadError: Error, CustomStringConvertible, Equatable {
        case notJSON(String)
        case invalid(String)
        public var description: String {
            switch self {
            case let .notJSON(reason): return "not a request JSON: \(reason)"
            case let .invalid(reason): return reason
            }
        }
    }

    public init(parsing bytes: [UInt8]) throws(ReadError) {
        let json: JSONValue
        do { json = try JSONParser.parse(bytes) } catch { throw .notJSON("\(error)") }
        try self.init(json)
    }

    public init(_ json: JSONValue, sharedBodies: [String: [UInt8]] = [:]) throws(ReadError) {
        guard case .object = json else {
            throw .invalid(#"the request must be a JSON object: {"method": "POST", "url": "https://…", "headers": {"Name": "value"}, "body_base64": "…"}"#)
        }
        for member in ["method", "url", "body_base64", "body"] where json[member] != nil && json[member]?.stringValue == nil {
            throw .invalid("\(member) must be a string")
        }
        method = json["method"]?.stringValue ?? "POST"
        url = json["url"]?.stringValue ?? "https://localhost/"
        var headers: [(String, String)] = []
        switch json["headers"] {
        case nil:
            break
        case let .object(members)?:
            for (name, value) in members {
                guard let text = value.scalarText else { throw .invalid("header \(name) must be a string") }
                headers.append((name.lowercased(), text))
            }
        default:
            throw .invalid(#"headers must be an object of names and values, like {"Stripe-Signature": "t=…,v1=…"}"#)
        }
        self.headers = headers
        if let encoded = json["body_base64"]?.stringValue {
            guard let decoded = ByteEncoding.base64.decode(Substring(encoded)) else { throw .invalid("body_base64 is not valid base64") }
            body = decoded
        } else if let digest = json["body_sha256"]?.stringValue {
            guard let shared = sharedBodies[digest], ByteEncoding.hex.encode(Digest.hash(.sha256, shared)) == digest else {
                throw .invalid("no shared body with SHA-256 \(digest)")
            }
            body = shared
        } else {
            body = Array((json["body"]?.stringValue ?? "").utf8)
        }
    }

    /// The request as the pipeline would see it had it arrived at `url`.
    public func inbound(url: String) -> InboundRequest {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let host = String(afterScheme[..<slash]).lowercased()
        let pathAndQuery = afterScheme[slash...]
        let question = pathAndQuery.firstIndex(of: "?")
        let path = String(question.map { pathAndQuery[..<$0] } ?? pathAndQuery)
        let query = question.map { String(pathAndQuery[pathAndQuery.index(after: $0)...]) } ?? ""
        return InboundRequest(method: method, path: path.isEmpty ? "/" : path, query: query, host: host,
                              headers: headers, body: body)
    }
}
