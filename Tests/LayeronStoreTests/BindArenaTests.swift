import XCTest
@testable import LayeronStore

/// Parameters are copied into the statement's `BindArena` and bound without a second copy by
/// SQLite: what is stored must be what was bound, whatever happens to the caller's values after the
/// bind, across rounds that outgrow the arena mid-statement and rounds that fit again.
final class BindArenaTests: XCTestCase {
    func testStoredValuesAreTheBoundOnesAcrossRoundsOfEverySize() throws {
        let db = try SQLiteConnection(path: ":memory:")
        try db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, a TEXT, b BLOB, c TEXT)")
        // Sizes around and far past the arena's first 512 bytes, in one round and across rounds.
        let sizes = [0, 1, 15, 511, 512, 513, 2_000, 70_000, 3, 0, 9_000, 40]
        var expected: [(String, [UInt8], String)] = []
        for (round, size) in sizes.enumerated() {
            let a = String(repeating: "a\(round)", count: size / 2 + 1)
            let pattern = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) })
            // A buffer of its own (not shared with `pattern`), so the writes below change it in place.
            var b = [UInt8](repeating: 0, count: size)
            b.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: pattern) }
            let c = String(repeating: "é", count: (sizes[(round + 5) % sizes.count]) / 2)
            let insert = try db.prepared("INSERT INTO t (n, a, b, c) VALUES (?1, ?2, ?3, ?4)")
            insert.bind(1, Int64(round)).bind(2, a).bind(3, blob: b).bind(4, c)
            // The caller's buffer changes before the statement runs: the stored value must not.
            for i in b.indices { b[i] = 0xEE }
            try insert.run()
            expected.append((a, pattern, c))
        }
        let read = try db.prepared("SELECT a, b, c, typeof(c) FROM t ORDER BY n")
        var row = 0
        while try read.step() {
            XCTAssertEqual(read.string(0), expected[row].0, "row \(row) text")
            XCTAssertEqual(read.blob(1), expected[row].1, "row \(row) blob")
            XCTAssertEqual(read.string(2), expected[row].2, "row \(row) second text")
            // An empty string is bound as text, not as NULL.
            XCTAssertEqual(read.string(3), "text", "row \(row)")
            row += 1
        }
        XCTAssertEqual(row, sizes.count)
    }
}
