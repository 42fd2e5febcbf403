/// The writer's side of the split checkpoint (see `WALCheckpointer`): after each commit it decides
/// whether to ask the checkpointer for a pass and when the writer runs its own checkpoint. Not
/// thread-safe: only the writer touches it. It holds no connection or thread, so the policy is tested
/// on numbers alone.
///
/// The checkpointer is asked for a pass every `passBytes` of WAL, so that what is left to backfill
/// stays short (SQLite looks pages up only among the frames not yet backfilled). The writer's own
/// checkpoint, which lets the WAL restart, stalls its commits, so it runs once per `cycleBytes`: that
/// bounds the WAL file (the cycle plus what the batches committed during the last passes add).
///
/// The stall is the copy of every frame the last pass did not reach plus two `fdatasync`s; with one
/// pass before it, that was the frames appended while the pass ran (800–1,000 under load) and 5–10 ms
/// of stalled commits four times a second, the largest share of appends slower than 5 ms. So once
/// the pass the writer waits for has finished, the frames still left decide: more than
/// `writerBytes` and fewer than after the pass before, and the writer asks for another pass
/// (at most `catchUpPasses` of them, and none once the WAL is a pass length past the cycle, which
/// bounds the file), each shorter than the last, since a pass copies faster than the writer appends.
/// What is left for the writer is then a few hundred frames (item 41).
///
/// The pass the writer waits for may still run when the WAL reaches that same limit, a pass length
/// past the cycle: a writer appending faster than the checkpointer copies (a loaded machine, large
/// batches) would otherwise grow the file for as long as the pass takes. There the writer holds its
/// commits until the pass has finished, then checkpoints, so the file stays within the cycle, one
/// pass length and one batch (item 42).
struct WALCycle {
    /// What the writer does after a commit.
    enum Step: Equatable {
        /// Nothing: it goes on committing.
        case none
        /// Its own checkpoint, now; its next transaction restarts the WAL.
        case checkpoint
        /// Waits for the pass with this number to finish, its commits held, then checkpoints.
        case checkpointAfterPass(Int)
    }

    let framesPerPass: Int32
    let framesPerCycle: Int32
    let framesLeftForWriter: Int32
    let catchUpPasses: Int
    /// The WAL's frames when the last pass was asked for; 0 after a restart.
    private var askedAt: Int32 = 0
    /// The pass the writer waits for before its own checkpoint.
    private var finishingAfter: Int?
    private var catchUps = 0
    /// Frames left after the previous pass the writer waited for; catching up stops when a pass does
    /// not leave fewer (the checkpointer is not gaining on the writer).
    private var leftBefore = Int32.max

    init(pageSize: Int, passBytes: Int = 8 << 20, cycleBytes: Int = 64 << 20, writerBytes: Int = 1 << 20,
         catchUpPasses: Int = 3) {
        framesPerPass = Int32(max(1, passBytes / pageSize))
        framesPerCycle = Int32(max(1, cycleBytes / pageSize))
        framesLeftForWriter = Int32(max(1, writerBytes / pageSize))
        self.catchUpPasses = catchUpPasses
    }

    /// Called after each commit with the WAL's frames and the checkpointer's progress; `request` asks
    /// the checkpointer for a pass and returns its number. After either checkpoint step, the writer's
    /// next transaction restarts the WAL.
    mutating func afterCommit(frames: Int32, progress: WALCheckpointer.Progress, request: () -> Int) -> Step {
        if frames < askedAt { askedAt = 0 }
        if let pass = finishingAfter {
            let limit = framesPerCycle + framesPerPass
            guard progress.finishedPasses >= pass else {
                guard frames >= limit else { return .none }
                endCycle()
                return .checkpointAfterPass(pass)
            }
            // A pass that could not run reports -1, which leaves everything to catch up.
            let left = frames - progress.backfilledFrames
            if left > framesLeftForWriter, left < leftBefore, catchUps < catchUpPasses, frames < limit {
                catchUps += 1
                leftBefore = left
                finishingAfter = request()
                return .none
            }
            endCycle()
            return .checkpoint
        }
        if frames >= framesPerCycle {
            finishingAfter = request()
            askedAt = frames
        } else if frames >= askedAt + framesPerPass {
            askedAt = frames
            _ = request()
        }
        return .none
    }

    private mutating func endCycle() {
        finishingAfter = nil
        catchUps = 0
        leftBefore = .max
    }
}
