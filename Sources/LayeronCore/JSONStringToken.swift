/// A string as it lies in the input, between its quotes, already checked: its bytes are valid UTF-8
/// and its escapes are well formed. Keys that a pruned parse does not want are compared or skipped
/// as tokens, so no `String` is made for them.
struct JSONStringToken {
    /// The first byte after the opening quote and the closing quote's offset.
    let start: Int
    let end: Int
    /// When false the bytes between the quotes are the string's UTF-8 as they are.
    let hasEscapes: Bool
    /// Whether an escaped surrogate without its other half stands in it: the string made of it holds
    /// U+FFFD there, as it would for `\ud83d`, `\ud83e` or a real U+FFFD alike.
    let hasLoneSurrogate: Bool
}

extension JSONParser {
    /// Steps over the string at the cursor (on its opening quote), checking it as strictly as a full
    /// parse: no control characters, well-formed escapes, and well-formed UTF-8 (no overlong forms,
    /// no encoded surrogates, nothing past U+10FFFF), the rules `String(validating:)` applies.
    /// An escaped surrogate without its other half (`"\ud83d"`) is allowed, as RFC 8259's grammar
    /// allows it and JavaScript's `JSON.stringify` writes it for a cut emoji; the string made of it
    /// holds U+FFFD in its place.
    mutating func scanString() throws(JSONSyntaxError) -> JSONStringToken {
        let start = index + 1
        var hasEscapes = false
        var hasLoneSurrogate = false
        var i = start
        while true {
            i = plainRun(from: i)
            guard i < bytes.count else { break }
            index = i
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                index += 1
                return JSONStringToken(start: start, end: i, hasEscapes: hasEscapes, hasLoneSurrogate: hasLoneSurrogate)
            }
            if c == UInt8(ascii: "\\") {
                index += 1
                if try escapedScalar() == nil { hasLoneSurrogate = true }
                hasEscapes = true
            } else if c < 0x20 {
                throw error("control character in string")
            } else {
                try skipMultibyteScalar()
            }
            i = index
        }
        index = i
        throw error("unterminated string")
    }

    /// Where the run of string bytes that need no attention (ASCII other than control characters,
    /// quote and backslash) starting at `start` ends.
    @inline(__always)
    private func plainRun(from start: Int) -> Int {
        JSONStringBytes.plainRun(in: bytes, from: start, stoppingAtNonASCII: true)
    }

    /// The string a checked token holds.
    func string(_ token: JSONStringToken) -> String {
        let raw = UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var decoder = JSONParser(bytes: bytes, index: token.start)
        while decoder.index < token.end {
            let c = bytes[decoder.index]
            decoder.index += 1
            if c == UInt8(ascii: "\\") {
                // Checked by `scanString`: this cannot fail. (`try?` would fold a lone surrogate's nil
                // into the failure.)
                let scalar: Unicode.Scalar?
                do { scalar = try decoder.escapedScalar() } catch { break }
                UTF8.encode(scalar ?? "\u{FFFD}") { out.append($0) }
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The key's UTF-8 for comparison: in place when it has no escapes, else decoded (rare).
    func withKeyBytes<R>(_ token: JSONStringToken, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard token.hasEscapes else { return body(UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])) }
        var decoded = string(token)
        return decoded.withUTF8(body)
    }

    /// The scalar an escape stands for; the cursor is on the character after the backslash and ends
    /// after the escape (after both halves of a surrogate pair); nil for a surrogate without its other
    /// half, which the string holds as U+FFFD, the replacement character.
    private mutating func escapedScalar() throws(JSONSyntaxError) -> Unicode.Scalar? {
        guard index < bytes.count else { throw error("unterminated escape") }
        let e = bytes[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): return Unicode.Scalar(e)
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let scalar = try parseHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate pairs only with a `\u` low surrogate right after it; anything else
                // (another escape, a character) is left for the next step of the scan.
                if index + 5 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                   let low = Self.hex4(bytes, at: index + 2), (0xDC00...0xDFFF).contains(low) {
                    index += 6
                    return Unicode.Scalar(0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00))
                }
                return nil
            }
            // A lone low surrogate is not a scalar either.
            return Unicode.Scalar(scalar)
        default:
            throw error("invalid escape")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("incomplete \\u escape") }
        guard let value = Self.hex4(bytes, at: index) else { throw error("invalid \\u escape") }
        index += 4
        return value
    }

    /// The four hex digits at `start` (in bounds), or nil when one is not a hex digit.
    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> UInt32? {
        var value: UInt32 = 0
        for c in bytes[start..<(start + 4)] {
            let digit: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
        }
        return value
    }

    /// Steps over one scalar of two to four bytes (the cursor on its lead byte), checked against the
    /// Unicode standard's table of well-formed UTF-8 (Table 3-7): the lead byte fixes the length and
    /// the range of the second byte, which is what excludes overlong forms, surrogates and values
    /// past U+10FFFF; later bytes are plain continuation bytes.
    private mutating func skipMultibyteScalar() throws(JSONSyntaxError) {
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch bytes[index] {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; high = 0x9F
        case 0xF0: count = 4; low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; high = 0x8F
        default: throw error("string is not valid UTF-8")
        }
        guard index + count <= bytes.count, bytes[index + 1] >= low, bytes[index + 1] <= high else {
            throw error("string is not valid UTF-8")
        }
        for k in 2..<count where bytes[index + k] & 0xC0 != 0x80 {
            throw error("string is not valid UTF-8")
        }
        index += count
    }
}

/// The scan parsing and writing JSON strings share: most of a webhook body, and nearly every header
/// stored, is bytes that a JSON string holds as they are.
enum JSONStringBytes {
    /// Where the run of bytes that are neither a control character, `"` nor `\\` (nor, when
    /// `stoppingAtNonASCII`, >= 0x80) starting at `start` ends. They are tested eight at a time: in
    /// each 64-bit word, a byte's high bit is set by the masks below when it is < 0x20 or equal to
    /// `"` or `\\` (or >= 0x80); the lowest set bit is always a real hit (borrows only run upwards
    /// from one), which gives the first byte to look at.
    @inline(__always)
    static func plainRun(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, stoppingAtNonASCII: Bool) -> Int {
        var i = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highBits: UInt64 = 0x8080_8080_8080_8080
            while i + 8 <= bytes.count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let quote = word ^ 0x2222_2222_2222_2222
                let backslash = word ^ 0x5C5C_5C5C_5C5C_5C5C
                let control = (word &- 0x2020_2020_2020_2020) & ~word
                let special = control | ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                let hits = (stoppingAtNonASCII ? word | special : special) & highBits
                if hits != 0 { return i + hits.trailingZeroBitCount / 8 }
                i += 8
            }
        }
        while i < bytes.count {
            let c = bytes[i]
            guard c >= 0x20, !stoppingAtNonASCII || c < 0x80, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\") else { return i }
            i += 1
        }
        return i
    }
}
