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
/// this thread backfills the bulk, and once per cycle the writer backfills the few frames added during
/// the last pass with a passive checkpoint of its own, after which its next transaction restarts the
/// WAL. Both connections use the store's `synchronous` setting, so the
/// checkpoints sync as SQLite's own would.
///
/// SQLite syncs the database file only at the end of a checkpoint that reached the end of the WAL,
/// which under load is only ever the writer's own: it then had to flush every page this thread had
/// copied since the last restart, and its stall grew with the cycle. So this thread syncs the database
/// after each pass itself, and the writer's sync finds little left to flush.
final class WALCheckpointer: @unchecked Sendable {
    /// Guards `requested`, `stopping`, `started` and `finished`.
    private let condition = NSCondition()
    private var requested = false
    private var stopping = false
    private var started = 0
    private var finished = 0
    private let stopped = DispatchSemaphore(value: 0)
    private let connection: SQLiteConnection

    init(path: String, synchronous: String) throws(SQLiteError) {
        connection = try SQLiteConnection(path: path)
        try connection.execute("PRAGMA synchronous=\(synchronous)")
        Thread.startNamed("wal-checkpoint") { [unowned self] in self.loop() }
    }

    /// Asks for a pass and returns at once with its number: once `finishedPasses` reaches it, every
    /// frame committed before the call has been backfilled (unless the pass failed). A pass asked for
    /// while one runs starts after it.
    @discardableResult
    func request() -> Int {
        condition.lock()
        defer { condition.unlock() }
        requested = true
        condition.signal()
        return started + 1
    }

    /// How many passes have finished.
    var finishedPasses: Int {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Finishes the pass under way, if any, then stops the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
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
            connection.checkpointPassive()
            connection.syncDatabase()
            // The frames the writer appended during the pass are synced here too, so the WAL sync
            // that opens the writer's own checkpoint (once per cycle, while its commits wait) finds
            // little left to flush: that sync was the writer's longest stall (item 39).
            connection.syncWAL()
            condition.lock()
            finished += 1
            condition.unlock()
        }
    }
}

/// The writer's side of the split checkpoint (see `WALCheckpointer`), run on the writer thread after
/// each batch. Not thread-safe: only the writer touches it.
///
/// The checkpointer is asked for a pass every `passBytes` of WAL, so that what is left to backfill
/// stays short (SQLite looks pages up only among the frames not yet backfilled). The writer's own
/// checkpoint, which lets the WAL restart, still stalls its commits (two `fdatasync`s and the wake-up
/// after each), so it runs once per `cycleBytes`: that bounds the WAL file (32 MB plus what the
/// batches committed during the last pass add). Since the checkpointer syncs the database after each
/// pass, a longer cycle no longer makes each stall longer (see `docs/performance.md`, item 27).
struct WALCycle {
    let checkpointer: WALCheckpointer
    let framesPerPass: Int32
    let framesPerCycle: Int32
    /// The WAL's frames when the last pass was asked for; 0 after a restart.
    private var askedAt: Int32 = 0
    /// The pass the writer waits for before its own checkpoint.
    private var finishingAfter: Int?

    init(checkpointer: WALCheckpointer, pageSize: Int, passBytes: Int = 8 << 20, cycleBytes: Int = 32 << 20) {
        self.checkpointer = checkpointer
        framesPerPass = Int32(max(1, passBytes / pageSize))
        framesPerCycle = Int32(max(1, cycleBytes / pageSize))
    }

    mutating func afterCommit(_ connection: SQLiteConnection) {
        let frames = connection.walFrames
        if frames < askedAt { askedAt = 0 }
        if let pass = finishingAfter {
            guard checkpointer.finishedPasses >= pass else { return }
            finishingAfter = nil
            connection.checkpointPassive()
        } else if frames >= framesPerCycle {
            finishingAfter = checkpointer.request()
            askedAt = frames
        } else if frames >= askedAt + framesPerPass {
            askedAt = frames
            checkpointer.request()
        }
    }
}
