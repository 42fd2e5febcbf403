/// Why a document is not JSON, with the byte offset so the user can find the spot.
public struct JSONSyntaxError: Error, CustomStringConvertible, Sendable, Equatable {
    public let offset: Int
    public let reason: String
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }

    /// Where `offset` falls in `text` as an editor shows it: 1-based line, and 1-based column
    /// counted in characters (UTF-8 continuation bytes do not start one).
    public func lineAndColumn(in text: [UInt8]) -> (line: Int, column: Int) {
        Self.lineAndColumn(of: offset, in: text)
    }

    static func lineAndColumn(of offset: Int, in text: [UInt8]) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for byte in text.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}

/// A strict RFC 8259 parser over raw bytes. Webhook bodies are parsed once per request, straight
/// from the buffer the HTTP layer filled, so it works on bytes rather than on `String`. The grammar
/// is checked in one place (the scanners below) whether a value is built or only stepped over.
public struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    private var depth = 0
    /// Whether a string value built so far held an escaped surrogate without its other half, and so
    /// U+FFFD in its place (keys are not counted: a path names them, no value is read from them).
    private(set) var builtLoneSurrogate = false
    private static let maxDepth = 512
    /// U+FEFF in UTF-8, which a document may begin with (see `document`).
    public static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    public static func parse(_ data: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        try document(data) { (parser) throws(JSONSyntaxError) in try parser.parseValue() }
    }

    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    /// Runs `root` on the whole of `data`, which must hold one value and nothing after it. A leading
    /// UTF-8 byte order mark is stepped over: RFC 8259 (section 8.1) lets a parser ignore it, and
    /// senders and editors on Windows write one.
    static func document(_ data: [UInt8], _ root: (inout JSONParser) throws(JSONSyntaxError) -> JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError> = data.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            if buffer.starts(with: byteOrderMark) { parser.index = byteOrderMark.count }
            do throws(JSONSyntaxError) {
                parser.skipWhitespace()
                let value = try root(&parser)
                parser.skipWhitespace()
                guard parser.index == buffer.count else { throw parser.error("unexpected data after the value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    init(bytes: UnsafeBufferPointer<UInt8>, index: Int = 0) {
        self.bytes = bytes
        self.index = index
    }

    func error(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, reason: reason)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        let bytes = self.bytes
        var i = index
        // One comparison for the common case, a token right away.
        while i < bytes.count, bytes[i] <= 0x20, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        index = i
    }

    /// Builds the value at the cursor.
    mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var members: [(String, JSONValue)] = []
            try walkObject { (parser, key) throws(JSONSyntaxError) in members.append((parser.string(key), try parser.parseValue())) }
            return .object(members)
        case UInt8(ascii: "["):
            var elements: [JSONValue] = []
            try walkArray { (parser) throws(JSONSyntaxError) in elements.append(try parser.parseValue()) }
            return .array(elements)
        case UInt8(ascii: "\""):
            let token = try scanString()
            if token.hasLoneSurrogate { builtLoneSurrogate = true }
            return .string(string(token))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: return try parseLiteral()
        }
    }

    /// Checks the value at the cursor and steps over it without building it.
    mutating func skipValue() throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try walkObject { (parser, _) throws(JSONSyntaxError) in try parser.skipValue() }
        case UInt8(ascii: "["): try walkArray { (parser) throws(JSONSyntaxError) in try parser.skipValue() }
        case UInt8(ascii: "\""): _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
        default: _ = try parseLiteral()
        }
    }

    private mutating func parseLiteral() throws(JSONSyntaxError) -> JSONValue {
        switch bytes[index] {
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        default:
            // A byte outside printable ASCII is named by its value: printed as it is, an escape
            // would reach the terminal, and a UTF-8 lead byte would show as some other character.
            let byte = bytes[index]
            throw error("unexpected " + ((0x21...0x7E).contains(byte) ? "character '\(Character(Unicode.Scalar(byte)))'"
                                                                     : "byte 0x\(String(byte, radix: 16, uppercase: true))"))
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for i in 0..<count where bytes[index + i] != expected[i] {
            throw error("invalid literal")
        }
        index += count
    }

    @inline(__always)
    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw error("nested deeper than \(Self.maxDepth) levels") }
    }

    /// The object grammar once, for building, pruning and skipping: `member` gets each key as it lies
    /// in the input (a caller that skips makes no string of it) and consumes the member's value.
    /// Inlined so that each caller's closure is inlined too: this loop runs for every member of
    /// every webhook body.
    @inline(__always)
    mutating func walkObject(_ member: (inout JSONParser, JSONStringToken) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try scanString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            skipWhitespace()
            try member(&self, key)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; return }
            throw error("expected ',' or '}'")
        }
    }

    @inline(__always)
    mutating func walkArray(_ element: (inout JSONParser) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; return }
            throw error("expected ',' or ']'")
        }
    }

    /// JSON numbers have no range: `Double` rounds one past its own to ±infinity or ±0, and the text,
    /// kept, is what ids, keys and the writer use, so `1e400` goes back out as `1e400`.
    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = try scanNumber()
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number") }
        return .number(JSONNumber(value, literal: text))
    }

    /// Steps over a number's grammar and returns where it started.
    private mutating func scanNumber() throws(JSONSyntaxError) -> Int {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw error("incomplete number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(bytes[index]) {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        } else {
            throw error("invalid number")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid fraction") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid exponent") }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        return start
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
}
