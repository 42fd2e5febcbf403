import LayeronCore
import LayeronCrypto

/// Why a delivery cannot be signed: the configured secret is not usable.
public struct OutboundSigningError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Signs deliveries by the Standard Webhooks scheme (https://www.standardwebhooks.com):
/// `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the base64
/// after `whsec_`. Every active secret signs (space-separated), so a receiver can rotate.
public enum OutboundSigner {
    /// The signature headers for one attempt. `timestamp` is Unix seconds at the attempt.
    public static func headers(id: String, timestamp: Int64, body: [UInt8], secrets: [SecretValue],
                               extra: [ExtraSignatureScheme]) throws(OutboundSigningError) -> [(name: String, value: String)] {
        guard !secrets.isEmpty else { throw OutboundSigningError(description: "the destination has no secret value") }
        var signatures: [String] = []
        for (i, secret) in secrets.enumerated() {
            guard let key = SecretFormat.whsec.keyBytes(secret) else {
                throw OutboundSigningError(description: "secret \(i + 1) \(unusableKey)")
            }
            signatures.append(signature(id: id, timestamp: timestamp, body: body, key: key))
        }
        var out: [(name: String, value: String)] = [
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", signatures.joined(separator: " ")),
        ]
        for scheme in extra {
            switch scheme {
            case .github:
                let mac = HMAC.authenticate(.sha256, key: secrets[0].bytes, message: body)
                out.append(("X-Hub-Signature-256", "sha256=" + ByteEncoding.hex.encode(mac)))
            }
        }
        return out
    }

    /// Why a secret value cannot sign, or nil when it can. Config load and reload ask this of every
    /// value, so a secret that cannot sign is refused before any event waits on it.
    public static func problem(with secret: SecretValue) -> String? {
        SecretFormat.whsec.keyBytes(secret) == nil ? unusableKey : nil
    }

    /// What a value that `SecretFormat.whsec` cannot read is told; never quotes the value.
    private static let unusableKey = "is not a Standard Webhooks key (base64 of at least one byte, optionally after whsec_)"

    /// One `v1,<base64>` signature.
    public static func signature(id: String, timestamp: Int64, body: [UInt8], key: [UInt8]) -> String {
        let mac = HMAC.authenticate(.sha256, key: key, message: Array("\(id).\(timestamp).".utf8) + body)
        return "v1," + ByteEncoding.base64.encode(mac)
    }
}
