import Foundation
import LayeronCrypto

/// Signs requests the way providers do, so tests send what a provider would.
enum Signing {
    static func stripeHeader(body: [UInt8], secret: String, timestamp: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        let payload = Array("\(timestamp).".utf8) + body
        let mac = HMAC.authenticate(.sha256, key: Array(secret.utf8), message: payload)
        return "t=\(timestamp),v1=\(ByteEncoding.hex.encode(mac))"
    }

    static func hmacHex(body: [UInt8], secret: String) -> String {
        ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: Array(secret.utf8), message: body))
    }
}
