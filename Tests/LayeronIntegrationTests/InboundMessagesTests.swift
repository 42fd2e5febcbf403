import Foundation
import XCTest

/// What the public listener tells a sender, and logs, says what actually happened.
final class InboundMessagesTests: XCTestCase {
    let secret = "inbound-messages-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["GH_SECRET": secret])
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [
                { "name": "waits", "path": "/waits", "provider": "github", "secret": { "secret": "GH_SECRET" },
                  "respond": "after-handler", "timeout": "10s", "handler": "nosuch.handle" },
                { "name": "hosted", "path": "/hostonly", "host": "api.example.com", "provider": "github",
                  "secret": { "secret": "GH_SECRET" } }
              ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func signed(_ body: [UInt8]) -> [(String, String)] {
        [("X-Hub-Signature-256", "sha256=" + Signing.hmacHex(body: body, secret: secret)), ("X-GitHub-Event", "push"),
         ("X-GitHub-Delivery", UUID().uuidString)]
    }

    /// A handler that never ran is not reported as one that asked for a retry.
    func testAfterHandlerWithoutItsPluginSaysThePluginIsNotLoaded() throws {
        let body = Array(#"{"ref":"main"}"#.utf8)
        let reply = try server.post("/waits", headers: signed(body), body: body)
        XCTAssertEqual(reply.status, 503, reply.body)
        XCTAssertTrue(reply.body.contains("handler nosuch.handle did not run: its plugin nosuch is not loaded"), reply.body)
        XCTAssertFalse(reply.body.contains("asked for a retry"), reply.body)
        XCTAssertTrue(server.waitUntil { server.logs.contains("handler nosuch.handle did not run: its plugin nosuch is not loaded; the event is retried") }, server.logs)
        XCTAssertFalse(server.logs.contains("handler asked for a retry"), server.logs)
    }

    /// A path served only for another host is not reported as a path nothing serves, and the
    /// configured host is not disclosed.
    func testWrongHostIsToldThePathIsServedForAnotherHost() throws {
        let body = Array("{}".utf8)
        let reply = try server.post("/hostonly", headers: signed(body), body: body)
        XCTAssertEqual(reply.status, 404, reply.body)
        XCTAssertTrue(reply.body.contains("no webhook is configured at /hostonly for host 127.0.0.1; the path is served for another host"), reply.body)
        XCTAssertFalse(reply.body.contains("api.example.com"), reply.body)
        let nowhere = try server.post("/nowhere", headers: signed(body), body: body)
        XCTAssertEqual(nowhere.status, 404, nowhere.body)
        XCTAssertTrue(nowhere.body.contains(#""no webhook is configured at /nowhere""#), nowhere.body)
    }
}
