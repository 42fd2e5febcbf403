/// RFC 9110's token (section 5.6.2), what a header's name is made of: the one rule for every name
/// the server takes from config or from a plugin and later writes on the wire.
public enum HTTPToken {
    private static let symbols: Set<UInt8> = Set("!#$%&'*+-.^_`|~".utf8)

    /// True when `name` is one or more token characters: letters, digits and !#$%&'*+-.^_`|~.
    public static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy(isTokenByte)
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A) || symbols.contains(b)
    }

    /// True when `value` holds a byte no header value may: CR, LF or NUL (a line break would end
    /// the header and start another).
    public static func breaksAHeaderValue(_ value: String) -> Bool {
        value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0 }
    }
}
