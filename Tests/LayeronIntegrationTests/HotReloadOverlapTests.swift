import Foundation
import XCTest

/// Loads of one plugin file that overlap (a config reload and a deploy, each on a thread of its own),
/// and swaps that take away what the config routes to.
final class HotReloadOverlapTests: XCTestCase {
    let secret = "overlap-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// A config change starts a load of the old build whose `init` is slow; a new build lands while
    /// it runs and is installed first. The old load, finishing last, used to install over it, and
    /// the old build then served until the file changed again.
    func testALoadThatFinishesLastDoesNotInstallOverANewerOne() throws {
        let gate = server.path("gate")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "slow", handlers: ["go"]),
                                 output: "\(server.pluginsDir)/pv.so")
        let newer = server.path("pv-5.so")
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "5", handlers: ["go"], waitsAtGate: false), output: newer)
        try writeConfig(pluginConfig: #"{"round": 1}"#, handlers: ["pv.go"])
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "pv"), "slow")

        try writeConfig(pluginConfig: #"{"round": 2, "gate": "\#(gate)"}"#, handlers: ["pv.go"])
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") },
                      "the config reload's load of the old build waits in init: \(server.logs)")
        try PluginBuilder.landByRename(newer, into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "5" }, "the new build serves: \(server.logs)")

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin load superseded") }, server.logs)
        XCTAssertEqual(try server.activeVersion(of: "pv"), "5", "the newest build keeps serving: \(server.logs)")
        XCTAssertNil(try server.failure(for: "\(server.pluginsDir)/pv.so"), "a superseded load is no refusal")
    }

    /// A deploy lands a new plugin and its `plugins.config` entry together: the file's load read the
    /// entry before the config reload applied the new one, and the reload, finding the plugin
    /// neither loaded nor refused, started nothing. The plugin then served with the old entry until
    /// its file or entry changed again.
    func testANewPluginWhoseConfigChangesAsItLoadsStartsAgainWithTheNewConfig() throws {
        let gate = server.path("gate"), record = server.path("inits.log")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        try writeConfig(pluginConfig: #"{"round": 1, "gate": "\#(gate)", "record": "\#(record)"}"#, handlers: ["pv.go"])
        try server.start()
        XCTAssertNil(try server.activeVersion(of: "pv"))

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"]), output: server.path("pv.so"))
        try PluginBuilder.landByRename(server.path("pv.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") },
                      "the new file's init waits, holding the old entry: \(server.logs)")
        try writeConfig(pluginConfig: #"{"round": 2, "record": "\#(record)"}"#, handlers: ["pv.go"])
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin config changed; starting new versions") }, server.logs)

        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        let inits = { TestServer.handledLines(record) }
        XCTAssertTrue(server.waitUntil(timeout: 10) { inits().last?.contains(#""round":2"#) == true },
                      "an init with the new entry follows: \(inits()) \(server.logs)")
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.components(separatedBy: "plugin loaded").count >= 3 }, server.logs)
        XCTAssertTrue(server.logs.contains("plugin config changed while it loaded; starting it again with the new config"), server.logs)
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1")
    }

    /// A slow load of a file removed while it runs is not installed, and the log says the file went,
    /// not that a newer load serves (nothing does).
    func testALoadOfAFileRemovedWhileItRanIsNotInstalled() throws {
        let gate = server.path("gate")
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        let file = "\(server.pluginsDir)/pv.so"
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "slow", handlers: ["go"]), output: file)
        try writeConfig(pluginConfig: #"{"round": 1}"#, handlers: ["pv.go"])
        try server.start()
        try writeConfig(pluginConfig: #"{"round": 2, "gate": "\#(gate)"}"#, handlers: ["pv.go"])
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") }, server.logs)
        try FileManager.default.removeItem(atPath: file)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin retired") }, server.logs)
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin load superseded: the file was removed while it loaded") }, server.logs)
        XCTAssertNil(try server.activeVersion(of: "pv"), server.logs)
    }

    /// A new build without a handler the config routes to, then one declaring another plugin name
    /// over the same file: each is reported as the same check at start and on config reload does,
    /// and the name the second gives up is logged as retired.
    func testASwapThatTakesAwayRoutedHandlersIsReported() throws {
        let file = "\(server.pluginsDir)/pv.so"
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go", "other"]), output: file)
        let withoutOther = server.path("pv-2.so")
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"]), output: withoutOther)
        let renamed = server.path("pw.so")
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pw", version: "1", handlers: ["go"]), output: renamed)
        try writeConfig(pluginConfig: "{}", handlers: ["pv.go", "pv.other"])
        try server.start()
        XCTAssertFalse(server.logs.contains("cannot run"), server.logs)

        try PluginBuilder.landByRename(withoutOther, into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("handler pv.other cannot run: plugin pv does not provide it") },
                      server.logs)
        // Other files in the folder (an editor's, notes) change no plugin and repeat no warning.
        let warnings = { [server] in server!.logs.components(separatedBy: "handler pv.other cannot run").count - 1 }
        let before = warnings()
        try "notes".write(toFile: "\(server.pluginsDir)/README.txt", atomically: false, encoding: .utf8)
        usleep(600_000)
        XCTAssertEqual(warnings(), before, server.logs)

        try PluginBuilder.landByRename(renamed, into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("handler pv.go cannot run: its plugin pv is not loaded") },
                      server.logs)
        let retired = server.logs.split(separator: "\n").filter { $0.contains("plugin retired") }
        XCTAssertEqual(retired.count, 1, server.logs)
        XCTAssertTrue(retired.first?.contains(#""plugin":"pv""#) ?? false, server.logs)
    }

    /// `rm -rf plugins && mv plugins.new plugins`, a common deploy: the watch went with the old folder,
    /// and hot reload used to be off until a restart, with every plugin retired.
    func testAReplacedPluginsFolderIsWatchedAgainAndLoaded() throws {
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"]), output: "\(server.pluginsDir)/pv.so")
        try writeConfig(pluginConfig: "{}", handlers: ["pv.go"])
        try server.start()
        let staged = server.path("plugins.new")
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"]), output: "\(staged)/pv.so")

        try FileManager.default.removeItem(atPath: server.pluginsDir)
        guard rename(staged, server.pluginsDir) == 0 else { throw TestFailure("rename of plugins.new failed") }
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "2" }, server.logs)

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "3", handlers: ["go"]), output: server.path("pv-3.so"))
        try PluginBuilder.landByRename(server.path("pv-3.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "3" }, "the new folder is watched: \(server.logs)")
    }

    /// `plugins` a symbolic link to a release folder, re-pointed atomically (`ln -sfn rel/v2 plugins.tmp
    /// && mv -T plugins.tmp plugins`): the old release stays, so its watch saw nothing, and the old
    /// build served for good while builds landed in the new release were never loaded.
    func testARepointedPluginsLinkIsWatchedAgainAndLoaded() throws {
        let releases = server.path("rel")
        for release in ["v1", "v2"] {
            try FileManager.default.createDirectory(atPath: "\(releases)/\(release)", withIntermediateDirectories: true)
        }
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"]), output: "\(releases)/v1/pv.so")
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"]), output: "\(releases)/v2/pv.so")
        try FileManager.default.removeItem(atPath: server.pluginsDir)
        guard symlink("rel/v1", server.pluginsDir) == 0 else { throw TestFailure("symlink plugins -> rel/v1 failed") }
        try writeConfig(pluginConfig: "{}", handlers: ["pv.go"])
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1")

        let staged = server.path("plugins.tmp")
        guard symlink("rel/v2", staged) == 0, rename(staged, server.pluginsDir) == 0 else { throw TestFailure("re-pointing plugins failed") }
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "2" }, "the new release serves: \(server.logs)")
        XCTAssertTrue(server.logs.contains("now leads to another folder; rescanning it"), server.logs)

        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "3", handlers: ["go"]), output: server.path("pv-3.so"))
        try PluginBuilder.landByRename(server.path("pv-3.so"), into: server.pluginsDir, name: "pv.so")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "3" }, "the new release is watched: \(server.logs)")
    }

    /// One webhook per handler in `handlers`, and `pluginConfig` as `plugins.config.pv`.
    private func writeConfig(pluginConfig: String, handlers: [String]) throws {
        let webhooks = handlers.enumerated().map { n, handler in
            """
            { "name": "hook\(n)", "provider": "custom", "handler": "\(handler)",
              "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
              "event": {"id": "body.id", "type": "body.type"} }
            """
        }
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "pv": \(pluginConfig) } },
              "webhooks": [ \(webhooks.joined(separator: ", ")) ]
            }
            """)
    }
}
