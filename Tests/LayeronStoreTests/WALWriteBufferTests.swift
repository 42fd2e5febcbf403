import CSQLite
import CWALWriteBuffer
import Foundation
import XCTest

/// The WAL write buffer (`CWALWriteBuffer`) holds frames in memory between writes: these tests check
/// that a commit is in the files the moment it returns, whatever its size, and that a write the
/// kernel refuses fails the commit instead of being lost.
final class WALWriteBufferTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-walbuf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        XCTAssertEqual(layeron_wal_buffer_register(), SQLITE_OK)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// After each commit the database and WAL files are copied as they are, which is what a killed
    /// process leaves behind, and the copy is opened with the default VFS: it must hold every
    /// committed row. Transactions span one frame to several times the buffer's capacity, some right
    /// after the WAL started over; both
    /// durability settings (`synchronous` NORMAL, and FULL, which syncs the WAL at each commit).
    func testEveryCommitIsInTheFilesWhenItReturns() throws {
        try assertEveryCommitIsInTheFiles(synchronous: "NORMAL")
    }

    func testEveryCommitIsInTheFilesWhenItReturnsWithFullSync() throws {
        try assertEveryCommitIsInTheFiles(synchronous: "FULL")
    }

    private func assertEveryCommitIsInTheFiles(synchronous: String) throws {
        let path = directory.appendingPathComponent("events.db").path
        let writer = try Connection(path: path, vfs: LAYERON_WAL_BUFFER_VFS)
        try writer.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=\(synchronous); CREATE TABLE t (a INTEGER PRIMARY KEY, b BLOB)")
        let reader = try Connection(path: path, vfs: nil)
        var total = 0
        for (round, rows) in [1, 2, 5, 40, 1, 200, 3, 7, 60].enumerated() {
            // A checkpoint that copies the whole WAL lets the next transaction start the WAL over
            // (a new header at the start of the file); TRUNCATE empties the file first.
            if round == 4 { try writer.exec("PRAGMA wal_checkpoint(PASSIVE)") }
            if round == 7 { try writer.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
            try writer.exec("BEGIN IMMEDIATE")
            for _ in 0..<rows { try writer.exec("INSERT INTO t (b) VALUES (randomblob(3000))") }
            try writer.exec("COMMIT")
            total += rows

            XCTAssertEqual(try reader.integer("SELECT count(*) FROM t"), total, "a reader after commit \(round)")
            let copy = directory.appendingPathComponent("copy-\(round).db").path
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
            let recovered = try Connection(path: copy, vfs: nil)
            XCTAssertEqual(try recovered.integer("SELECT count(*) FROM t"), total, "the files after commit \(round)")
            XCTAssertEqual(try recovered.text("PRAGMA integrity_check"), "ok")
        }
    }

    /// A file size limit makes the kernel refuse the writes of a large transaction: the commit must
    /// fail, and once the limit is lifted the rows written before it must all be there and none of
    /// the failed transaction's.
    func testARefusedWriteFailsTheTransaction() throws {
        let path = directory.appendingPathComponent("events.db").path
        let writer = try Connection(path: path, vfs: LAYERON_WAL_BUFFER_VFS)
        try writer.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (a INTEGER PRIMARY KEY, b BLOB)")
        try writer.exec("INSERT INTO t (b) VALUES (randomblob(3000))")

        var saved = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        let walSize = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        var limited = saved
        limited.rlim_cur = rlim_t(walSize + 64 * 1024)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limited)
        var failure: String?
        do {
            try writer.exec("BEGIN IMMEDIATE")
            for _ in 0..<100 { try writer.exec("INSERT INTO t (b) VALUES (randomblob(3000))") }
            try writer.exec("COMMIT")
        } catch {
            failure = "\(error)"
        }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &saved)
        signal(SIGXFSZ, previousHandler)
        XCTAssertNotNil(failure, "a transaction whose frames could not be written committed")
        try? writer.exec("ROLLBACK")

        XCTAssertEqual(try writer.integer("SELECT count(*) FROM t"), 1)
        try writer.exec("INSERT INTO t (b) VALUES (randomblob(3000))")
        let reader = try Connection(path: path, vfs: nil)
        XCTAssertEqual(try reader.integer("SELECT count(*) FROM t"), 2)
        XCTAssertEqual(try reader.text("PRAGMA integrity_check"), "ok")
    }
}

/// A bare SQLite connection, so that the test chooses the VFS and sees SQLite's own errors.
private final class Connection {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let db: OpaquePointer

    init(path: String, vfs: String?) throws {
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs)
        guard rc == SQLITE_OK, let handle else { throw Failure(description: "open \(path): \(rc)") }
        db = handle
    }

    deinit { sqlite3_close_v2(db) }

    func exec(_ sql: String) throws {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db))) (\(rc))") }
    }

    func integer(_ sql: String) throws -> Int {
        try query(sql) { Int(sqlite3_column_int64($0, 0)) }
    }

    func text(_ sql: String) throws -> String {
        try query(sql) { sqlite3_column_text($0, 0).map { String(cString: $0) } ?? "" }
    }

    private func query<T>(_ sql: String, _ read: (OpaquePointer) -> T) throws -> T {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw Failure(description: "\(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw Failure(description: "\(sql): no row") }
        return read(statement)
    }
}
