import Glibc

/// `HOST:PORT` for a listener; IPv6 hosts are written in brackets (`[::1]:8080`). Port 0 asks the
/// kernel for a free port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init?(parsing text: String) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { return nil }
        }
        if hostPart == "localhost" { hostPart = "127.0.0.1" }
        guard !hostPart.isEmpty, let port = UInt16(portPart) else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var isIPv6: Bool { host.contains(":") }

    /// The listeners bind an address and never resolve a name: one given as a name would be refused
    /// only once `serve` had opened the store and loaded the plugins.
    public var isIPAddress: Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// True for 127.0.0.0/8 and ::1: only processes on this machine can reach it.
    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }

    /// True when both cannot be bound at once: one port (not 0, which picks a free one each time) on
    /// one address, or on the wildcard of the other's family.
    public func overlaps(_ other: ListenAddress) -> Bool {
        guard port != 0, port == other.port, isIPv6 == other.isIPv6 else { return false }
        let wildcard = isIPv6 ? "::" : "0.0.0.0"
        return host == other.host || host == wildcard || other.host == wildcard
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
