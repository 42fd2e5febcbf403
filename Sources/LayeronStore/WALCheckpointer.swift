import CSQLite
import Foundation
import LayeronCore

/// Copies the WAL back into the database on a thread and connection of its own, so that the writer's
/// commits do not stall for the copy and its `fdatasync`s (SQLite's automatic checkpoint runs inside
/// the `COMMIT` that passes 1,000 frames: 5–10 ms, the latency tail under load).
///
/// A passive checkpoint from another connection never catches up under continuous writes (frames
/// arrive while it copies), and the WAL starts over only when a writer begins a transaction with every
/// frame backfilled. So the work is split (`WALCycle`): the writer asks for passes as its WAL grows,
/// this thread backfills the bulk (catching up with shorter passes at the end of a cycle), and once
/// per cycle the writer backfills the few frames still left with a passive checkpoint of its own,
/// after which its next transaction restarts the WAL. Both connections use the store's `synchronous`
/// setting, so the checkpoints sync as SQLite's own would.
///
/// SQLite syncs the database file only at the end of a checkpoint that reached the end of the WAL,
/// which under load is only ever the writer's own: it then had to flush every page this thread had
/// copied since the last restart, and its stall grew with the cycle. So this thread syncs the database
/// after each pass itself, and the writer's sync finds little left to flush.
final class WALCheckpointer: @unchecked Sendable {
    /// How far the passes have got: how many have finished, and how many of the WAL's frames the
    /// last one left in the database (-1 when it could not run).
    struct Progress {
        var finishedPasses = 0
        var backfilledFrames: Int32 = -1
    }

    /// Guards `requested`, `stopping`, `started` and `reached`.
    private let condition = NSCondition()
    private var requested = false
    private var stopping = false
    private var started = 0
    private var reached = Progress()
    private let stopped = DispatchSemaphore(value: 0)
    private let connection: SQLiteConnection
    private let release: WrittenPageRelease?

    /// `release`, when given, is told after each pass's database sync, so that the kernel can reuse the
    /// pages the pass wrote (`WrittenPageRelease`).
    init(path: String, synchronous: String, release: WrittenPageRelease? = nil) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path)
        connection.heldUntilClosed = release
        self.release = release
        try connection.execute("PRAGMA synchronous=\(synchronous)")
        Thread.startNamed("wal-checkpoint") { [unowned self] in self.loop() }
    }

    /// Asks for a pass and returns at once with its number: once `progress.finishedPasses` reaches
    /// it, every frame committed before the call has been backfilled (unless the pass failed). A pass
    /// asked for while one runs starts after it.
    @discardableResult
    func request() -> Int {
        condition.lock()
        defer { condition.unlock() }
        requested = true
        condition.signal()
        return started + 1
    }

    var progress: Progress {
        condition.lock()
        defer { condition.unlock() }
        return reached
    }

    /// Returns once pass `pass` (a number `request` returned) has finished, or the thread is stopping.
    func waitUntilFinished(_ pass: Int) {
        condition.lock()
        defer { condition.unlock() }
        while reached.finishedPasses < pass && !stopping { condition.wait() }
    }

    /// Finishes the pass under way, if any, then stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        stopped.wait()
    }

    private func loop() {
        while true {
            condition.lock()
            while !requested && !stopping { condition.wait() }
            if stopping {
                condition.unlock()
                stopped.signal()
                return
            }
            requested = false
            started += 1
            condition.unlock()
            // A failed pass (SQLITE_BUSY from a concurrent checkpoint, an I/O error) leaves the WAL
            // as it was: the writer's own checkpoint and the next request retry it.
            let pass = connection.checkpointPassive()
            if connection.syncDatabase() == SQLITE_OK { release?.releaseSynced() }
            // The frames the writer appended during the pass are synced here too, so the WAL sync
            // that opens the writer's own checkpoint (once per cycle, while its commits wait) finds
            // little left to flush: that sync was the writer's longest stall (item 39).
            connection.syncWAL()
            condition.lock()
            reached.finishedPasses += 1
            reached.backfilledFrames = pass.code == SQLITE_OK ? pass.backfilledFrames : -1
            // The writer may be waiting for this pass (`waitUntilFinished`).
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// What a passive checkpoint did: SQLite's result code (SQLITE_BUSY: another checkpoint was running)
/// and how many of the WAL's frames are now in the database.
struct PassiveCheckpoint {
    let code: Int32
    let backfilledFrames: Int32
}
