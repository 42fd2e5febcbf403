import Foundation
import XCTest

/// Files changed while the server starts, after it read them and before its watchers exist, are
/// picked up once it has started rather than at the next change. The change is made by the
/// `behaviours` plugin's `init` (`init_moves`), which runs in that window.
final class StartupChangesTests: XCTestCase {
    let secret = "startup-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func moving(_ from: String, to: String) -> String {
        #"{ "output": "\#(output)", "init_moves": "\#(from)", "init_moves_to": "\#(to)" }"#
    }

    func testAConfigChangedWhileTheServerStartsIsApplied() throws {
        let next = server.path("next.json")
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#,
                                         webhooks: [("first", #""handler": "behaviours.ok""#), ("late", #""handler": "behaviours.ok""#)])
        try FileManager.default.moveItem(atPath: server.configPath, toPath: next)
        try server.writeBehavioursConfig(plugin: moving(next, to: server.configPath), webhooks: [("first", #""handler": "behaviours.ok""#)])
        try server.start()
        XCTAssertFalse(FileManager.default.fileExists(atPath: next), "the plugin's init moved the new config in place")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.postSigned("late", #"{"id": "l1", "type": "t"}"#, secret: secret).status == 200 },
                      server.logs)
    }

    func testAPluginDroppedInWhileTheServerStartsIsLoaded() throws {
        let staged = server.path("staged")
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: staged, name: "serial.so", defines: ["BEHAVIOURS_SERIAL"])
        let target = (server.pluginsDir as NSString).appendingPathComponent("serial.so")
        try server.writeBehavioursConfig(plugin: moving(staged + "/serial.so", to: target), webhooks: [("first", #""handler": "behaviours.ok""#)])
        try server.start()
        XCTAssertTrue(FileManager.default.fileExists(atPath: target), "the plugin's init moved the other plugin in")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.admin("GET", "/admin/plugins").text.contains(#""name":"serial""#) },
                      server.logs)
    }
}
