import COpenSSL
import Foundation
import Synchronization

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
/// hashing a 1.2 KB webhook body; here each thread keeps a context per (algorithm, key) and
/// re-initialises it for each message (`HMACThreadContexts`), which restores the keyed state
/// without a key schedule, an allocation or a lock.
public enum HMAC {
    /// The MAC of `message` under `key`.
    public static func authenticate(_ algorithm: HashAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        authenticate(algorithm, key: key) { input in input.update(message) }
    }

    /// The MAC, under `key`, of the bytes `feed` hands to its input, in order: a message made of
    /// several parts (a timestamp, a separator, the body) is authenticated without being copied
    /// together first. `feed` may be called twice (the second time to collect the bytes for the
    /// one-shot fallback), so it must only hand over bytes.
    public static func authenticate(_ algorithm: HashAlgorithm, key: [UInt8], feed: (inout HMACInput) -> Void) -> [UInt8] {
        let contexts = HMACThreadContexts.current
        if let context = contexts.borrow(algorithm, key: key) {
            defer { contexts.giveBack() }
            var input = HMACInput(context: context)
            feed(&input)
            var out = [UInt8](repeating: 0, count: algorithm.digestLength)
            var outLength = 0
            let finished = out.withUnsafeMutableBufferPointer { o in
                EVP_MAC_final(context, o.baseAddress, &outLength, o.count) == 1
            }
            if input.ok, finished, outLength == out.count { return out }
        }
        var message = HMACInput.collecting()
        feed(&message)
        return oneShot(algorithm, key: key, message: message.collected)
    }

    /// Makes every thread drop its keyed contexts before its next MAC. The server calls it whenever
    /// it installs new secrets, so that a rotated-out secret's key schedule does not stay in the
    /// memory of threads that verified with it. A request that started before still verifies with
    /// the secrets it started with, and may key a context again on its way out.
    public static func forgetKeys() {
        HMACThreadContexts.generation.add(1, ordering: .relaxed)
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

/// Where a message's parts go while its MAC is computed: straight into OpenSSL's context, or into
/// a buffer (the fallback path, and callers that need the message itself).
public struct HMACInput {
    private let context: OpaquePointer?
    /// The bytes handed over, when collecting.
    public private(set) var collected: [UInt8] = []
    /// False once OpenSSL refused an update; the MAC is then computed again the one-shot way.
    fileprivate private(set) var ok = true

    fileprivate init(context: OpaquePointer?) { self.context = context }

    /// An input that keeps the bytes in `collected`.
    public static func collecting(reservingCapacity capacity: Int = 0) -> HMACInput {
        var input = HMACInput(context: nil)
        input.collected.reserveCapacity(capacity)
        return input
    }

    public mutating func update(_ part: UnsafeRawBufferPointer) {
        guard let context else {
            collected.append(contentsOf: part)
            return
        }
        if ok, part.count > 0 {
            ok = EVP_MAC_update(context, part.baseAddress?.assumingMemoryBound(to: UInt8.self), part.count) == 1
        }
    }

    public mutating func update(_ part: [UInt8]) {
        part.withUnsafeBytes { update($0) }
    }

    /// The text's UTF-8, read in place when the string is stored contiguously (native strings are).
    public mutating func update(_ part: String) {
        let done: Void? = part.utf8.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { update(Array(part.utf8)) }
    }
}

/// The calling thread's HMAC contexts, one per (algorithm, key) it has used, keyed once and
/// re-initialised for each message (`EVP_MAC_init` with no key restores the keyed state). Per
/// thread, so using one needs no lock and no copy. At most `capacity` keys are kept (a few secrets
/// per webhook, more during rotations); past that the thread starts over. `HMAC.forgetKeys()`
/// (called whenever the server installs new secrets) makes every thread start over at its next MAC,
/// so the keys of rotated-out secrets do not stay in memory. A context is lent to one computation at a time: a
/// nested call on the same thread (none is made today) takes the one-shot path.
final class HMACThreadContexts {
    private static let capacity = 16
    /// The HMAC implementation, fetched once; nil when the provider has none. An `EVP_MAC` may be
    /// shared by threads; it is never changed after the fetch.
    nonisolated(unsafe) private static let mac = EVP_MAC_fetch(nil, "HMAC", nil)
    private static let slot = PerThread("HMAC contexts") { HMACThreadContexts() }

    /// Counts `HMAC.forgetKeys()` calls; a thread whose `seenGeneration` differs drops its contexts.
    static let generation = Atomic<UInt64>(0)

    // One thread's own (a `PerThread` slot), so these skip Swift's runtime exclusivity check, which
    // every request paid on each access (docs/performance.md, item 52).
    @exclusivity(unchecked) private var entries: [(algorithm: HashAlgorithm, key: [UInt8], context: OpaquePointer)] = []
    @exclusivity(unchecked) private var lent = false
    @exclusivity(unchecked) private var seenGeneration: UInt64 = 0

    /// How many keys this thread holds contexts for.
    var keptKeys: Int { entries.count }

    /// The calling thread's contexts, made on its first MAC and freed when the thread ends.
    static var current: HMACThreadContexts { slot.current }

    deinit {
        for entry in entries { EVP_MAC_CTX_free(entry.context) }
    }

    /// A context keyed with `key` and ready for the first `EVP_MAC_update` of a message, lent until
    /// `giveBack`; nil when one is already lent or OpenSSL refuses.
    func borrow(_ algorithm: HashAlgorithm, key: [UInt8]) -> OpaquePointer? {
        guard !lent else { return nil }
        let generation = Self.generation.load(ordering: .relaxed)
        if generation != seenGeneration {
            dropAll()
            seenGeneration = generation
        }
        for entry in entries where entry.algorithm == algorithm && entry.key == key {
            guard EVP_MAC_init(entry.context, nil, 0, nil) == 1 else { return nil }
            lent = true
            return entry.context
        }
        guard let keyed = Self.makeKeyed(algorithm, key: key) else { return nil }
        if entries.count >= Self.capacity { dropAll() }
        entries.append((algorithm, key, keyed))
        lent = true
        return keyed
    }

    func giveBack() { lent = false }

    private func dropAll() {
        for entry in entries { EVP_MAC_CTX_free(entry.context) }
        entries.removeAll(keepingCapacity: true)
    }

    private static func makeKeyed(_ algorithm: HashAlgorithm, key: [UInt8]) -> OpaquePointer? {
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
