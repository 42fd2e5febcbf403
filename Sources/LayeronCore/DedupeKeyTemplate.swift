/// A dedupe key: one source (`body.event_id`) or a template of several (`"{header.x-shop}:{body.id}"`).
///
/// Distinct values always give distinct keys: in the value of every field but the last, the escape
/// character `\` and the first character of the separator that follows (the text up to the next
/// field) are each preceded by `\`. Without that, `a:b` + `x` and `a` + `b:x` would both be `a:b:x`,
/// and the second event would be answered as a duplicate and never recorded. A value holding neither
/// character is written as it is, so keys stored before escaping existed still match after an
/// upgrade. The last field needs no escaping: the fields before it end where their separators start,
/// and the text after it is the template's own. A value that lost bytes to U+FFFD gives no key.
public struct DedupeKeyTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum Part: Sendable, Hashable {
        case literal(String)
        case field(FieldSource)
    }

    /// Why a template is not one: the message says what to write instead.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case notAKey(String)
        /// Two fields with nothing between them run together: `ab` + `c` and `a` + `bc` are one key.
        case adjacentFields(String)
        /// A separator that begins with the escape character could not be told from an escaped value.
        case separatorBeginsWithEscape(String)

        public var description: String {
            switch self {
            case let .notAKey(text):
                return "\"\(text)\" is not a dedupe key; expected body.<path>, header.<name> or a template like \"{header.x-id}:{body.id}\""
            case let .adjacentFields(text):
                return "\"\(text)\" has two fields with nothing between them, so their values run together into one key; put a separator between them, like \"{header.x-id}:{body.id}\""
            case let .separatorBeginsWithEscape(text):
                return "\"\(text)\" has a separator beginning with \\, the character that escapes separators in field values; begin it with another character, like \":\""
            }
        }
    }

    public let parts: [Part]
    public let description: String
    /// By position in `parts`: for a field followed by another field, the character its value
    /// escapes (the first of the separator after it); nil for literals and the last field.
    private let escapedCharacters: [Unicode.Scalar?]

    public init(parsing text: String) throws(ParseError) {
        description = text
        if !text.contains("{") {
            guard let source = FieldSource(parsing: text) else { throw .notAKey(text) }
            parts = [.field(source)]
            escapedCharacters = [nil]
            return
        }
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(String(rest[..<open]))) }
            guard let close = rest[open...].firstIndex(of: "}") else { throw .notAKey(text) }
            guard let source = FieldSource(parsing: String(rest[rest.index(after: open)..<close])) else { throw .notAKey(text) }
            if case .field? = parts.last { throw .adjacentFields(text) }
            parts.append(.field(source))
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(String(rest))) }
        guard let lastField = parts.lastIndex(where: { if case .field = $0 { true } else { false } }) else { throw .notAKey(text) }
        var escapedCharacters = [Unicode.Scalar?](repeating: nil, count: parts.count)
        for (i, part) in parts.enumerated() where i < lastField {
            guard case .field = part, case let .literal(separator) = parts[i + 1], let first = separator.unicodeScalars.first else { continue }
            guard first != Self.escape else { throw .separatorBeginsWithEscape(text) }
            escapedCharacters[i] = first
        }
        self.parts = parts
        self.escapedCharacters = escapedCharacters
    }

    /// The key for a request; nil when any field it names is missing, or holds U+FFFD for what it
    /// could not hold (`FieldSource.distinctValue`), so that such events are not wrongly folded
    /// together. `bodyBuiltLoneSurrogate` is what the body's parse said of its strings.
    public func key(in request: InboundRequest, body: JSONValue?, bodyBuiltLoneSurrogate: Bool = false) -> String? {
        var out = ""
        for (i, part) in parts.enumerated() {
            switch part {
            case let .literal(s): out += s
            case let .field(source):
                guard let value = source.distinctValue(in: request, body: body, bodyBuiltLoneSurrogate: bodyBuiltLoneSurrogate),
                      !value.isEmpty else { return nil }
                if let separator = escapedCharacters[i] {
                    Self.append(value, escaping: separator, to: &out)
                } else {
                    out += value
                }
            }
        }
        return out
    }

    private static let escape: Unicode.Scalar = "\\"

    /// Appends `value` with `\` before each `\` and each `separator`; a value holding neither, nearly
    /// every one, is appended whole after one scan.
    private static func append(_ value: String, escaping separator: Unicode.Scalar, to out: inout String) {
        guard value.unicodeScalars.contains(where: { $0 == escape || $0 == separator }) else {
            out += value
            return
        }
        for scalar in value.unicodeScalars {
            if scalar == escape || scalar == separator { out.unicodeScalars.append(escape) }
            out.unicodeScalars.append(scalar)
        }
    }
}
