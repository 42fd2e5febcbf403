/// Where a value (event id, event type, dedupe key part) is read from: `body.<dotted.path>` in the JSON
/// body, or `header.<name>`.
public enum FieldSource: Sendable, Hashable, CustomStringConvertible {
    case body([String])
    case header(String)

    public init?(parsing text: String) {
        if text.hasPrefix("body.") {
            let path = text.dropFirst(5).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.isEmpty, !path.contains(where: \.isEmpty) else { return nil }
            self = .body(path)
        } else if text.hasPrefix("header.") {
            let name = text.dropFirst(7)
            guard !name.isEmpty, !name.contains(" ") else { return nil }
            self = .header(name.lowercased())
        } else {
            return nil
        }
    }

    /// The value in a request whose body was parsed (nil when not JSON).
    public func value(in request: InboundRequest, body: JSONValue?) -> String? {
        switch self {
        case let .body(path):
            var value = body
            for key in path { value = value?[key] }
            return value?.scalarText
        case let .header(name):
            return request.header(name)
        }
    }

    public var description: String {
        switch self {
        case let .body(path): return "body." + path.joined(separator: ".")
        case let .header(name): return "header." + name
        }
    }
}
