import LayeronCrypto

/// Our event ids: `whevt_` and 26 Crockford base-32 characters, a 48-bit millisecond timestamp then
/// 80 random bits (the ULID layout), so ids sort by creation time as text.
public enum EventID {
    public static let prefix = "whevt_"
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func make(nowMilliseconds: Int64) -> String {
        let random = SecureRandom.bytes(10)
        var value = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(max(0, nowMilliseconds))
        for i in 0..<6 { value[i] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - i))) }
        for i in 0..<10 { value[6 + i] = random[i] }
        var out = Array(prefix.utf8)
        out.reserveCapacity(prefix.utf8.count + 26)
        // 128 bits as 26 five-bit groups, most significant first (the first group holds 3 bits).
        var bitIndex = -2
        for _ in 0..<26 {
            var group = 0
            for _ in 0..<5 {
                group <<= 1
                if bitIndex >= 0 {
                    let byte = value[bitIndex / 8]
                    group |= Int(byte >> (7 - UInt8(bitIndex % 8))) & 1
                }
                bitIndex += 1
            }
            out.append(alphabet[group])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func isWellFormed(_ id: String) -> Bool {
        guard id.hasPrefix(prefix) else { return false }
        let rest = id.utf8.dropFirst(prefix.utf8.count)
        return rest.count == 26 && rest.allSatisfy { alphabet.contains($0) }
    }
}
