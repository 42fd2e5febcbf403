import COpenSSL

/// The hash functions keyed MACs and digests are computed with.
public enum HashAlgorithm: String, Sendable, CaseIterable {
    case sha1, sha256, sha512

    var evp: OpaquePointer? {
        switch self {
        case .sha1: return EVP_sha1()
        case .sha256: return EVP_sha256()
        case .sha512: return EVP_sha512()
        }
    }

    /// Output length in bytes.
    public var digestLength: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha512: return 64
        }
    }
}

/// HMAC over OpenSSL's one-shot `HMAC`, which is thread-safe and allocation-free on our side.
public enum HMAC {
    /// The MAC of `message` under `key`.
    public static func authenticate(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.digestLength)
        var outLength: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    _ = COpenSSL.HMAC(algorithm.evp, k.baseAddress, Int32(k.count), m.baseAddress, m.count,
                                      o.baseAddress, &outLength)
                }
            }
        }
        return out
    }
}

/// Message digests.
public enum Digest {
    /// The digest of `message`.
    public static func hash(_ algorithm: HashAlgorithm, _ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.digestLength)
        var outLength: UInt32 = 0
        message.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                _ = EVP_Digest(m.baseAddress, m.count, o.baseAddress, &outLength, algorithm.evp, nil)
            }
        }
        return out
    }
}
