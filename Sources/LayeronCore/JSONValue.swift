/// A parsed JSON document. Object keys keep their order so that config errors and admin output read
/// the way the user wrote them.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case let .object(members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    /// Follows a dotted path (`data.object.id`) through nested objects.
    public func value(atPath path: [Substring]) -> JSONValue? {
        var current = self
        for part in path {
            guard let next = current[String(part)] else { return nil }
            current = next
        }
        return current
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// The value as text for ids, types and keys: strings as they are, numbers as the document wrote
    /// them (`JSONNumber.text`).
    public var scalarText: String? {
        switch self {
        case let .string(s): return s
        case let .number(n): return n.text
        case let .bool(b): return b ? "true" : "false"
        default: return nil
        }
    }

    public var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
