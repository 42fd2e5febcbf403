import COpenSSL
import Foundation

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

    /// The name OpenSSL's providers know the digest by.
    var providerName: String {
        switch self {
        case .sha1: return "SHA1"
        case .sha256: return "SHA256"
        case .sha512: return "SHA512"
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

/// HMAC through OpenSSL 3's `EVP_MAC`. The one-shot `HMAC()` looks the MAC and the digest up in the
/// provider store and runs the key schedule (two hash blocks) on every call, which cost more than
/// hashing a 1.2 KB webhook body; here a context keyed once per (algorithm, key) is duplicated for
/// each message (`HMACKeyedContexts`).
public enum HMAC {
    /// The MAC of `message` under `key`.
    public static func authenticate(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.digestLength)
        guard let context = HMACKeyedContexts.shared.context(algorithm, key: key) else {
            return oneShot(algorithm, key: key, message: message)
        }
        defer { EVP_MAC_CTX_free(context) }
        var outLength = 0
        let ok = message.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { o in
                EVP_MAC_update(context, m.baseAddress, m.count) == 1
                    && EVP_MAC_final(context, o.baseAddress, &outLength, o.count) == 1
            }
        }
        return ok && outLength == out.count ? out : oneShot(algorithm, key: key, message: message)
    }

    /// OpenSSL's one-shot `HMAC()`: the path when a keyed context cannot be made (an OpenSSL without
    /// the default provider's HMAC would fail there as well, but report it the same way as before).
    static func oneShot(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
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

/// HMAC contexts keyed with each secret in use, so that a request pays for one context copy instead
/// of an algorithm fetch and a key schedule. Each caller gets its own duplicate (`EVP_MAC_CTX_dup`);
/// the keyed originals are never updated, only copied under the lock. At most `capacity` keys are
/// kept (a few secrets per webhook, more during rotations); past that the cache starts over, so
/// keys of rotated-out secrets do not stay in memory for long.
final class HMACKeyedContexts: @unchecked Sendable {
    static let shared = HMACKeyedContexts()
    private let capacity = 64
    /// The HMAC implementation, fetched once; nil when the provider has none.
    private let mac = EVP_MAC_fetch(nil, "HMAC", nil)
    /// Guards `contexts` and the use of the contexts it holds.
    private let lock = NSLock()
    private var contexts: [Entry: OpaquePointer] = [:]

    private struct Entry: Hashable {
        let algorithm: HashAlgorithm
        let key: [UInt8]
    }

    /// A fresh context keyed with `key`, ready for `EVP_MAC_update`; the caller frees it. Nil when
    /// OpenSSL refuses.
    func context(_ algorithm: HashAlgorithm, key: [UInt8]) -> OpaquePointer? {
        let entry = Entry(algorithm: algorithm, key: key)
        lock.lock()
        defer { lock.unlock() }
        if let keyed = contexts[entry] { return EVP_MAC_CTX_dup(keyed) }
        guard let keyed = makeKeyed(algorithm, key: key) else { return nil }
        if contexts.count >= capacity {
            contexts.values.forEach { EVP_MAC_CTX_free($0) }
            contexts.removeAll()
        }
        contexts[entry] = keyed
        return EVP_MAC_CTX_dup(keyed)
    }

    private func makeKeyed(_ algorithm: HashAlgorithm, key: [UInt8]) -> OpaquePointer? {
        guard let mac, let context = EVP_MAC_CTX_new(mac) else { return nil }
        // An empty key still needs a pointer: OpenSSL reads a null key as "keep the current key".
        let keyBytes = key.isEmpty ? [0] : key
        let ok = algorithm.providerName.withCString { name in
            "digest".withCString { digestParameter in
                var parameters = [OSSL_PARAM_construct_utf8_string(digestParameter, UnsafeMutablePointer(mutating: name), 0),
                                  OSSL_PARAM_construct_end()]
                return keyBytes.withUnsafeBufferPointer { k in
                    EVP_MAC_init(context, k.baseAddress, key.count, &parameters) == 1
                }
            }
        }
        guard ok else {
            EVP_MAC_CTX_free(context)
            return nil
        }
        return context
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
