import COpenSSL

/// Why a sealed value did not open. It never carries key or plaintext bytes.
public enum AESGCMError: Error, CustomStringConvertible, Sendable {
    /// The key is not 32 bytes.
    case badKeyLength(Int)
    /// Shorter than a nonce and a tag: not something `seal` produced.
    case truncated
    /// The tag does not match: wrong key, changed bytes, or different associated data.
    case authenticationFailed
    /// OpenSSL refused a call it should not refuse; the name says which.
    case openSSL(String)

    public var description: String {
        switch self {
        case let .badKeyLength(n): return "an AES-256 key is 32 bytes, this one is \(n)"
        case .truncated: return "the sealed value is too short to hold a nonce and a tag"
        case .authenticationFailed: return "the value does not authenticate: wrong key, tampered bytes, or bound to another name"
        case let .openSSL(call): return "OpenSSL \(call) failed"
        }
    }
}

/// AES-256-GCM through OpenSSL's EVP interface. A sealed value is `nonce (12) ‖ ciphertext ‖ tag (16)`,
/// so it carries everything `open` needs except the key and the associated data. The associated data
/// is authenticated but not stored: a caller binds a value to where it belongs (a secret's name and
/// environment) and the value then refuses to open anywhere else.
public enum AESGCM {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16

    /// Seals `plaintext` under a fresh random nonce. GCM must never reuse a nonce with one key; 96 random
    /// bits keep the chance negligible for the few million values a secrets store will ever hold.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(AESGCMError) -> [UInt8] {
        try seal(plaintext, key: key, nonce: SecureRandom.bytes(nonceLength), associatedData: associatedData)
    }

    /// Seals with a given nonce; for known-answer tests. Production code uses the random-nonce form.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws(AESGCMError) -> [UInt8] {
        guard key.count == keyLength else { throw .badKeyLength(key.count) }
        precondition(nonce.count == nonceLength, "AES-GCM nonces here are 96 bits")
        let context = try Context()
        try context.initialize(encrypt: true, key: key, nonce: nonce)
        try context.update(associatedData: associatedData)
        var out = nonce
        out += try context.update(plaintext)
        try context.finish()
        out += try context.tag()
        return out
    }

    /// The plaintext of `sealed`, or `.authenticationFailed` when any byte, the key or the associated
    /// data differ from what `seal` was given.
    public static func open(_ sealed: [UInt8], key: [UInt8], associatedData: [UInt8]) throws(AESGCMError) -> [UInt8] {
        guard key.count == keyLength else { throw .badKeyLength(key.count) }
        guard sealed.count >= nonceLength + tagLength else { throw .truncated }
        let nonce = Array(sealed[..<nonceLength])
        let ciphertext = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        let tag = Array(sealed[(sealed.count - tagLength)...])
        let context = try Context()
        try context.initialize(encrypt: false, key: key, nonce: nonce)
        try context.update(associatedData: associatedData)
        let plaintext = try context.update(ciphertext)
        try context.setTag(tag)
        guard context.finishVerifying() else { throw .authenticationFailed }
        return plaintext
    }

    /// One `EVP_CIPHER_CTX`, freed when the value goes away. The pointer never leaves this type.
    private final class Context {
        private let ctx: OpaquePointer

        init() throws(AESGCMError) {
            guard let ctx = EVP_CIPHER_CTX_new() else { throw .openSSL("EVP_CIPHER_CTX_new") }
            self.ctx = ctx
        }

        deinit { EVP_CIPHER_CTX_free(ctx) }

        func initialize(encrypt: Bool, key: [UInt8], nonce: [UInt8]) throws(AESGCMError) {
            let rc = key.withUnsafeBufferPointer { k in
                nonce.withUnsafeBufferPointer { n in
                    EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nil, k.baseAddress, n.baseAddress, encrypt ? 1 : 0)
                }
            }
            guard rc == 1 else { throw .openSSL("EVP_CipherInit_ex") }
        }

        func update(associatedData: [UInt8]) throws(AESGCMError) {
            guard !associatedData.isEmpty else { return }
            var written: Int32 = 0
            let rc = associatedData.withUnsafeBufferPointer { a in
                EVP_CipherUpdate(ctx, nil, &written, a.baseAddress, Int32(a.count))
            }
            guard rc == 1 else { throw .openSSL("EVP_CipherUpdate (associated data)") }
        }

        func update(_ input: [UInt8]) throws(AESGCMError) -> [UInt8] {
            guard !input.isEmpty else { return [] }
            // GCM is a stream mode: the output is exactly as long as the input.
            var out = [UInt8](repeating: 0, count: input.count)
            var written: Int32 = 0
            let rc = input.withUnsafeBufferPointer { i in
                out.withUnsafeMutableBufferPointer { o in
                    EVP_CipherUpdate(ctx, o.baseAddress, &written, i.baseAddress, Int32(i.count))
                }
            }
            guard rc == 1, Int(written) == input.count else { throw .openSSL("EVP_CipherUpdate") }
            return out
        }

        func finish() throws(AESGCMError) {
            guard finishVerifying() else { throw .openSSL("EVP_CipherFinal_ex") }
        }

        /// On decryption this is where OpenSSL compares the tag, in constant time.
        func finishVerifying() -> Bool {
            var written: Int32 = 0
            var scratch = [UInt8](repeating: 0, count: 16)
            return scratch.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress, &written) } == 1
        }

        func tag() throws(AESGCMError) -> [UInt8] {
            var tag = [UInt8](repeating: 0, count: AESGCM.tagLength)
            let rc = tag.withUnsafeMutableBufferPointer {
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(AESGCM.tagLength), $0.baseAddress)
            }
            guard rc == 1 else { throw .openSSL("EVP_CIPHER_CTX_ctrl(GET_TAG)") }
            return tag
        }

        func setTag(_ tag: [UInt8]) throws(AESGCMError) {
            var copy = tag
            let rc = copy.withUnsafeMutableBufferPointer {
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(AESGCM.tagLength), $0.baseAddress)
            }
            guard rc == 1 else { throw .openSSL("EVP_CIPHER_CTX_ctrl(SET_TAG)") }
        }
    }
}
