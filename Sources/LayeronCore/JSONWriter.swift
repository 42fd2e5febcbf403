extension JSONValue {
    /// Compact JSON text. Numbers that are whole print without a fraction.
    public func serialized() -> String {
        var out = ""
        write(into: &out)
        return out
    }

    public func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .number(n): out += n.text
        case let .string(s): JSONValue.writeString(s, into: &out)
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(into: &out)
            }
            out += "]"
        case let .object(members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(key, into: &out)
                out += ":"
                value.write(into: &out)
            }
            out += "}"
        }
    }

    /// Appends `s` as a JSON string literal; for writers that build JSON text without a `JSONValue`.
    public static func writeString(_ s: String, into out: inout String) {
        var bytes: [UInt8] = []
        writeString(s, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal to UTF-8 text. `"`, `\\` and control characters are
    /// escaped; everything else, non-ASCII included, is written as it is.
    public static func writeString(_ s: String, into out: inout [UInt8]) {
        let start = out.count
        let length = quotedLength(s)
        out.append(contentsOf: repeatElement(0, count: length))
        out.withUnsafeMutableBufferPointer { _ = writeString(s, into: $0, at: start) }
    }

    /// How many bytes `s` takes as a JSON string literal, quotes included: what a writer that fills
    /// a buffer of its own reserves before `writeString(_:into:at:)`.
    public static func quotedLength(_ s: String) -> Int {
        withUTF8(of: s) { bytes in
            var length = bytes.count + 2
            var i = JSONStringBytes.plainRun(in: bytes, from: 0, stoppingAtNonASCII: false)
            while i < bytes.count {
                let c = bytes[i]
                length += c == 0x0A || c == 0x0D || c == 0x09 || c >= 0x20 ? 1 : 5
                i = JSONStringBytes.plainRun(in: bytes, from: i + 1, stoppingAtNonASCII: false)
            }
            return length
        }
    }

    /// Writes `s` as a JSON string literal into `out` from `offset`, where `quotedLength(s)` bytes
    /// must be free; returns the offset after the closing quote. Runs that need no escape are
    /// copied whole. Header encoding writes every event's headers this way, into one buffer.
    public static func writeString(_ s: String, into out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        withUTF8(of: s) { bytes in
            var at = offset
            out[at] = UInt8(ascii: "\"")
            at += 1
            var runStart = 0
            while true {
                let runEnd = JSONStringBytes.plainRun(in: bytes, from: runStart, stoppingAtNonASCII: false)
                if runEnd > runStart, let source = bytes.baseAddress, let target = out.baseAddress {
                    (target + at).update(from: source + runStart, count: runEnd - runStart)
                    at += runEnd - runStart
                }
                guard runEnd < bytes.count else { break }
                let c = bytes[runEnd]
                out[at] = UInt8(ascii: "\\")
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out[at + 1] = c; at += 2
                case 0x0A: out[at + 1] = UInt8(ascii: "n"); at += 2
                case 0x0D: out[at + 1] = UInt8(ascii: "r"); at += 2
                case 0x09: out[at + 1] = UInt8(ascii: "t"); at += 2
                default:
                    let digits: StaticString = "0123456789abcdef"
                    out[at + 1] = UInt8(ascii: "u")
                    out[at + 2] = UInt8(ascii: "0")
                    out[at + 3] = UInt8(ascii: "0")
                    out[at + 4] = digits.utf8Start[Int(c >> 4)]
                    out[at + 5] = digits.utf8Start[Int(c & 0x0F)]
                    at += 6
                }
                runStart = runEnd + 1
            }
            out[at] = UInt8(ascii: "\"")
            return at + 1
        }
    }

    /// The string's UTF-8 in place when it is stored contiguously (native and small strings are),
    /// else a copy.
    @inline(__always)
    private static func withUTF8<R>(of s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if let result = s.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = s
        return copy.withUTF8(body)
    }
}

/// Conveniences for building admin responses without ceremony.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .number(JSONNumber(integerLiteral: value)) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(elements) }

    public static func optional(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
    public static func int(_ n: Int64) -> JSONValue { .number(JSONNumber(Double(n))) }
    public static func double(_ d: Double) -> JSONValue { .number(JSONNumber(d)) }
}
