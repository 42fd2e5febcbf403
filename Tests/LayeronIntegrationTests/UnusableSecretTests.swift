import Foundation
import XCTest

/// An inbound secret that can never verify for its webhook's scheme is the operator's mistake: `check`
/// and `serve` name the webhook and the reference (never the value), and requests get a 500.
final class UnusableSecretTests: XCTestCase {
    private let badValue = "not-base64-at-all!"
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["BAD_WHSEC": badValue])
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "sw", "provider": "standard-webhooks", "secret": { "secret": "BAD_WHSEC" } } ]
            }
            """)
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    func testCheckReportsTheSecretByName() throws {
        let check = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", "test"],
                                           environment: ["BAD_WHSEC": badValue, "LAYERON_ADMIN_TOKEN": "t", "LAYERON_MASTER_KEY": testMasterKey], removing: secretVariables,
                                           directory: server.directory.path)
        XCTAssertEqual(check.status, 1, check.stdout)
        XCTAssertTrue(check.stderr.contains("\(server.configPath): webhook sw: secret BAD_WHSEC is not a Standard Webhooks secret (base64, after an optional whsec_ prefix); no request can verify with it"), check.stderr)
        XCTAssertFalse(check.stdout.contains(badValue) || check.stderr.contains(badValue))
    }

    func testServeLogsItAndAnswersRequests500() throws {
        try server.start()
        XCTAssertTrue(server.logs.contains("webhook sw: secret BAD_WHSEC is not a Standard Webhooks secret"), server.logs)
        let body = Array(#"{"type":"x"}"#.utf8)
        let now = Int64(Date().timeIntervalSince1970)
        let reply = try server.post("/webhooks/sw", headers: [("webhook-id", "msg_1"), ("webhook-timestamp", "\(now)"),
                                                              ("webhook-signature", "v1,AAAA")], body: body)
        XCTAssertEqual(reply.status, 500, reply.body)
        XCTAssertTrue(reply.body.contains("the webhook's configured secret cannot verify any request"), reply.body)
        XCTAssertFalse(server.logs.contains(badValue))
        XCTAssertFalse(reply.body.contains(badValue))
    }
}
