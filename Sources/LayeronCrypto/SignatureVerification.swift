import COpenSSL

extension PublicKey {
    /// True when `signature` is this key's signature of `message`: Ed25519 (pure), ECDSA P-256 with
    /// SHA-256, or RSA PKCS#1 v1.5 with SHA-256. ECDSA signatures may be DER or the 64-byte `r‖s` form
    /// that JOSE uses. Never throws: a malformed signature simply does not verify.
    public func verifies(_ signature: [UInt8], message: [UInt8]) -> Bool {
        if kind == .ecP256, signature.count == 64, let der = Self.derECDSA(rawSignature: signature),
           verifiesExactly(der, message: message) {
            return true
        }
        return verifiesExactly(signature, message: message)
    }

    private func verifiesExactly(_ sig: [UInt8], message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        let digest: OpaquePointer? = kind == .ed25519 ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(ctx, nil, digest, nil, pkey) == 1 else { return false }
        let result = sig.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, m.count)
            }
        }
        // OpenSSL queues an error for a bad signature; drop it so it does not leak into later calls.
        ERR_clear_error()
        return result == 1
    }

    /// `r‖s` (32 bytes each) as a DER `ECDSA-Sig-Value`.
    private static func derECDSA(rawSignature: [UInt8]) -> [UInt8]? {
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let r = rawSignature.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, 32, nil) }
        let s = rawSignature.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + 32, 32, nil) }
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_ECDSA_SIG(sig, &buffer)
        guard length > 0, let buffer else { return nil }
        defer { CRYPTO_free(buffer, #fileID, #line) }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(length)))
    }
}
