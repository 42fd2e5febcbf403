import CSQLite
import Foundation
@testable import LayeronStore
import XCTest

/// The checkpointer hands back to the kernel the page cache of what the database file grew by, once
/// synced and older than the newest `lag` bytes (docs/performance.md, item 57).
final class WrittenPageReleaseTests: XCTestCase {
    private let megabyte = 1 << 20

    func testTheMarkReleasesGrowthOlderThanTheLagInStepsOfAtLeastTheMinimum() {
        var mark = ReleaseMark(openedAt: 10 * megabyte, lag: 64 * megabyte)
        XCTAssertNil(mark.advance(fileSize: 70 * megabyte), "growth still within the lag stays cached")
        XCTAssertEqual(mark.advance(fileSize: 80 * megabyte), 10 * megabyte..<16 * megabyte,
                       "what the store held when it opened is left as it was")
        XCTAssertNil(mark.advance(fileSize: 80 * megabyte + megabyte / 2), "less than the minimum step waits")
        XCTAssertEqual(mark.advance(fileSize: 81 * megabyte), 16 * megabyte..<17 * megabyte)
        XCTAssertNil(mark.advance(fileSize: 5 * megabyte), "a file that shrank releases nothing")
        XCTAssertEqual(mark.releasedUpTo, 5 * megabyte, "and moves the mark back to its end")
        XCTAssertEqual(mark.advance(fileSize: 75 * megabyte), 5 * megabyte..<11 * megabyte,
                       "what grows again is released again")
    }

    func testAPassReleasesTheSyncedRowsOlderThanTheLagAndKeepsIndexesAndTheNewest() throws {
        let released = try checkpointTwelveMegabytes(releasing: true)
        let kept = try checkpointTwelveMegabytes(releasing: false)
        XCTAssertLessThan(released.olderRows, 0.1, "the pass's table leaves older than the lag were released")
        XCTAssertLessThan(released.olderOverflow, 0.1, "and the overflow pages of its large rows")
        XCTAssertGreaterThan(released.olderIndex, 0.9, "index pages (random keys here) stay cached")
        XCTAssertGreaterThan(released.newest, 0.9, "the newest 2 MB stay cached")
        XCTAssertGreaterThan(kept.olderRows, 0.9, "without a release the kernel keeps what a pass wrote")
        XCTAssertGreaterThan(kept.olderOverflow, 0.9, "its overflow pages too, so their release above is the pass's")
    }

    /// Commits 14 MB of rows with random keys in an index (a hundred of them 20 KB, on overflow
    /// pages) to a fresh WAL database, has the checkpointer copy them into the file in one pass
    /// (with a release whose lag is 2 MB, or none), and returns the cached share of the table
    /// leaves, the overflow pages and the index leaves before the file's last 3 MB, and of its last 2 MB.
    private func checkpointTwelveMegabytes(releasing: Bool) throws
        -> (olderRows: Double, olderOverflow: Double, olderIndex: Double, newest: Double) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-release-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try XCTSkipUnless(PageResidency.releasable(directory.path), "\(directory.path) is on tmpfs: its pages cannot be released")
        let path = directory.appendingPathComponent("events.db").path
        let writer = try SQLiteConnection(path: path)
        try writer.execute("PRAGMA journal_mode=WAL")
        try writer.execute("PRAGMA wal_autocheckpoint=0")
        try writer.execute("CREATE TABLE rows (key BLOB, body BLOB)")
        try writer.execute("CREATE INDEX rows_by_key ON rows (key)")
        let release = releasing ? WrittenPageRelease(path: path, pageSize: writer.pageSize, lag: 2 * megabyte) : nil
        if releasing { XCTAssertNotNil(release, "the release opens the database file") }
        writer.heldUntilClosed = release
        let checkpointer = try WALCheckpointer(path: path, synchronous: "NORMAL", release: release)
        defer { checkpointer.stop() }
        try writer.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
            INSERT INTO rows SELECT randomblob(40), randomblob(CASE WHEN i % 30 = 0 THEN 20000 ELSE 3900 END) FROM n
            """)
        checkpointer.waitUntilFinished(checkpointer.request())
        XCTAssertGreaterThan(checkpointer.progress.backfilledFrames, 2_900, "the pass copied the rows into the file")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        XCTAssertGreaterThan(size, 11 * megabyte)
        let newest = try PageResidency.cachedShares(of: path, in: size - 2 * megabyte..<size, types: [nil])
        let older = try PageResidency.cachedShares(of: path, in: 0..<size - 3 * megabyte,
                                                   types: [PageResidency.tableLeaf, PageResidency.overflow, PageResidency.indexLeaf])
        return (olderRows: older[0], olderOverflow: older[1], olderIndex: older[2], newest: newest[0])
    }
}
