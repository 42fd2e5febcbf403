/// Which resolved addresses a delivery may connect to. Applied to the address libcurl is about to
/// connect to, after DNS, so a name that resolves (or re-resolves, DNS rebinding) to an inside
/// address is refused as surely as a literal one.
public enum AddressGuard {
    /// Why `address` (4 bytes for IPv4, 16 for IPv6) is refused, or nil when it is a public address.
    public static func refusal(_ address: [UInt8]) -> String? {
        switch address.count {
        case 4: return refusal(ipv4: address)
        case 16: return refusal(ipv6: address)
        default: return "not an IPv4 or IPv6 address"
        }
    }

    private static func refusal(ipv4 a: [UInt8]) -> String? {
        switch (a[0], a[1]) {
        case (0, _): return "a \"this network\" address"
        case (127, _): return "a loopback address"
        case (10, _), (172, 16...31), (192, 168): return "a private (RFC 1918) address"
        case (169, 254): return a[2] == 169 && a[3] == 254 ? "the cloud metadata address" : "a link-local address"
        case (100, 64...127): return "a shared (CGNAT, RFC 6598) address"
        case (192, 0) where a[2] == 0: return "an IETF protocol assignment address"
        case (198, 18...19): return "a benchmarking address"
        case (224...239, _): return "a multicast address"
        case (240...255, _): return "a reserved address"
        default: return nil
        }
    }

    private static func refusal(ipv6 a: [UInt8]) -> String? {
        let zeroPrefix10 = a[0..<10].allSatisfy { $0 == 0 }
        if zeroPrefix10, a[10] == 0xFF, a[11] == 0xFF {
            return refusal(ipv4: Array(a[12..<16])).map { "an IPv4-mapped form of \($0)" }
        }
        if zeroPrefix10, a[10] == 0, a[11] == 0 {
            if a[12..<15].allSatisfy({ $0 == 0 }) && a[15] <= 1 {
                return a[15] == 1 ? "the IPv6 loopback address" : "the unspecified address"
            }
            return refusal(ipv4: Array(a[12..<16])).map { "an IPv4-compatible form of \($0)" }
        }
        if a[0..<8].allSatisfy({ $0 == 0 }), a[8] == 0xFF, a[9] == 0xFF, a[10] == 0, a[11] == 0 {
            return refusal(ipv4: Array(a[12..<16])).map { "an IPv4-translated (::ffff:0:0:0/96) form of \($0)" }
        }
        if a[0] == 0x00, a[1] == 0x64, a[2] == 0xFF, a[3] == 0x9B, a[4..<12].allSatisfy({ $0 == 0 }) {
            return refusal(ipv4: Array(a[12..<16])).map { "a NAT64 form of \($0)" }
        }
        // RFC 8215's local-use prefix: an operator's translator serves any /96 inside it, and DNS64
        // writes the IPv4 address in the last 32 bits, as under the well-known prefix.
        if a[0] == 0x00, a[1] == 0x64, a[2] == 0xFF, a[3] == 0x9B, a[4] == 0x00, a[5] == 0x01 {
            return refusal(ipv4: Array(a[12..<16])).map { "a local-use NAT64 (64:ff9b:1::/48) form of \($0)" }
        }
        if a[0] == 0x20, a[1] == 0x02 {
            return refusal(ipv4: Array(a[2..<6])).map { "a 6to4 form of \($0)" }
        }
        if a[0] & 0xFE == 0xFC { return "a unique local (fc00::/7) address" }
        if a[0] == 0xFE, a[1] & 0xC0 == 0x80 { return "a link-local (fe80::/10) address" }
        if a[0] == 0xFE, a[1] & 0xC0 == 0xC0 { return "a site-local (fec0::/10) address" }
        if a[0] == 0xFF { return "a multicast address" }
        return nil
    }
}
