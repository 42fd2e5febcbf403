/// A webhook's `host`: an exact name or a one-label wildcard (`*.example.com`).
public enum HostPattern: Sendable, Hashable, CustomStringConvertible {
    case exact(String)
    case wildcard(suffix: String)

    /// Why a `host` could never equal a request's host (`InboundPipeline.hostWithoutPort`: lower-case,
    /// without the port, an IPv6 literal without its brackets and in its `IPv6Literal` spelling): the
    /// message says what to write.
    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case port(String)
        case trailingDot(String)
        case notASCII(String)
        case notAHostName(String)
        case notAnIPv6Address(String)
        case bareIPv6Address(String)
        case wildcardAddress(String)

        public var description: String {
            switch self {
            case let .port(text):
                return "\"\(text)\": a request's host is matched without its port; leave the port out (an IPv6 address goes in brackets, like \"[::1]\")"
            case let .trailingDot(text):
                return "\"\(text)\" ends with a dot, which a request's host never has; leave it out, like \"\(text.dropLast())\""
            case let .notASCII(text):
                return "\"\(text)\" is not ASCII: requests carry an international name in its punycode form; write that (xn--…, as `idn2` prints it)"
            case let .notAHostName(text):
                return "\"\(text)\" is not a host name, *.domain pattern or [IPv6] address; a name is letters, digits, - and _ in labels joined by dots"
            case let .bareIPv6Address(text):
                return "\"\(text)\" is an IPv6 address: write it in brackets, \"[\(text)]\", as a request's Host carries it"
            case let .wildcardAddress(text):
                return "\"\(text)\": a wildcard stands for one label of a name, and an IP address has none; match the address itself, or a name like \"*.example.com\""
            case let .notAnIPv6Address(text):
                return "\"\(text)\" is not an IPv6 address in brackets, like \"[2001:db8::1]\" (without a zone such as %eth0, which no request's host carries)"
            }
        }
    }

    public init(parsing text: String) throws(ParseError) {
        let lower = text.lowercased()
        if lower.hasPrefix("["), lower.hasSuffix("]"), lower.count > 2 {
            // A request's `[::1]:8080` is matched as `::1`, each side in its canonical spelling.
            guard let address = IPv6Literal.canonical(String(lower.dropFirst().dropLast())) else { throw .notAnIPv6Address(text) }
            self = .exact(address)
            return
        }
        if lower.hasPrefix("*.["), lower.hasSuffix("]"), IPv6Literal.canonical(String(lower.dropFirst(3).dropLast())) != nil {
            throw .wildcardAddress(text)
        }
        if lower.hasPrefix("["), lower.hasSuffix("]."), (try? HostPattern(parsing: String(text.dropLast()))) != nil { throw .trailingDot(text) }
        if lower.contains(":") { throw IPv6Literal.canonical(lower) == nil ? .port(text) : .bareIPv6Address(text) }
        if lower.hasSuffix("."), (try? HostPattern(parsing: String(text.dropLast()))) != nil { throw .trailingDot(text) }
        if !lower.allSatisfy(\.isASCII) { throw .notASCII(text) }
        let name = lower.hasPrefix("*.") ? lower.dropFirst(2) : Substring(lower)
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !name.isEmpty, !labels.contains(where: \.isEmpty),
              name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw .notAHostName(text)
        }
        self = lower.hasPrefix("*.") ? .wildcard(suffix: String(lower.dropFirst(1))) : .exact(lower)
    }

    /// `host` is already lower-case and without a port.
    public func matches(_ host: String) -> Bool {
        switch self {
        case let .exact(h): return h == host
        case let .wildcard(suffix):
            guard host.hasSuffix(suffix) else { return false }
            let label = host.dropLast(suffix.count)
            return !label.isEmpty && !label.contains(".")
        }
    }

    public var description: String {
        switch self {
        case let .exact(h): return h.contains(":") ? "[\(h)]" : h
        case let .wildcard(suffix): return "*" + suffix
        }
    }
}
