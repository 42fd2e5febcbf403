import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// The inotify edge on its own: what it reports for the ways files land in and leave a folder.
final class FolderWatcherTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-watch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Collects what the watcher delivers.
    private final class Deliveries: @unchecked Sendable {
        /// Guards `all`.
        private let lock = NSLock()
        private var all: [FolderChanges] = []
        func add(_ c: FolderChanges) { lock.lock(); all.append(c); lock.unlock() }
        var snapshot: [FolderChanges] { lock.lock(); defer { lock.unlock() }; return all }
    }

    private func waitFor(_ deliveries: Deliveries, count: Int) -> [FolderChanges] {
        let deadline = Date().addingTimeInterval(30)
        while deliveries.snapshot.count < count && Date() < deadline { usleep(10_000) }
        return deliveries.snapshot
    }

    /// Writes in place with plain POSIX calls (Foundation's writers add temporary files of their own).
    private func write(_ name: String) throws {
        let fd = open("\(directory!)/\(name)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        _ = Glibc.write(fd, name, name.utf8.count)
        close(fd)
    }

    func testWritesRenamesAndRemovalsAreReportedOncePerQuietPeriod() throws {
        let deliveries = Deliveries()
        // Quiet means half a second here: the two writes below are meant to fall in one period,
        // and a loaded machine can pause this thread between them for longer than the 100 ms
        // the server uses.
        let watcher = try FolderWatcher(directory: directory, debounceMilliseconds: 500, logger: .discard) { deliveries.add($0) }
        defer { watcher.stop() }

        // Several writes in quick succession: one delivery naming both files.
        try write("a.so")
        try write("b.so")
        let first = waitFor(deliveries, count: 1)
        XCTAssertEqual(first.first?.names, ["a.so", "b.so"])
        usleep(700_000)
        XCTAssertEqual(deliveries.snapshot.count, 1, "debounced into one delivery")

        XCTAssertEqual(rename("\(directory!)/a.so", "\(directory!)/c.so"), 0)
        XCTAssertEqual(waitFor(deliveries, count: 2).last?.names, ["a.so", "c.so"])

        XCTAssertEqual(unlink("\(directory!)/b.so"), 0)
        XCTAssertEqual(waitFor(deliveries, count: 3).last?.names, ["b.so"])
        XCTAssertEqual(deliveries.snapshot.map(\.overflowed), [false, false, false])
    }

    func testALinkIsReportedWhenCreatedAndAFileOnlyOnceClosed() throws {
        let deliveries = Deliveries()
        let watcher = try FolderWatcher(directory: directory, debounceMilliseconds: 50, logger: .discard) { deliveries.add($0) }
        defer { watcher.stop() }

        let fd = open("\(directory!)/open.so", O_WRONLY | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(symlink("/bin/true", "\(directory!)/link.so"), 0)
        XCTAssertEqual(waitFor(deliveries, count: 1).first?.names, ["link.so"], "the link at once, the file still open not yet")
        close(fd)
        XCTAssertEqual(waitFor(deliveries, count: 2).last?.names, ["open.so"])
    }

    /// A link re-pointed by rename leaves the old folder in place, so the old watch hears nothing: the
    /// watcher notices the path leads elsewhere, asks for a rescan, and hears the new folder.
    func testARepointedLinkIsFollowedToItsNewFolder() throws {
        for release in ["v1", "v2"] { try FileManager.default.createDirectory(atPath: "\(directory!)/\(release)", withIntermediateDirectories: true) }
        XCTAssertEqual(symlink("v1", "\(directory!)/current"), 0)
        let deliveries = Deliveries()
        let watcher = try FolderWatcher(directory: "\(directory!)/current", debounceMilliseconds: 50, logger: .discard) { deliveries.add($0) }
        defer { watcher.stop() }

        XCTAssertEqual(symlink("v2", "\(directory!)/current.tmp"), 0)
        XCTAssertEqual(rename("\(directory!)/current.tmp", "\(directory!)/current"), 0)
        let rescan = waitFor(deliveries, count: 1).first
        XCTAssertEqual(rescan?.overflowed, true)
        XCTAssertEqual(rescan?.names, [])
        try write("v2/a.so")
        XCTAssertEqual(waitFor(deliveries, count: 2).last?.names, ["a.so"])
    }

    func testAFolderThatDoesNotExistIsAnErrorNamingIt() {
        XCTAssertThrowsError(try FolderWatcher(directory: directory + "/missing", logger: .discard) { _ in }) { error in
            XCTAssertTrue("\(error)".contains("\(directory!)/missing"), "\(error)")
            XCTAssertEqual(error as? FolderWatchError, .cannotWatch(directory: directory + "/missing", call: "inotify_add_watch", errno: ENOENT))
            XCTAssertTrue("\(error)".contains("the folder is missing"), "\(error)")
        }
    }

    /// Each cause names its own fix; only a missing folder asks for the folder to be put in place
    /// (the probe's server said so when it was out of descriptors with the folder there).
    func testEachCauseOfAFailedWatchNamesItsFix() {
        func text(_ call: String, _ code: Int32) -> String { "\(FolderWatchError.cannotWatch(directory: "/srv/plugins", call: call, errno: code))" }
        let expected: [(call: String, errno: Int32, says: String)] = [
            ("inotify_init1", EMFILE, "fs.inotify.max_user_instances"),
            ("inotify_init1", EMFILE, "out of file descriptors"),
            ("pipe", EMFILE, "out of file descriptors"),
            ("inotify_add_watch", ENFILE, "out of file descriptors"),
            ("inotify_add_watch", ENOSPC, "fs.inotify.max_user_watches"),
            ("inotify_add_watch", ENOENT, "the folder is missing"),
            ("inotify_add_watch", ENOTDIR, "the folder is missing"),
        ]
        for (call, code, says) in expected {
            XCTAssertTrue(text(call, code).contains(says), text(call, code))
            XCTAssertTrue(text(call, code).contains("(\(call): \(String(cString: strerror(code))))"), text(call, code))
            XCTAssertEqual(text(call, code).contains("folder in place"), code == ENOENT || code == ENOTDIR, text(call, code))
        }
        XCTAssertFalse(text("pipe", EMFILE).contains("max_user_instances"), text("pipe", EMFILE))
    }
}
