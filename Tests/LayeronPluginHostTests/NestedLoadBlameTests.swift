import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// A load stays under way after its plugin's `init` returned while it loads the files that waited
/// for the name it gave up; a slow `init` in one of those was blamed on the plugin whose load
/// started it, in the slow-init warning and in the stop's log.
final class NestedLoadBlameTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-nested-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testASlowInitInALoadThatAnotherStartedIsBlamedOnItsOwnPlugin() throws {
        let holder = "\(directory!)/plugins/a.so", waiter = "\(directory!)/plugins/b.so", gate = "\(directory!)/gate"
        try CPluginSource.build(CPluginSource.named("shared"), to: holder)
        try CPluginSource.build(CPluginSource.gated(name: "shared", gate: gate), to: waiter)
        let lines = Lines()
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: Logger(minimum: .debug) { _, message, _ in lines.append(message) },
                                      slowInitWarning: TimeSpan(milliseconds: 200), config: { _ in nil })
        registry.load(file: holder)
        registry.load(file: waiter)
        XCTAssertTrue(registry.statuses().contains { $0.file == waiter && $0.state == .failed }, "b.so is refused: a.so holds the name")

        // a.so's new build gives the name up: its load retires "shared" and loads b.so, whose init waits at the gate.
        try CPluginSource.build(CPluginSource.named("other", version: "2"), to: holder)
        let loaded = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            registry.load(file: holder)
            loaded.signal()
        }
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "b.so's init runs")
        XCTAssertTrue(waitUntil { lines.contains("plugin shared's init has run for 200ms") }, lines.all.joined(separator: "\n"))
        usleep(300_000)
        XCTAssertFalse(lines.contains("plugin other's init has run"), "a.so's init had returned: \(lines.all.joined(separator: "\n"))")

        XCTAssertEqual(registry.shutdownAll(waitingUntil: .now() + .milliseconds(200)), [holder, waiter])
        let log = lines.all.joined(separator: "\n")
        XCTAssertTrue(log.contains("stopping without waiting any longer for the load of \(holder): its init has returned; "
            + "it is shutting down the version it replaced, or waiting for a load it started"), log)
        XCTAssertTrue(log.contains("stopping without waiting any longer for the load of \(waiter): plugin shared's init has not returned"), log)
        XCTAssertFalse(log.contains("plugin other's init has not returned"), log)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        XCTAssertEqual(loaded.wait(timeout: .now() + 10), .success)
    }
}
