import Foundation
import XCTest

/// SIGHUP rescans the plugins folder as well as reloading the config: operators send it after a
/// deploy, and some deploys change a plugin in a way the folder's watcher cannot see.
final class HangUpRescanTests: XCTestCase {
    /// A Kubernetes ConfigMap or Secret mounted as the plugins folder: `pv.so` is a link to
    /// `..data/pv.so`, and an update swaps the `..data` link to a new `..TIMESTAMP` folder. The
    /// folder's only event names `..data`, which is no plugin, so the watcher loads nothing; SIGHUP
    /// used to reload the config only, and the old build served until a restart. A plugin the swap
    /// left as it was is not started again.
    func testHangUpLoadsAPluginChangedBehindALinkSwapAndLeavesAnUnchangedOneServing() throws {
        let server = try startWithMountedLayout()
        defer { server.stop() }
        let plugins = server.pluginsDir
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pw", version: "1", handlers: ["go"]), output: server.path("pw.so"))
        try PluginBuilder.landByRename(server.path("pw.so"), into: plugins, name: "pw.so")
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pw") == "1" }, server.logs)
        let loadsOfPw = { server.logs.split(separator: "\n").filter { $0.contains("plugin loaded") && $0.contains(#""pw""#) }.count }

        try FileManager.default.createDirectory(atPath: "\(plugins)/..v2", withIntermediateDirectories: true)
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "2", handlers: ["go"]), output: "\(plugins)/..v2/pv.so")
        try swapData(in: plugins, to: "..v2")
        // Longer than the watcher's debounce and its once-a-second look at the folder's path.
        usleep(1_500_000)
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1", "the watcher cannot see the swap: \(server.logs)")

        server.hangUp()
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "pv") == "2" }, "SIGHUP loads the new build: \(server.logs)")
        XCTAssertTrue(server.logs.contains("SIGHUP: rescanning the plugins folder \(plugins)"), server.logs)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("config reloaded") }, server.logs)
        XCTAssertEqual(loadsOfPw(), 1, "an unchanged build is not started again: \(server.logs)")
    }

    /// A swap that leaves a plugin's link leading nowhere is, on SIGHUP, what a watched `ln -sf`
    /// with a typo is: refused, and the serving build keeps serving.
    func testHangUpRefusesALinkThatNowLeadsNowhereAndKeepsTheServingBuild() throws {
        let server = try startWithMountedLayout()
        defer { server.stop() }
        try FileManager.default.createDirectory(atPath: "\(server.pluginsDir)/..v2", withIntermediateDirectories: true)
        try swapData(in: server.pluginsDir, to: "..v2")
        server.hangUp()
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.failure(for: "\(server.pluginsDir)/pv.so") != nil },
                      "the link now leads nowhere, refused as a watched one is: \(server.pluginsDump) \(server.logs)")
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1", "a link to nothing does not retire the serving version: \(server.logs)")
    }

    /// A started server whose plugins folder is laid out as a mounted ConfigMap: `pv.so` links to
    /// `..data/pv.so`, `..data` to `..v1`, which holds build 1 of plugin `pv`.
    private func startWithMountedLayout() throws -> TestServer {
        let server = try TestServer()
        let plugins = server.pluginsDir
        try FileManager.default.createDirectory(atPath: "\(plugins)/..v1", withIntermediateDirectories: true)
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "pv", version: "1", handlers: ["go"]), output: "\(plugins)/..v1/pv.so")
        guard symlink("..v1", "\(plugins)/..data") == 0, symlink("..data/pv.so", "\(plugins)/pv.so") == 0 else {
            throw TestFailure("linking the ConfigMap layout failed")
        }
        try server.writeConfig(#"{ "plugins": { "dir": "\#(plugins)" }, "webhooks": [] }"#)
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "pv"), "1", server.logs)
        return server
    }

    /// Points `..data` at `release` as the kubelet does: a new link renamed over the old one.
    private func swapData(in plugins: String, to release: String) throws {
        guard symlink(release, "\(plugins)/..data_tmp") == 0, rename("\(plugins)/..data_tmp", "\(plugins)/..data") == 0 else {
            throw TestFailure("swapping ..data failed")
        }
    }
}
