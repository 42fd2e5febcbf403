import CShims
import Glibc

/// A client's address and port, copied when its connection opens and written out only when a line
/// about the connection is logged.
struct PeerAddress: Sendable, CustomStringConvertible {
    private var storage = sockaddr_storage()

    init(of connection: OpaquePointer?) {
        _ = layeron_mhd_client_address(connection, &storage)
    }

    /// `203.0.113.7:51234` or `[2001:db8::7]:51234`.
    var description: String {
        withUnsafeBytes(of: storage) { raw in
            switch Int32(storage.ss_family) {
            case AF_INET:
                let ip = Self.text(AF_INET, raw.baseAddress! + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!)
                return "\(ip):\(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))"
            case AF_INET6:
                let ip = Self.text(AF_INET6, raw.baseAddress! + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!)
                return "[\(ip)]:\(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))"
            default:
                return "unknown"
            }
        }
    }

    private static func text(_ family: Int32, _ ip: UnsafeRawPointer) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(family, ip, &text, socklen_t(text.count))
        return text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
