import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// The loads of the server's start run on a load thread, so that the thread that starts the server
/// can take a stop meanwhile; one after another in file-name order, as on that thread before, and
/// a slow `init` among them is named as holding the start up.
final class StartLoadTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-start-load-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The slow-init warning said a newer build dropped in the folder still loads, which no folder
    /// watch does before the server has started.
    func testTheStartsLoadsRunInOrderOffTheCallingThreadAndASlowInitIsNamedAsHoldingTheStartUp() throws {
        let first = "\(directory!)/plugins/a.so", second = "\(directory!)/plugins/b.so", gate = "\(directory!)/gate"
        try CPluginSource.build(CPluginSource.gated(name: "shared", gate: gate), to: first)
        try CPluginSource.build(CPluginSource.named("shared", version: "2"), to: second)
        let lines = Lines()
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: Logger(minimum: .debug) { _, message, _ in lines.append(message) },
                                      slowInitWarning: TimeSpan(milliseconds: 200), config: { _ in nil })
        let finished = DispatchSemaphore(value: 0)
        registry.loadAtStart(PluginRegistry.pluginFiles(in: "\(directory!)/plugins")) { finished.signal() }
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "a.so's init waits at the gate")
        XCTAssertTrue(waitUntil { lines.contains("plugin shared's init has run for 200ms") }, lines.all.joined(separator: "\n"))
        let warning = try XCTUnwrap(lines.all.first { $0.contains("plugin shared's init has run for 200ms") })
        XCTAssertTrue(warning.contains("the server starts listening once every plugin present at start has loaded or been refused"), warning)
        XCTAssertFalse(warning.contains("newer build"), warning)
        XCTAssertEqual(finished.wait(timeout: .now() + .milliseconds(300)), .timedOut, "b.so waits for a.so")

        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        XCTAssertEqual(finished.wait(timeout: .now() + 10), .success)
        let statuses = registry.statuses()
        XCTAssertEqual(statuses.first { $0.file == first }?.state, .active, "\(statuses)")
        let refusal = try XCTUnwrap(statuses.first { $0.file == second && $0.state == .failed }?.error, "\(statuses)")
        XCTAssertTrue(refusal.contains("plugin name \"shared\" is already held by \(first)"), refusal)
        registry.shutdownAll()
    }
}
