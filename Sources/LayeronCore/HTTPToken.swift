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

    /// What a header value holds that no header may carry (RFC 9110 5.5: tabs, spaces and visible
    /// characters only), or nil: a line break would end the header and start another, and other
    /// control characters make strict clients (Node's parser) refuse the whole answer.
    public static func headerValueProblem(_ value: String) -> String? {
        if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) { return "holds a line break or NUL" }
        if let control = value.utf8.first(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
            return "holds the control character 0x\(String(control, radix: 16, uppercase: true))"
        }
        return nil
    }
}
