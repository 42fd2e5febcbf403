/// How the signature header is laid out.
public enum SignatureHeaderFormat: Sendable, Hashable {
    /// The whole header is one signature, after an optional prefix such as `sha256=`.
    case whole(prefix: String)
    /// `Authorization` credentials such as Postmark's `Basic <b64>`: the scheme's name in any case
    /// (RFC 9110 §11.1: `basic` and `BASIC` are `Basic`), whitespace, then the one value.
    case credentials(scheme: String)
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
        if let explicitSeparator, let own = after.first, own != explicitSeparator {
            throw .invalid("format \"\(text)\" separates its fields with \"\(own)\"; \"separator\" is for a format of one field, so leave it out")
        }
        // `v1,{signature}` with the default separator would split between its key and its value.
        if explicitSeparator == nil, after.isEmpty, let open = text.firstIndex(of: "{"), open > text.startIndex,
           text[text.index(before: open)] == "," {
            throw .invalid("format \"\(text)\" puts \",\" between its key and value, and \",\" is also the default separator between fields; set \"separator\" to the character between the fields, like \" \"")
        }
        let separator = explicitSeparator ?? after.first ?? ","
        var keys: [String: FieldRole] = [:]
        var assignment: Character?
        for item in text.split(separator: separator) {
            let trimmed = item.trimmingWhitespace
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
            // A second value for one key would replace the first: `v1={timestamp},v1={signature}`
            // would read no timestamp at all.
            guard keys[key] == nil else {
                throw .invalid("format \"\(text)\" names the key \"\(key)\" twice; give each field its own key, like \"t={timestamp},v1={signature}\"")
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

    /// The header (or body field) `source` split into signature candidates and the values of the other fields.
    func parse(_ value: String, source: FieldSource, encoding: SignatureEncoding) -> Result<ParsedSignatureHeader, VerificationFailure> {
        var parsed = ParsedSignatureHeader()
        switch self {
        case let .whole(prefix):
            guard value.hasPrefix(prefix) else {
                return .failure(.malformedSignature(source, reason: "expected the prefix \"\(prefix)\""))
            }
            guard let decoded = encoding.decode(value.dropFirst(prefix.count).trimmingWhitespace), !decoded.isEmpty else {
                return .failure(.malformedSignature(source, reason: "signature is not \(encoding.rawValue)"))
            }
            parsed.candidates.append(decoded)
        case let .credentials(scheme):
            guard let credentials = Self.credentials(in: value, scheme: scheme) else {
                return .failure(.malformedSignature(source, reason: "expected the \"\(scheme)\" scheme"))
            }
            guard let decoded = encoding.decode(credentials), !decoded.isEmpty else {
                return .failure(.malformedSignature(source, reason: "credentials are not \(encoding.rawValue)"))
            }
            parsed.candidates.append(decoded)
        case let .fields(separator, assignment, keys):
            var value = value
            var separator = String(separator)
            var assignment = String(assignment)
            parsed = value.withUTF8 { text in
                separator.withUTF8 { separator in
                    assignment.withUTF8 { assignment in
                        Self.fields(of: text, separator: separator, assignment: assignment, keys: keys, encoding: encoding)
                    }
                }
            }
            if parsed.candidates.isEmpty {
                return .failure(.malformedSignature(source, reason: "no \(encoding.rawValue) signature field"))
            }
        }
        return .success(parsed)
    }
}

extension SignatureHeaderFormat {
    /// What follows `scheme` and the whitespace after it, trimmed; nil when `value` names another
    /// scheme (or runs the name into the credentials, as `Basicabc`).
    private static func credentials(in value: String, scheme: String) -> Substring? {
        var rest = Substring(value).utf8
        for expected in scheme.utf8 {
            guard let byte = rest.first, lowercasedASCII(byte) == lowercasedASCII(expected) else { return nil }
            rest = rest.dropFirst()
        }
        guard let separator = rest.first, separator == 0x20 || separator == 0x09 else { return nil }
        return Substring(rest).trimmingWhitespace
    }

    private static func lowercasedASCII(_ byte: UInt8) -> UInt8 {
        byte &- 65 < 26 ? byte | 0x20 : byte
    }

    /// The fields of a header on its UTF-8 bytes: this runs for every request of Stripe and Standard
    /// Webhooks schemes, where splitting a `String` by `Character` cost more than the HMAC's setup.
    /// Fields are trimmed of spaces and tabs; empty fields and fields without `assignment` are skipped.
    private static func fields(of text: UnsafeBufferPointer<UInt8>, separator: UnsafeBufferPointer<UInt8>,
                               assignment: UnsafeBufferPointer<UInt8>, keys: [String: FieldRole],
                               encoding: SignatureEncoding) -> ParsedSignatureHeader {
        var parsed = ParsedSignatureHeader()
        var start = 0
        while start < text.count {
            let end = text.firstRange(of: separator, in: start..<text.count)?.lowerBound ?? text.count
            var item = start..<end
            start = end + separator.count
            while !item.isEmpty, isWhitespace(text[item.lowerBound]) { item = item.dropFirst() }
            while !item.isEmpty, isWhitespace(text[item.upperBound - 1]) { item = item.dropLast() }
            guard let eq = text.firstRange(of: assignment, in: item) else { continue }
            let fieldValue = UnsafeBufferPointer(rebasing: text[eq.upperBound..<item.upperBound])
            switch keys[String(decoding: UnsafeBufferPointer(rebasing: text[item.lowerBound..<eq.lowerBound]), as: UTF8.self)] {
            case .signature:
                // An undecodable candidate cannot match; others may still.
                if let decoded = encoding.decode(utf8: fieldValue), !decoded.isEmpty { parsed.candidates.append(decoded) }
            case .timestamp: parsed.timestamp = String(decoding: fieldValue, as: UTF8.self)
            case .id: parsed.id = String(decoding: fieldValue, as: UTF8.self)
            case nil: continue
            }
        }
        return parsed
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Where `needle` first occurs within `range`.
    fileprivate func firstRange(of needle: UnsafeBufferPointer<UInt8>, in range: Range<Int>) -> Range<Int>? {
        guard let first = needle.first, needle.count <= range.count else { return nil }
        var i = range.lowerBound
        while i <= range.upperBound - needle.count {
            if self[i] == first, needle.indices.allSatisfy({ self[i + $0] == needle[$0] }) { return i..<i + needle.count }
            i += 1
        }
        return nil
    }
}

/// What one signature header holds.
struct ParsedSignatureHeader {
    var candidates: [[UInt8]] = []
    var timestamp: String?
    var id: String?
}

/// HTTP's optional whitespace (RFC 9110 §5.6.3): a space or a tab.
private func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09
}

extension StringProtocol {
    /// Without the spaces and tabs at either end: HTTP's optional whitespace around a value.
    var trimmingWhitespace: Substring {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}
