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

/// A dedupe key: one source (`body.event_id`) or a template of several (`"{header.x-shop}:{body.id}"`).
public struct DedupeKeyTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case field(FieldSource)
    }

    public let parts: [Part]
    public let description: String

    public init?(parsing text: String) {
        description = text
        if !text.contains("{") {
            guard let source = FieldSource(parsing: text) else { return nil }
            parts = [.field(source)]
            return
        }
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { return nil }
            guard let source = FieldSource(parsing: String(rest[rest.index(after: open)..<close])) else { return nil }
            parts.append(.field(source))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        guard parts.contains(where: { if case .field = $0 { return true } else { return false } }) else { return nil }
        self.parts = parts
    }

    /// The key for a request; nil when any field it names is missing, so that such events are not
    /// wrongly folded together.
    public func key(in request: InboundRequest, body: JSONValue?) -> String? {
        var out = ""
        for part in parts {
            switch part {
            case let .literal(s): out += s
            case let .field(source):
                guard let value = source.value(in: request, body: body), !value.isEmpty else { return nil }
                out += value
            }
        }
        return out
    }
}
