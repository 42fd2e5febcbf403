import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// A stop whose wait for plugins' code a hung `init` used up gave each later wait a deadline
/// already past: it found a thread that was ending, or idle, still running.
final class SpentStopWaitTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-spent-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A watch ending its work as the stop came (here a change that takes 50 ms more to apply; an
    /// idle watch just woken to stop is the same race, only shorter) was reported as still applying
    /// a change, and its descriptors were left open.
    func testAFolderWatchEndingAChangeStoppedWithADeadlineAlreadyPastStopsCleanly() throws {
        let lines = Lines()
        let applying = DispatchSemaphore(value: 0)
        let watcher = try FolderWatcher(directory: directory, debounceMilliseconds: 10,
                                        logger: Logger(minimum: .debug) { _, message, _ in lines.append(message) }) { _ in
            applying.signal()
            usleep(50_000)
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(directory!)/a.so", contents: nil))
        XCTAssertEqual(applying.wait(timeout: .now() + 10), .success, "the change is applied")
        XCTAssertTrue(watcher.stop(waitingUntil: .now()), "the watch closed its descriptors")
        XCTAssertFalse(lines.contains("stopped waiting for the watch"), lines.all.joined(separator: "\n"))
    }

    /// A load whose `init` was returning as the stop's wait ran out was named as abandoned.
    func testALoadEndingAsTheStopsWaitRunsOutIsWaitedFor() throws {
        let file = "\(directory!)/plugins/a.so", gate = "\(directory!)/gate"
        try CPluginSource.build(CPluginSource.gated(name: "ending", gate: gate), to: file)
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: .discard, config: { _ in nil })
        let loaded = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            registry.load(file: file)
            loaded.signal()
        }
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "the init runs")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        XCTAssertEqual(registry.shutdownAll(waitingUntil: .now()), [], "the load that was ending was waited for")
        XCTAssertEqual(loaded.wait(timeout: .now() + 10), .success)
    }
}
