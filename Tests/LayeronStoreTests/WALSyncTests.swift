import CSQLite
import Foundation
import XCTest
@testable import LayeronStore

/// The checkpointer syncs the database and the WAL after each pass (`SQLiteConnection.syncDatabase`,
/// `syncWAL`) so that the writer's own checkpoint finds little left to flush. The syncs go through
/// SQLite's own handles on the files: these tests check that the handles are found on a connection in
/// WAL mode, and that a connection without a WAL reports that there is none rather than pretending
/// to have synced.
final class WALSyncTests: XCTestCase {
    func testAConnectionInWALModeSyncsItsWALHandle() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-walsync-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("wal.db").path

        let db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL")
        try db.execute("CREATE TABLE t (x BLOB)")
        try db.prepared("INSERT INTO t (x) VALUES (?1)").bind(1, blob: [UInt8](repeating: 7, count: 5_000)).run()
        XCTAssertEqual(db.syncWAL(), SQLITE_OK)

        // A second connection has its own handle on the WAL once it has read the database.
        let other = try SQLiteConnection(path: path)
        let count = try other.prepared("SELECT COUNT(*) FROM t")
        XCTAssertTrue(try count.step())
        XCTAssertEqual(count.int(0), 1)
        count.reset()
        XCTAssertEqual(other.checkpointPassive().code, SQLITE_OK)
        XCTAssertEqual(other.syncWAL(), SQLITE_OK)
        XCTAssertEqual(other.syncDatabase(), SQLITE_OK)
    }

    func testAConnectionWithoutAWALHasNothingToSync() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (x)")
        XCTAssertNil(db.syncWAL())
    }
}
