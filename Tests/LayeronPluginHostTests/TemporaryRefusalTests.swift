import Foundation
import LayeronCore
@testable import LayeronPluginHost
import XCTest

/// A plugin refused for a shortage of the host's (descriptors here; a full temporary folder alike)
/// is loaded again by itself once the shortage passes, and the refusal says what failed and where.
final class TemporaryRefusalTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-temporary-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/plugins", withIntermediateDirectories: true)
        try CPluginSource.build(CPluginSource.named("vendor"), to: "\(directory!)/plugins/vendor.so")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testARefusalForWantOfDescriptorsIsTriedAgainByItself() throws {
        let lines = Lines()
        let logger = Logger(minimum: .debug) { _, message, _ in lines.append(message) }
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: logger, config: { _ in nil })
        defer { registry.shutdownAll() }
        let file = "\(directory!)/plugins/vendor.so"

        var limit = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        let original = limit
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        limit.rlim_cur = rlim_t(open + 16)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        var held: [Int32] = []
        while true {
            let fd = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { break }
            held.append(fd)
        }
        registry.load(file: file)
        held.forEach { close($0) }
        var restore = original
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore), 0)

        let refusal = registry.statuses().compactMap(\.error).joined()
        XCTAssertTrue(refusal.contains("\(file): cannot make a private copy to load: cannot open \(file): Too many open files"), refusal)
        XCTAssertTrue(lines.contains("plugin load will be tried again in 5s"), lines.all.joined(separator: "\n"))
        let deadline = Date().addingTimeInterval(20)
        while registry.statuses().first?.state != .active && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(registry.statuses().map(\.state), [.active], "the refused file was not loaded again once descriptors were free")
    }

    func testACopyThatCannotBeWrittenNamesItsPathAndTheReasonAndLeavesNothing() throws {
        let blocked = "\(directory!)/not-a-folder"
        XCTAssertTrue(FileManager.default.createFile(atPath: blocked, contents: Data()))
        XCTAssertThrowsError(try PrivateCopy.copyContents(of: "\(directory!)/plugins/vendor.so", to: "\(blocked)/copy.so")) { error in
            XCTAssertEqual("\(error)", "cannot create the copy \(blocked)/copy.so: Not a directory")
        }
        XCTAssertThrowsError(try PrivateCopy.copyContents(of: "\(directory!)/plugins/none.so", to: "\(directory!)/copy.so")) { error in
            XCTAssertEqual("\(error)", "cannot open \(directory!)/plugins/none.so: No such file or directory")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(directory!)/copy.so"))
    }
}

/// Log messages from any thread.
private final class Lines: @unchecked Sendable {
    /// Guards `values`.
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ line: String) { lock.lock(); values.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return values }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}
