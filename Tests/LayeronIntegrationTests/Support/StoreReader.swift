import CSQLite
import Foundation

/// Reads the server's SQLite file directly, read-only, to check what was really committed.
final class StoreReader {
    private var db: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw TestFailure("cannot open \(path)")
        }
        sqlite3_busy_timeout(db, 2000)
    }

    deinit { sqlite3_close(db) }

    /// Rows of `sql` as strings (NULL as nil). Throws unless the statement runs to its end
    /// (SQLITE_DONE), so a busy or failed read is never taken for fewer rows.
    func rows(_ sql: String) throws -> [[String?]] {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &stmt, nil) == SQLITE_OK else {
            throw TestFailure("bad SQL \(sql): \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(stmt) }
        var out: [[String?]] = []
        var code = sqlite3_step(stmt)
        while code == SQLITE_ROW {
            out.append((0..<sqlite3_column_count(stmt)).map { i in
                sqlite3_column_text(stmt, i).map { String(cString: $0) }
            })
            code = sqlite3_step(stmt)
        }
        guard code == SQLITE_DONE else {
            throw TestFailure("reading \(sql) stopped with code \(code): \(String(cString: sqlite3_errmsg(db)))")
        }
        return out
    }

    /// The integer in the first column of the first row of `sql`; throws when there is no row
    /// or the value is not an integer, so a broken query never reads as 0.
    func count(_ sql: String) throws -> Int {
        guard let first = try rows(sql).first else { throw TestFailure("\(sql) returned no row") }
        guard let text = first.first ?? nil, let value = Int(text) else {
            throw TestFailure("\(sql) returned \(first.first.map { $0 ?? "NULL" } ?? "no column"), not an integer")
        }
        return value
    }
}
