import COpenSSL
import Foundation

/// Why a public key could not be used; the message says what was expected.
public enum PublicKeyError: Error, Equatable, CustomStringConvertible, Sendable {
    case unreadable(String)
    case wrongKind(expected: PublicKey.Kind, found: String)

    public var description: String {
        switch self {
        case let .unreadable(reason): return reason
        case let .wrongKind(expected, found): return "is a \(found) key, not \(expected.displayName)"
        }
    }
}

/// A parsed public key held as an OpenSSL `EVP_PKEY`. Parsed once (at config load, or once per
/// secret value) so that verification only runs `EVP_DigestVerify`. An `EVP_PKEY` that is no longer
/// modified may be used for verification from several threads at once, hence `@unchecked Sendable`.
public final class PublicKey: @unchecked Sendable, Hashable {
    /// The key types the signature schemes accept.
    public enum Kind: String, Sendable, Hashable {
        case ed25519, ecP256, rsa

        public var displayName: String {
            switch self {
            case .ed25519: return "an Ed25519"
            case .ecP256: return "an ECDSA P-256"
            case .rsa: return "an RSA"
            }
        }
    }

    public let kind: Kind
    /// SubjectPublicKeyInfo DER: the identity of the key.
    public let der: [UInt8]
    let pkey: OpaquePointer

    private init(owning pkey: OpaquePointer, expected: Kind) throws(PublicKeyError) {
        let found: Kind?
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_ED25519: found = .ed25519
        case EVP_PKEY_RSA: found = .rsa
        case EVP_PKEY_EC: found = Self.groupName(pkey) == "prime256v1" ? .ecP256 : nil
        default: found = nil
        }
        guard found == expected else {
            let name = found.map(\.rawValue) ?? Self.typeName(pkey)
            EVP_PKEY_free(pkey)
            throw .wrongKind(expected: expected, found: name)
        }
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_PUBKEY(pkey, &buffer)
        guard length > 0, let buffer else {
            EVP_PKEY_free(pkey)
            throw .unreadable("OpenSSL could not re-encode the key")
        }
        der = Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
        CRYPTO_free(buffer, #fileID, #line)
        kind = expected
        self.pkey = pkey
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A raw 32-byte Ed25519 public key (Discord's application public key, after hex decoding).
    public convenience init(ed25519Raw bytes: [UInt8]) throws(PublicKeyError) {
        guard bytes.count == 32 else { throw .unreadable("an Ed25519 public key is 32 bytes, found \(bytes.count)") }
        let pkey = bytes.withUnsafeBufferPointer { EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }
        guard let pkey else { throw .unreadable("OpenSSL refused the Ed25519 key bytes") }
        try self.init(owning: pkey, expected: .ed25519)
    }

    /// A SubjectPublicKeyInfo in DER (SendGrid's verification key, after base64 decoding).
    public convenience init(der bytes: [UInt8], expected: Kind) throws(PublicKeyError) {
        let pkey: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let pkey else { throw .unreadable("not a DER SubjectPublicKeyInfo") }
        try self.init(owning: pkey, expected: expected)
    }

    /// A `-----BEGIN PUBLIC KEY-----` block.
    public convenience init(pem text: String, expected: Kind) throws(PublicKeyError) {
        let bytes = Array(text.utf8)
        let pkey: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let pkey else { throw .unreadable("not a PEM public key (-----BEGIN PUBLIC KEY-----)") }
        try self.init(owning: pkey, expected: expected)
    }

    /// Reads a key the way users paste them: PEM, or hex or base64 of either the raw Ed25519 key or a
    /// DER SubjectPublicKeyInfo.
    public convenience init(text: String, expected: Kind) throws(PublicKeyError) {
        let trimmed = text.trimmingWhitespace
        if trimmed.hasPrefix("-----BEGIN") {
            try self.init(pem: trimmed, expected: expected)
            return
        }
        guard let bytes = ByteEncoding.hex.decode(Substring(trimmed)) ?? ByteEncoding.base64.decode(Substring(trimmed))
                ?? ByteEncoding.base64url.decode(Substring(trimmed)), !bytes.isEmpty else {
            throw .unreadable("expected PEM, hex or base64 key text")
        }
        if expected == .ed25519, bytes.count == 32 {
            try self.init(ed25519Raw: bytes)
            return
        }
        do throws(PublicKeyError) {
            try self.init(der: bytes, expected: expected)
        } catch .unreadable where expected == .ed25519 {
            // Most Ed25519 keys are pasted raw (Discord shows 64 hex digits): say so, not only DER.
            throw .unreadable("an Ed25519 public key is 32 bytes (64 hex digits) or a DER SubjectPublicKeyInfo; found \(bytes.count) bytes that are not one")
        }
    }

    public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool { lhs.der == rhs.der }
    public func hash(into hasher: inout Hasher) { hasher.combine(der) }

    private static func groupName(_ pkey: OpaquePointer) -> String {
        var name = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_group_name(pkey, &name, name.count, &length) == 1 else { return "" }
        return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func typeName(_ pkey: OpaquePointer) -> String {
        guard let name = EVP_PKEY_get0_type_name(pkey) else { return "unknown" }
        return String(cString: name)
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

extension PublicKey {
    /// The key `text` holds, parsed once per distinct value: keys kept in the secrets store arrive as
    /// text with every request, and parsing one costs far more than the verification it serves.
    /// Public keys are not secret, so keeping them is harmless; the cache holds at most 64 values.
    public static func cached(text: String, expected: Kind) throws(PublicKeyError) -> PublicKey {
        if let key = PublicKeyCache.shared.lookup(text, expected) { return key }
        let key = try PublicKey(text: text, expected: expected)
        PublicKeyCache.shared.store(key, text, expected)
        return key
    }
}

private final class PublicKeyCache: @unchecked Sendable {
    static let shared = PublicKeyCache()
    private let capacity = 64
    /// Guards `keys`.
    private let lock = NSLock()
    private var keys: [String: PublicKey] = [:]

    func lookup(_ text: String, _ kind: PublicKey.Kind) -> PublicKey? {
        lock.lock()
        defer { lock.unlock() }
        return keys[kind.rawValue + "\u{0}" + text]
    }

    func store(_ key: PublicKey, _ text: String, _ kind: PublicKey.Kind) {
        lock.lock()
        defer { lock.unlock() }
        if keys.count >= capacity { keys.removeAll() }
        keys[kind.rawValue + "\u{0}" + text] = key
    }
}
