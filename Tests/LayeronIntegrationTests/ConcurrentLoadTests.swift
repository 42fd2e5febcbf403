import Foundation
import XCTest

/// Loads of different plugin files run side by side: one plugin's slow `init` holds up no other
/// plugin's new build or removal, and one deploy runs each build's `init` once.
final class ConcurrentLoadTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// Plugin px's `init` is held at a gate; a new build of py and the removal of pz land meanwhile.
    /// The watcher used to load each changed file in turn on its one thread, so py's new build
    /// waited for px's `init` to return (and an `init` that never returned stopped hot reload).
    func testASlowInitHoldsUpNoOtherPluginsNewBuildOrRemoval() throws {
        let gate = server.path("gate")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        for name in ["py", "pz"] {
            try PluginBuilder.buildC(text: GatedInitPlugin.source(name: name, version: "1", handlers: ["go"]), output: "\(server.pluginsDir)/\(name).so")
        }
        try writeConfig(["px": #"{"gate": "\#(gate)"}"#])
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "py"), "1")

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "px", version: "1", handlers: ["go"]), output: server.path("px.so"))
        try PluginBuilder.landByRename(server.path("px.so"), into: server.pluginsDir, name: "px.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") }, server.logs)

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "py", version: "2", handlers: ["go"]), output: server.path("py.so"))
        try PluginBuilder.landByRename(server.path("py.so"), into: server.pluginsDir, name: "py.so")
        XCTAssertTrue(try server.waitUntil(timeout: 3) { try server.activeVersion(of: "py") == "2" },
                      "py's new build serves while px's init is held: \(server.logs)")
        try FileManager.default.removeItem(atPath: "\(server.pluginsDir)/pz.so")
        XCTAssertTrue(try server.waitUntil(timeout: 3) { try server.activeVersion(of: "pz") == nil },
                      "pz is retired while px's init is held: \(server.logs)")
        XCTAssertNil(try server.activeVersion(of: "px"))

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "px") == "1" }, server.logs)
    }

    /// A build whose `init` is slow, then a newer build of the same file: the newer one serves at
    /// once, and the older, finishing later, is never installed. It used to wait behind the older
    /// one, which was installed and served until the newer one replaced it.
    func testANewerBuildOvertakesAnOlderOneStillInInit() throws {
        let gate = server.path("gate")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        try writeConfig(["pv": #"{"gate": "\#(gate)"}"#])
        try server.start()

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "slow", handlers: ["go"]), output: server.path("pv.so"))
        try PluginBuilder.landByRename(server.path("pv.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") }, server.logs)
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"], waitsAtGate: false),
                                 output: server.path("pv.so"))
        try PluginBuilder.landByRename(server.path("pv.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(try server.waitUntil(timeout: 3) { try server.activeVersion(of: "pv") == "2" }, "the newer build serves: \(server.logs)")

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin load superseded") }, server.logs)
        XCTAssertEqual(try server.activeVersion(of: "pv"), "2", server.logs)
        let installedSlow = server.logs.split(separator: "\n").filter { $0.contains("plugin loaded") && $0.contains(#""slow""#) }
        XCTAssertEqual(installedSlow, [], "the outdated build is never installed: \(server.logs)")
    }

    /// SIGHUP while a new plugin's `init` runs: the rescan took the file, neither loaded nor
    /// refused yet, for a changed one and ran its `init` a second time.
    func testHangUpDuringALoadDoesNotLoadTheSameBuildAgain() throws {
        let gate = server.path("gate"), record = server.path("inits.log")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        try writeConfig(["pv": #"{"gate": "\#(gate)", "record": "\#(record)"}"#])
        try server.start()

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"]), output: server.path("pv.so"))
        try PluginBuilder.landByRename(server.path("pv.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") }, server.logs)
        server.hangUp()
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("SIGHUP: rescanning the plugins folder") }, server.logs)
        usleep(500_000)

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "1" }, server.logs)
        usleep(500_000)
        XCTAssertEqual(TestServer.handledLines(record).count, 1, "one init for one build: \(server.logs)")
    }

    /// The entry of a plugin changes while its new build's `init` runs with the old entry: the
    /// config reload starts the build again with the new entry, and the first load, once its `init`
    /// returned, was installed and then started a third time, though the reload's load already had
    /// the new entry.
    func testAConfigChangeDuringALoadRunsTheNewBuildOnceMore() throws {
        let first = server.path("gate1"), second = server.path("gate2"), record = server.path("inits.log")
        defer { [first, second].forEach { _ = FileManager.default.createFile(atPath: $0, contents: nil) } }
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"], waitsAtGate: false),
                                 output: "\(server.pluginsDir)/pv.so")
        try writeConfig(["pv": #"{"round": 1, "gate": "\#(first)", "record": "\#(record)"}"#])
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1")

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"]), output: server.path("pv.so"))
        try PluginBuilder.landByRename(server.path("pv.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: first + ".waiting") }, server.logs)
        try writeConfig(["pv": #"{"round": 2, "gate": "\#(second)", "record": "\#(record)"}"#])
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: second + ".waiting") },
                      "the config reload starts the new build with the new entry: \(server.logs)")

        _ = FileManager.default.createFile(atPath: first, contents: nil)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin load superseded") }, server.logs)
        _ = FileManager.default.createFile(atPath: second, contents: nil)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "2" }, server.logs)
        usleep(500_000)
        let inits = TestServer.handledLines(record)
        XCTAssertEqual(inits.count, 3, "build 1, then build 2 with each entry once: \(inits) \(server.logs)")
        XCTAssertTrue(inits.last?.contains(#""round":2"#) ?? false, "\(inits)")
    }

    /// `plugins.config` holds `entries` (plugin name to JSON); no webhooks.
    private func writeConfig(_ entries: [String: String]) throws {
        let config = entries.sorted { $0.key < $1.key }.map { #""\#($0.key)": \#($0.value)"# }.joined(separator: ", ")
        try server.writeConfig(#"{ "plugins": { "dir": "\#(server.pluginsDir)", "config": { \#(config) } }, "webhooks": [] }"#)
    }
}
