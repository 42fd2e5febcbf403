import XCTest
@testable import LayeronStore

/// The writer's checkpoint policy on numbers alone: 1 KB pages, a pass every 16 frames, a cycle of 64
/// frames, the writer's own checkpoint once at most 2 frames are left, and no catch-up pass once the
/// WAL holds 80 frames.
final class WALCycleTests: XCTestCase {
    /// Stands in for the checkpointer: numbers the passes asked for, finishes them on demand.
    private struct Passes {
        var asked = 0
        var progress = WALCheckpointer.Progress()

        mutating func request() -> Int {
            asked += 1
            return asked
        }

        mutating func finish(backfilling frames: Int32) {
            progress.finishedPasses = asked
            progress.backfilledFrames = frames
        }
    }

    private func cycle(catchUpPasses: Int = 3) -> WALCycle {
        WALCycle(pageSize: 1024, passBytes: 16 << 10, cycleBytes: 64 << 10, writerBytes: 2 << 10, catchUpPasses: catchUpPasses)
    }

    private func commit(_ cycle: inout WALCycle, frames: Int32, _ passes: inout Passes) -> Bool {
        cycle.afterCommit(frames: frames, progress: passes.progress, request: { passes.request() })
    }

    func testAPassIsAskedForEveryPassLengthOfWAL() {
        var cycle = cycle()
        var passes = Passes()
        for frames: Int32 in [3, 15] { XCTAssertFalse(commit(&cycle, frames: frames, &passes)) }
        XCTAssertEqual(passes.asked, 0)
        XCTAssertFalse(commit(&cycle, frames: 17, &passes))
        XCTAssertEqual(passes.asked, 1)
        XCTAssertFalse(commit(&cycle, frames: 31, &passes))
        XCTAssertEqual(passes.asked, 1, "the next pass is due 16 frames after the last request, not at 32")
        XCTAssertFalse(commit(&cycle, frames: 33, &passes))
        XCTAssertEqual(passes.asked, 2)
    }

    func testTheWriterWaitsForTheFinalPassAndThenCheckpointsWhenLittleIsLeft() {
        var cycle = cycle()
        var passes = Passes()
        XCTAssertFalse(commit(&cycle, frames: 65, &passes), "the cycle's end asks for a pass, it does not stall")
        XCTAssertEqual(passes.asked, 1)
        XCTAssertFalse(commit(&cycle, frames: 67, &passes), "that pass has not finished")
        passes.finish(backfilling: 66)
        XCTAssertTrue(commit(&cycle, frames: 68, &passes), "2 frames left: the writer's own checkpoint")
        XCTAssertEqual(passes.asked, 1)
    }

    func testPassesCatchUpWhileTheyGainOnTheWriter() {
        var cycle = cycle()
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: 65)
        XCTAssertFalse(commit(&cycle, frames: 75, &passes), "10 frames left: another pass first")
        XCTAssertEqual(passes.asked, 2)
        XCTAssertFalse(commit(&cycle, frames: 76, &passes), "the catch-up pass has not finished")
        passes.finish(backfilling: 75)
        XCTAssertFalse(commit(&cycle, frames: 79, &passes), "4 left, fewer than 10: one more")
        XCTAssertEqual(passes.asked, 3)
        passes.finish(backfilling: 79)
        XCTAssertTrue(commit(&cycle, frames: 79, &passes))

        // The next cycle starts over: the WAL restarted, passes come every 16 frames again.
        XCTAssertFalse(commit(&cycle, frames: 4, &passes))
        XCTAssertFalse(commit(&cycle, frames: 17, &passes))
        XCTAssertEqual(passes.asked, 4)
    }

    func testCatchingUpStopsWhenAPassDoesNotGain() {
        var cycle = cycle()
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: 65)
        XCTAssertFalse(commit(&cycle, frames: 72, &passes), "7 left")
        passes.finish(backfilling: 72)
        XCTAssertTrue(commit(&cycle, frames: 79, &passes), "7 left again after a pass that had 7 to do: the writer takes over")
        XCTAssertEqual(passes.asked, 2)
    }

    func testCatchingUpStopsOnceTheWALIsAPassPastTheCycle() {
        var cycle = cycle()
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: 65)
        XCTAssertFalse(commit(&cycle, frames: 75, &passes), "10 left")
        passes.finish(backfilling: 75)
        XCTAssertTrue(commit(&cycle, frames: 81, &passes), "6 left, fewer than 10, but the WAL holds 81 frames: the writer takes over")
        XCTAssertEqual(passes.asked, 2)
    }

    func testCatchingUpIsBounded() {
        var cycle = cycle(catchUpPasses: 2)
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: 65)
        XCTAssertFalse(commit(&cycle, frames: 71, &passes), "6 left")
        passes.finish(backfilling: 71)
        XCTAssertFalse(commit(&cycle, frames: 75, &passes), "4 left")
        passes.finish(backfilling: 75)
        XCTAssertTrue(commit(&cycle, frames: 78, &passes), "3 left, but two catch-up passes have run")
        XCTAssertEqual(passes.asked, 3)
    }

    func testAPassThatCouldNotRunIsCaughtUp() {
        var cycle = cycle()
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: -1)
        XCTAssertFalse(commit(&cycle, frames: 66, &passes), "nothing backfilled: another pass")
        XCTAssertEqual(passes.asked, 2)
        passes.finish(backfilling: 66)
        XCTAssertTrue(commit(&cycle, frames: 66, &passes))
    }
}
