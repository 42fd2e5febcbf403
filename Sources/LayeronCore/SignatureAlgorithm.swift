import LayeronCrypto

/// How a signature is checked against the signed payload.
public enum SignatureAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// A MAC keyed with the shared secret.
    case hmac(HashAlgorithm)
    /// No signature: the header carries the shared secret itself (GitLab's `X-Gitlab-Token`, HTTP Basic
    /// credentials). Still compared in constant time.
    case token
    case ed25519
    case ecdsaP256SHA256
    case rsaSHA256

    /// The names `signature.algorithm` accepts.
    public static let byConfigName: [String: SignatureAlgorithm] = [
        "hmac-sha1": .hmac(.sha1), "hmac-sha256": .hmac(.sha256), "hmac-sha512": .hmac(.sha512),
        "ed25519": .ed25519, "ecdsa-p256-sha256": .ecdsaP256SHA256, "rsa-sha256": .rsaSHA256, "token": .token,
    ]

    public var description: String {
        Self.byConfigName.first(where: { $0.value == self })?.key ?? "unknown"
    }

    /// The key type of an asymmetric algorithm; nil for shared-secret ones.
    public var publicKeyKind: PublicKey.Kind? {
        switch self {
        case .ed25519: return .ed25519
        case .ecdsaP256SHA256: return .ecP256
        case .rsaSHA256: return .rsa
        case .hmac, .token: return nil
        }
    }
}

/// Text encodings of a signature in a header. `text` takes the characters as they are (tokens).
public enum SignatureEncoding: String, Sendable, Hashable, CaseIterable {
    case hex, base64, base64url, text

    func decode(_ value: Substring) -> [UInt8]? {
        var value = value
        return value.withUTF8 { decode(utf8: $0) }
    }

    func decode(utf8 value: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        switch self {
        case .hex: return ByteEncoding.hex.decode(utf8: value)
        case .base64: return ByteEncoding.base64.decode(utf8: value)
        case .base64url: return ByteEncoding.base64url.decode(utf8: value)
        case .text: return Array(value)
        }
    }
}

/// How a configured shared secret becomes MAC key bytes.
public enum SecretFormat: String, Sendable, Hashable, CaseIterable {
    /// The UTF-8 bytes as configured (Stripe keys with the whole `whsec_…` text).
    case text
    /// Standard Webhooks: base64 after an optional `whsec_` prefix.
    case whsec
    case base64, hex

    /// The key bytes, or nil when the value is not in this format.
    public func keyBytes(_ secret: SecretValue) -> [UInt8]? {
        switch self {
        case .text: return secret.bytes
        case .whsec:
            let text = secret.text
            let body = text.hasPrefix("whsec_") ? Substring(text.dropFirst(6)) : Substring(text)
            return ByteEncoding.base64.decode(body).flatMap { $0.isEmpty ? nil : $0 }
        case .base64: return ByteEncoding.base64.decode(Substring(secret.text))
        case .hex: return ByteEncoding.hex.decode(Substring(secret.text))
        }
    }

    /// What a value `keyBytes` refuses is not, for messages that must not quote the value.
    var refusal: String {
        switch self {
        case .text: return "is not text"
        case .whsec: return "is not a Standard Webhooks secret (base64, after an optional whsec_ prefix)"
        case .base64: return "is not base64"
        case .hex: return "is not hex"
        }
    }
}
