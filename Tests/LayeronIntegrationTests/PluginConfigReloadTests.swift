import Foundation
import LayeronCore
import XCTest

/// A changed `plugins.config` entry reaches its plugin without a restart: the config reload starts a
/// new version of that plugin with the new config, as a new file would.
final class PluginConfigReloadTests: XCTestCase {
    func testAChangedPluginConfigStartsANewVersionWithIt() throws {
        let secret = "plugin-config-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "behaviours.so")
        let first = server.path("first.log"), second = server.path("second.log")
        func config(output: String) -> String {
            """
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { "output": "\(output)" } } },
              "webhooks": [
                {"name": "hook", "provider": "custom",
                 "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
                 "event": {"id": "body.id", "type": "body.type"}, "handler": "behaviours.ok"}
              ]
            }
            """
        }
        func send(_ id: String) throws -> Int {
            let body = Array(#"{"id": "\#(id)", "type": "\#(id)"}"#.utf8)
            return try server.post("/webhooks/hook", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret))], body: body).status
        }
        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        try server.writeConfig(config(output: first))
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try send("before"), 200)
        XCTAssertTrue(server.waitUntil { lines(first).count == 1 }, server.logs)

        try server.writeConfig(config(output: second))
        XCTAssertTrue(server.waitUntil { server.logs.contains("plugin config changed") }, server.logs)
        XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "plugin loaded").count == 3 }, server.logs)
        XCTAssertEqual(try send("after"), 200)
        XCTAssertTrue(server.waitUntil { lines(second).count == 1 }, "the new version writes where the new config says: \(server.logs)")
        XCTAssertEqual(lines(first).count, 1, "the old version handled nothing more")
        XCTAssertTrue(lines(second)[0].contains("after"), lines(second)[0])
    }
}
