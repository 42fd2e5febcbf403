import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// Provider set-up checks the server must pass: Xero's "Intent to Receive" wants 401 for a bad
/// signature, and Trello probes the callback URL with HEAD before it creates a webhook.
final class ProviderQuirksTests: XCTestCase {
    func testXeroRejectsWith401AndTrelloAnswersHead() throws {
        let server = try TestServer(environment: ["XERO_KEY": "xero-key", "TRELLO_SECRET": "trello-secret"])
        defer { server.stop() }
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [
                { "name": "xero", "provider": "xero", "secret": { "secret": "XERO_KEY" } },
                { "name": "trello", "provider": "trello", "secret": { "secret": "TRELLO_SECRET" } }
              ]
            }
            """)
        try server.start()
        let body = Array(#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"X"}"#.utf8)
        XCTAssertEqual(try server.post("/webhooks/xero", headers: [("x-xero-signature", "AAAA")], body: body).status, 401)
        let good = ByteEncoding.base64.encode(HMAC.authenticate(.sha256, key: Array("xero-key".utf8), message: body))
        XCTAssertEqual(try server.post("/webhooks/xero", headers: [("x-xero-signature", good)], body: body).status, 200)

        let head = try HTTPClientShortcut.head(server.publicURL + "/webhooks/trello")
        XCTAssertEqual(head, 200)
        XCTAssertEqual(try server.post("/webhooks/trello", headers: [("x-trello-webhook", "AAAA")], body: body).status, 400)
        XCTAssertEqual(try HTTPClientShortcut.head(server.publicURL + "/webhooks/xero"), 405)
        // Allow names the methods each answers (RFC 9110 §10.2.1).
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        for (path, allow) in [("trello", "Allow: POST, HEAD\r\n"), ("xero", "Allow: POST\r\n")] {
            let answer = try RawConnection.exchange(port: port, "GET /webhooks/\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 405"), answer)
            XCTAssertTrue(answer.contains(allow), answer)
        }
        XCTAssertEqual(try StoreReader(path: server.databasePath).count("SELECT COUNT(*) FROM events"), 1)
    }
}
