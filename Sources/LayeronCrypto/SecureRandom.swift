import COpenSSL

/// Cryptographically strong random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    /// `count` random bytes. OpenSSL's DRBG failing is unrecoverable: nothing secure can be made without it.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "OpenSSL RAND_bytes failed: the system has no usable entropy source")
        return out
    }
}
