import Foundation
import LayeronCrypto
import XCTest

/// A `{header:NAME}` signed payload covers the header's bytes as sent, even when they are not UTF-8
/// (a Latin-1 `é`): the signature is checked against them, not against their U+FFFD repair.
final class HeaderBytesSignatureTests: XCTestCase {
    let secret = "header-bytes-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["CUSTOM_SECRET": secret])
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "latin", "path": "/latin", "provider": "custom",
                "signature": { "header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex",
                               "secret": { "secret": "CUSTOM_SECRET" }, "signedPayload": "{header:x-req-id}|{body}" } } ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func post(requestID: [UInt8], signedID: [UInt8]) throws -> String {
        let body = Array(#"{"type":"t"}"#.utf8)
        let mac = HMAC.authenticate(.sha256, key: Array(secret.utf8), message: signedID + Array("|".utf8) + body)
        let head = "POST /latin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
            + "X-Sig: \(ByteEncoding.hex.encode(mac))\r\nX-Req-Id: "
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        return try RawConnection.exchange(port: port, bytes: Array(head.utf8) + requestID + Array("\r\n\r\n".utf8) + body)
    }

    func testLatin1HeaderValueVerifiesAgainstItsBytes() throws {
        let latin1 = Array("caf".utf8) + [0xE9]
        let answer = try post(requestID: latin1, signedID: latin1)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        // The repaired text is not what was signed: a signature over it does not verify.
        let repaired = try post(requestID: latin1, signedID: Array("caf\u{FFFD}".utf8))
        XCTAssertTrue(repaired.hasPrefix("HTTP/1.1 400"), repaired)
        // UTF-8 values are unchanged.
        let utf8 = Array("café".utf8)
        XCTAssertTrue(try post(requestID: utf8, signedID: utf8).hasPrefix("HTTP/1.1 200"))
    }
}
