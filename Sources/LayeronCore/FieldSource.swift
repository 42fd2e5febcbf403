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
            // A name no request can carry (`x:id`) would read nothing from every request.
            let name = String(text.dropFirst(7))
            guard HTTPToken.isHeaderName(name) else { return nil }
            self = .header(name.lowercased())
        } else {
            return nil
        }
    }

    /// The value in a request whose body was parsed (nil when not JSON). A header's value is without
    /// the spaces and tabs that end its line: RFC 9110 (section 5.5) does not count them as part of
    /// it, so `x-id: H1␠␠` is the id `H1`. libmicrohttpd drops those that begin it.
    public func value(in request: InboundRequest, body: JSONValue?) -> String? {
        switch self {
        case let .body(path):
            var value = body
            for key in path { value = value?[key] }
            return value?.scalarText
        case let .header(name):
            return request.header(name).map(Self.droppingTrailingWhitespace)
        }
    }

    /// The value as part of a dedupe key, or nil when it does not tell its value apart: a header that
    /// was not valid UTF-8 (U+FFFD stands in for its bytes: `caf\xE9` and `caf\xE8` read alike), or,
    /// when `bodyBuiltLoneSurrogate`, a body string holding U+FFFD, which an escaped lone surrogate
    /// may have left (`\ud83d` and `\ud83e` read alike). Such a value would fold different events
    /// into one key and answer the later ones as duplicates, never recorded. Checking costs a valid
    /// request one look at an empty table or a flag.
    func distinctValue(in request: InboundRequest, body: JSONValue?, bodyBuiltLoneSurrogate: Bool) -> String? {
        guard let value = value(in: request, body: body) else { return nil }
        switch self {
        case .body:
            guard !bodyBuiltLoneSurrogate || !value.unicodeScalars.contains("\u{FFFD}") else { return nil }
        case let .header(name):
            guard request.invalidUTF8Bytes(ofHeader: name) == nil else { return nil }
        }
        return value
    }

    /// Nearly every value ends in neither, and is returned after one look at its last byte.
    private static func droppingTrailingWhitespace(_ value: String) -> String {
        let utf8 = value.utf8
        guard let last = utf8.last, last == 0x20 || last == 0x09 else { return value }
        let kept = utf8.reversed().drop { $0 == 0x20 || $0 == 0x09 }.count
        return String(decoding: utf8.prefix(kept), as: UTF8.self)
    }

    public var description: String {
        switch self {
        case let .body(path): return "body." + path.joined(separator: ".")
        case let .header(name): return "header." + name
        }
    }
}
