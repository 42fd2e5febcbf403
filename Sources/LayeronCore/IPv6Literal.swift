import Glibc

/// One spelling for each IPv6 address, so that a `host` and a request's Host name the same address
/// whatever spelling each chose: `[0:0::1]`, `[::0001]` and `[::1]` are one address, and compared as
/// text they did not match. libc parses and prints it (`inet_pton`, `inet_ntop`); glibc prints the
/// RFC 5952 form: lower-case hex without leading zeros, the longest run of two or more zero groups
/// as `::`, an IPv4-mapped address with its dotted tail.
public enum IPv6Literal {
    /// `text` (an address without its brackets) in its RFC 5952 form; nil when it is no IPv6 address
    /// (a zone such as `%eth0` included: no request names one in its Host).
    public static func canonical(_ text: String) -> String? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN)) { buffer in
            guard inet_ntop(AF_INET6, &address, buffer.baseAddress, socklen_t(buffer.count)) != nil else { return nil }
            return String(cString: buffer.baseAddress!)
        }
    }
}
