import COpenSSL

/// Comparison whose running time does not depend on where two byte strings differ, so a caller
/// guessing a signature learns nothing from response timing.
public enum ConstantTime {
    /// True when `a` and `b` are equal. Lengths are not hidden: unequal lengths answer at once, which
    /// is fine for signatures (their length is fixed by the scheme). Compare digests of secrets whose
    /// length an attacker must not learn (the admin API compares SHA-256 digests of its tokens).
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
        }
    }
}
