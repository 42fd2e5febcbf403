import Glibc
import LayeronCrypto

/// Our event ids: `whevt_` and 26 Crockford base-32 characters, a 48-bit millisecond timestamp then
/// 80 random bits (the ULID layout), so ids sort by creation time as text.
public enum EventID {
    public static let prefix = "whevt_"
    private static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    private static let length = 6 + 26

    public static func make(nowMilliseconds: Int64) -> String {
        encode(timestamp(nowMilliseconds) | RandomBytePool.current.next80Bits())
    }

    /// The smallest id made at `milliseconds`: ids made then or later sort at or after it, ids made
    /// before sort before it. Events carry the id made from their `received_at`, so the id index
    /// answers time ranges (the admin list's `since` and `until`, the retention purge).
    public static func lowerBound(milliseconds: Int64) -> String {
        encode(timestamp(milliseconds))
    }

    private static func timestamp(_ milliseconds: Int64) -> UInt128 {
        UInt128(UInt64(max(0, milliseconds)) & 0xFFFF_FFFF_FFFF) << 80
    }

    private static func encode(_ value: UInt128) -> String {
        String(unsafeUninitializedCapacity: length) { out in
            var i = 0
            for byte in prefix.utf8 {
                out[i] = byte
                i += 1
            }
            // 128 bits as 26 five-bit groups, most significant first (the first group holds 3 bits).
            for group in (0..<26).reversed() {
                out[i] = alphabet[Int(truncatingIfNeeded: value >> (5 * group)) & 31]
                i += 1
            }
            return i
        }
    }

    public static func isWellFormed(_ id: String) -> Bool {
        guard id.hasPrefix(prefix) else { return false }
        let rest = id.utf8.dropFirst(prefix.utf8.count)
        return rest.count == 26 && rest.allSatisfy { alphabet.contains($0) }
    }
}

/// Random bits for ids, drawn from OpenSSL's DRBG a few kilobytes at a time and kept per thread:
/// one `RAND_bytes` call (and its lock) per 400 ids instead of one per id, with no lock of ours.
/// Ids are identifiers, not secrets, so holding the unused bytes in memory costs nothing.
private final class RandomBytePool {
    private static let refill = 4000
    private static let slot = PerThread("event ids") { RandomBytePool() }

    private var bytes: [UInt8] = []
    private var offset = 0

    /// The calling thread's pool, made on its first id and freed when the thread ends.
    static var current: RandomBytePool { slot.current }

    /// 80 fresh random bits in the low bits of the result; no byte is handed out twice.
    func next80Bits() -> UInt128 {
        if offset + 10 > bytes.count {
            bytes = SecureRandom.bytes(Self.refill)
            offset = 0
        }
        var value: UInt128 = 0
        for i in offset..<offset + 10 { value = value << 8 | UInt128(bytes[i]) }
        offset += 10
        return value
    }
}
