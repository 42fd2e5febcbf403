/// How the signature header is laid out.
public enum SignatureHeaderFormat: Sendable, Hashable {
    /// The whole header is one signature, after an optional prefix such as `sha256=`.
    case whole(prefix: String)
    /// Fields such as Stripe's `t=…,v1=…,v1=…` or Standard Webhooks' `v1,<b64> v1,<b64>`: `separator`
    /// between fields, `assignment` between a key and its value. A key mapped to `.signature` may
    /// repeat; every value is a candidate. Unknown keys (`v0=` beside `v1=`) are ignored.
    case fields(separator: Character, assignment: Character, keys: [String: FieldRole])

    public enum FieldRole: String, Sendable, Hashable {
        case signature, timestamp, id
    }

    /// Parses a description like `"t={timestamp},v1={signature}"` or `"v1,{signature}"`. The separator
    /// is the character after the first field; a one-field format takes `separator` (default `,`).
    public init(parsingFormat text: String, separator explicitSeparator: Character? = nil) throws(SchemeDefinitionError) {
        guard let firstClose = text.firstIndex(of: "}") else {
            throw .invalid("format \"\(text)\" has no {signature} field")
        }
        let after = text[text.index(after: firstClose)...]
        let separator = explicitSeparator ?? after.first ?? ","
        var keys: [String: FieldRole] = [:]
        var assignment: Character?
        for item in text.split(separator: separator) {
            let trimmed = item.trimmingSpaces
            guard let open = trimmed.firstIndex(of: "{"), open > trimmed.startIndex, trimmed.hasSuffix("}") else {
                throw .invalid("format field \"\(trimmed)\" is not of the form key={signature|timestamp|id}")
            }
            let assign = trimmed[trimmed.index(before: open)]
            let key = String(trimmed[..<trimmed.index(before: open)])
            guard !key.isEmpty else {
                throw .invalid("format field \"\(trimmed)\" has no key before \(assign)")
            }
            if let assignment, assignment != assign {
                throw .invalid("format \"\(text)\" mixes \(assignment) and \(assign) between keys and values")
            }
            assignment = assign
            let roleName = trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]
            guard let role = FieldRole(rawValue: String(roleName)) else {
                throw .invalid("format field \"\(trimmed)\": unknown role {\(roleName)}; expected signature, timestamp or id")
            }
            keys[key] = role
        }
        guard keys.values.contains(.signature), let assignment else {
            throw .invalid("format \"\(text)\" has no {signature} field")
        }
        self = .fields(separator: separator, assignment: assignment, keys: keys)
    }

    var hasTimestampField: Bool {
        if case let .fields(_, _, keys) = self { return keys.values.contains(.timestamp) }
        return false
    }

    var hasIDField: Bool {
        if case let .fields(_, _, keys) = self { return keys.values.contains(.id) }
        return false
    }

    /// The header split into signature candidates and the values of the other fields.
    func parse(_ value: String, header: String, encoding: SignatureEncoding) -> Result<ParsedSignatureHeader, VerificationFailure> {
        var parsed = ParsedSignatureHeader()
        switch self {
        case let .whole(prefix):
            guard value.hasPrefix(prefix) else {
                return .failure(.malformedHeader(header, reason: "expected the prefix \"\(prefix)\""))
            }
            guard let decoded = encoding.decode(value.dropFirst(prefix.count).trimmingSpaces), !decoded.isEmpty else {
                return .failure(.malformedHeader(header, reason: "signature is not \(encoding.rawValue)"))
            }
            parsed.candidates.append(decoded)
        case let .fields(separator, assignment, keys):
            for field in value.split(separator: separator) {
                let item = field.trimmingSpaces
                guard let eq = item.firstIndex(of: assignment) else { continue }
                let fieldValue = item[item.index(after: eq)...]
                switch keys[String(item[..<eq])] {
                case .signature:
                    // An undecodable candidate cannot match; others may still.
                    if let decoded = encoding.decode(fieldValue), !decoded.isEmpty { parsed.candidates.append(decoded) }
                case .timestamp: parsed.timestamp = String(fieldValue)
                case .id: parsed.id = String(fieldValue)
                case nil: continue
                }
            }
            if parsed.candidates.isEmpty {
                return .failure(.malformedHeader(header, reason: "no \(encoding.rawValue) signature field"))
            }
        }
        return .success(parsed)
    }
}

/// What one signature header holds.
struct ParsedSignatureHeader {
    var candidates: [[UInt8]] = []
    var timestamp: String?
    var id: String?
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
