import Foundation
import LayeronCore
import XCTest

/// A changed `plugins.config` entry reaches its plugin without a restart: the config reload starts a
/// new version of that plugin with the new config, as a new file would.
final class PluginConfigReloadTests: XCTestCase {
    func testAChangedPluginConfigStartsANewVersionWithIt() throws {
        let secret = "plugin-config-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let first = server.path("first.log"), second = server.path("second.log")
        func writeConfig(output: String) throws {
            try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#, webhooks: [("hook", #""handler": "behaviours.ok""#)])
        }
        func send(_ id: String) throws -> Int {
            try server.postSigned("hook", #"{"id": "\#(id)", "type": "\#(id)"}"#, secret: secret).status
        }
        func lines(_ path: String) -> [String] {
            ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        try server.installBehaviours()
        try writeConfig(output: first)
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try send("before"), 200)
        XCTAssertTrue(server.waitUntil { lines(first).count == 1 }, server.logs)

        try writeConfig(output: second)
        XCTAssertTrue(server.waitUntil { server.logs.contains("plugin config changed") }, server.logs)
        XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "plugin loaded").count == 3 }, server.logs)
        XCTAssertEqual(try send("after"), 200)
        XCTAssertTrue(server.waitUntil { lines(second).count == 1 }, "the new version writes where the new config says: \(server.logs)")
        XCTAssertEqual(lines(first).count, 1, "the old version handled nothing more")
        XCTAssertTrue(lines(second)[0].contains("after"), lines(second)[0])
    }

    /// A plugin whose `init` refused for want of config is told to fix `plugins.config.NAME`;
    /// fixing it loads the file again without anyone touching the file or restarting.
    func testFixingTheConfigOfAPluginWhoseInitRefusedLoadsIt() throws {
        let secret = "plugin-config-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = server.path("fixed.log")
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: "{}", webhooks: [("hook", #""handler": "behaviours.ok""#)])
        try server.start()
        defer { server.stop() }
        func state() throws -> String? {
            let plugins = try server.admin("GET", "/admin/plugins").json["plugins"]
            guard case let .array(list)? = plugins else { return nil }
            return list.first?["state"]?.stringValue
        }
        XCTAssertEqual(try state(), "failed", server.logs)

        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#, webhooks: [("hook", #""handler": "behaviours.ok""#)])
        XCTAssertTrue(try server.waitUntil { try state() == "active" }, "the fixed config loads the refused file: \(server.logs)")
        XCTAssertEqual(try server.postSigned("hook", #"{"id": "fixed", "type": "fixed"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).count == 1 }, server.logs)
    }

    /// `init` gets `plugins.config.NAME` for the name the plugin declares, whatever its file is
    /// called: cargo builds `libledger.so`, and people drop it in as it is.
    func testConfigFollowsTheDeclaredNameNotTheFileName() throws {
        let secret = "plugin-config-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = server.path("declared.log")
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "libbehaviours.so")
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#, webhooks: [("hook", #""handler": "behaviours.ok""#)])
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try server.postSigned("hook", #"{"id": "named", "type": "named"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("named") },
                      "behaviours from libbehaviours.so writes where plugins.config.behaviours says: \(server.logs)")
    }
}
