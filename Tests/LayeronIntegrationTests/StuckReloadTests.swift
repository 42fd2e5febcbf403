import Foundation
import XCTest

/// A reload can wait for a plugin's `init` for as long as that takes (a changed `plugins.config` starts
/// a new version). Stop signals are still taken meanwhile: the first waits for the reload, a second
/// exits at once. The SIGHUP's reload used to run on the signal thread, which then took nothing else.
final class StuckReloadTests: XCTestCase {
    let secret = "stuck-reload-secret"

    func testASecondStopSignalExitsWhileAReloadWaitsForAPluginsInit() throws {
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let gate = server.path("gate")
        defer {
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            server.stop()
        }
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "slowinit", version: "1.0.0", handlers: ["go"]), output: "\(server.pluginsDir)/slowinit.so")
        try writeConfig(server, pluginConfig: #"{"round": 1}"#)
        try server.start()

        try writeConfig(server, pluginConfig: #"{"round": 2, "gate": "\#(gate)"}"#)
        server.hangUp()
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") },
                      "the new version's init waits for its gate: \(server.logs)")
        server.send(SIGTERM)
        usleep(400_000)
        XCTAssertTrue(server.isRunning, "the first stop waits for the reload")
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 5) { !server.isRunning }, "a second stop signal exits at once: \(server.logs)")
        XCTAssertTrue(server.logs.contains("second signal"), server.logs)
        // The new version's init never returned: only the start's load of the plugin was logged.
        let loads = server.logs.split(separator: "\n").filter { $0.contains("plugin loaded") && $0.contains("slowinit") }
        XCTAssertEqual(loads.count, 1, "the reload's init returned: \(server.logs)")
    }

    private func writeConfig(_ server: TestServer, pluginConfig: String) throws {
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "slowinit": \(pluginConfig) } },
              "webhooks": [ { "name": "hook", "provider": "custom", "handler": "slowinit.go",
                "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
                "event": {"id": "body.id", "type": "body.type"} } ]
            }
            """)
    }
}
