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

    /// The copy is made, then the process runs out of descriptors before `dlopen` opens it (another
    /// thread accepting connections, say): the refusal was taken for a bad library and never retried.
    /// The log line that comes between the two is where this test takes every free descriptor.
    func testADlopenRefusedForWantOfDescriptorsIsTriedAgainByItself() throws {
        let lines = Lines()
        let held = HeldDescriptors()
        let logger = Logger(minimum: .debug) { _, message, _ in
            lines.append(message)
            if message == "loading plugin", lines.count(of: "loading plugin") == 1 { held.takeAll() }
        }
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: logger,
                                      temporaryRetry: (TimeSpan(milliseconds: 200), 12), config: { _ in nil })
        defer { registry.shutdownAll() }
        let file = "\(directory!)/plugins/vendor.so"

        var limit = rlimit()
        XCTAssertEqual(getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        let original = limit
        limit.rlim_cur = rlim_t(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count + 16)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit), 0)
        registry.load(file: file)
        held.release()
        var restore = original
        XCTAssertEqual(setrlimit(Int32(RLIMIT_NOFILE.rawValue), &restore), 0)

        XCTAssertTrue(held.took, "no descriptor was taken before dlopen")
        let refusal = registry.statuses().compactMap(\.error).joined()
        XCTAssertTrue(refusal.hasPrefix("\(file): cannot be loaded for now (dlopen of its private copy): "), refusal)
        XCTAssertTrue(refusal.hasSuffix(": Too many open files"), refusal)
        XCTAssertTrue(lines.contains("plugin load will be tried again in 200ms"), lines.all.joined(separator: "\n"))
        let deadline = Date().addingTimeInterval(10)
        while registry.statuses().first?.state != .active && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(registry.statuses().map(\.state), [.active], "the refused file was not loaded again once descriptors were free")
    }

    /// A full file system refuses the private folder itself (`mkdir`, ENOSPC), as it refuses the copy:
    /// a temporary refusal that names the call, the folder and the reason, and is tried again. Needs a
    /// tmpfs of its own (root).
    func testAPrivateFolderRefusedForWantOfSpaceIsTriedAgainByItself() throws {
        let mountPoint = "\(directory!)/full"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=1", "tmpfs", mountPoint]) else {
            throw XCTSkip("cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)")
        }
        defer { _ = Self.run(["umount", "-l", mountPoint]) }
        let lines = Lines()
        let logger = Logger(minimum: .debug) { _, message, _ in lines.append(message) }
        let privateDirectory = "\(mountPoint)/private"
        let registry = PluginRegistry(privateDirectory: privateDirectory, logger: logger,
                                      temporaryRetry: (TimeSpan(milliseconds: 200), 12), config: { _ in nil })
        defer { registry.shutdownAll() }
        let file = "\(directory!)/plugins/vendor.so"
        registry.load(file: file)
        let refusal = registry.statuses().compactMap(\.error).joined()
        XCTAssertEqual(refusal, "\(file): cannot make a private copy to load: cannot create the private folder \(privateDirectory) (mkdir): No space left on device")
        XCTAssertTrue(lines.contains("plugin load will be tried again in 200ms"), lines.all.joined(separator: "\n"))
        XCTAssertTrue(Self.run(["mount", "-o", "remount,nr_inodes=64", mountPoint]))
        let deadline = Date().addingTimeInterval(10)
        while registry.statuses().first?.state != .active && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(registry.statuses().map(\.state), [.active], "the refused file was not loaded again once there was room")
    }

    private static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
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

/// Every free descriptor of the process, taken at a chosen moment and held until released.
private final class HeldDescriptors: @unchecked Sendable {
    /// Guards `held` and `taken`.
    private let lock = NSLock()
    private var held: [Int32] = []
    private var taken = 0
    /// True once `takeAll` took any descriptor.
    var took: Bool { lock.lock(); defer { lock.unlock() }; return taken > 0 }
    func takeAll() {
        lock.lock()
        defer { lock.unlock() }
        while true {
            let fd = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { break }
            held.append(fd)
            taken += 1
        }
    }
    func release() {
        lock.lock()
        defer { lock.unlock() }
        held.forEach { close($0) }
        held = []
    }
}
