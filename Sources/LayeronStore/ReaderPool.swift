import Foundation

/// Read-only connections for the admin API and the dispatcher, so reads never queue behind the
/// writer (WAL lets readers see the last commit while a write is in progress).
final class ReaderPool: @unchecked Sendable {
    /// Guards `idle`.
    private let idleCondition = NSCondition()
    private var idle: [SQLiteConnection]

    /// `heldUntilClosed` is kept by every connection (`SQLiteConnection.heldUntilClosed`).
    init(path: String, count: Int, heldUntilClosed: AnyObject? = nil) throws(SQLiteError) {
        var connections: [SQLiteConnection] = []
        for _ in 0..<max(1, count) {
            let connection = try SQLiteConnection(path: path, readOnly: true)
            connection.heldUntilClosed = heldUntilClosed
            connections.append(connection)
        }
        idle = connections
    }

    /// Runs `body` with a connection checked out for its duration.
    func with<T>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        idleCondition.lock()
        while idle.isEmpty { idleCondition.wait() }
        let connection = idle.removeLast()
        idleCondition.unlock()
        defer {
            idleCondition.lock()
            idle.append(connection)
            idleCondition.signal()
            idleCondition.unlock()
        }
        return try body(connection)
    }
}
