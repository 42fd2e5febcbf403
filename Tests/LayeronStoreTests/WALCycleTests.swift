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

    private func commit(_ cycle: inout WALCycle, frames: Int32, _ passes: inout Passes) -> WALCycle.Step {
        cycle.afterCommit(frames: frames, progress: passes.progress, request: { passes.request() })
    }

    func testAPassIsAskedForEveryPassLengthOfWAL() {
        var cycle = cycle()
        var passes = Passes()
        for frames: Int32 in [3, 15] { XCTAssertEqual(commit(&cycle, frames: frames, &passes), .none) }
        XCTAssertEqual(passes.asked, 0)
        XCTAssertEqual(commit(&cycle, frames: 17, &passes), .none)
        XCTAssertEqual(passes.asked, 1)
        XCTAssertEqual(commit(&cycle, frames: 31, &passes), .none)
        XCTAssertEqual(passes.asked, 1, "the next pass is due 16 frames after the last request, not at 32")
        XCTAssertEqual(commit(&cycle, frames: 33, &passes), .none)
        XCTAssertEqual(passes.asked, 2)
    }

    func testTheWriterWaitsForTheFinalPassAndThenCheckpointsWhenLittleIsLeft() {
        var cycle = cycle()
        var passes = Passes()
        XCTAssertEqual(commit(&cycle, frames: 65, &passes), .none, "the cycle's end asks for a pass, it does not stall")
        XCTAssertEqual(passes.asked, 1)
        XCTAssertEqual(commit(&cycle, frames: 67, &passes), .none, "that pass has not finished")
        passes.finish(backfilling: 66)
        XCTAssertEqual(commit(&cycle, frames: 68, &passes), .checkpoint, "2 frames left: the writer's own checkpoint")
        XCTAssertEqual(passes.asked, 1)
    }

    func testPassesCatchUpWhileTheyGainOnTheWriter() {
        var cycle = cycle()
        var passes = Passes()
        _ = commit(&cycle, frames: 65, &passes)
        passes.finish(backfilling: 65)
        XCTAssertEqual(commit(&cycle, frames: 75, &passes), .none, "10 frames left: another pass first")
        XCTAssertEqual(passes.asked, 2)
        XCTAssertEqual(commit(&cycle, frames: 76, &passes), .none, "the catch-up pass has not finished")
        passes.finish(backfilling: 75)
        XCTAssertEqual(commit(&cycle, frames: 79, &passes), .none, "4 left, fewer than 10: one more")
        XCTAssertEqual(passes.asked, 3)
        passes.finish(backfilling: 79)
        XCTAssertEqual(commit(&cycle, frames: 79, &passes), .checkpoint)

        // The next cycle starts over: the WAL restarted, passes come every 16 frames again.
        XCTAssertEqual(commit(&cycle, frames: 4, &passes), .none)
        XCTAssertEqual(commit(&cycle, frames: 17, &passes), .none)
        XCTAssertEqual(passes.asked, 4)
    }

    /// Ends a cycle (a commit at 65 frames asks for the final pass), then for each step finishes the
    /// pass asked for last, backfilling up to `backfilled`, and commits at `frames`. Returns what each
    /// of those commits answered and how many passes were asked for.
    private func endOfCycle(_ steps: [(backfilled: Int32, frames: Int32)], catchUpPasses: Int = 3) -> (stalls: [WALCycle.Step], passes: Int) {
        var cycle = cycle(catchUpPasses: catchUpPasses)
        var passes = Passes()
        XCTAssertEqual(commit(&cycle, frames: 65, &passes), .none)
        let stalls = steps.map { step in
            passes.finish(backfilling: step.backfilled)
            return commit(&cycle, frames: step.frames, &passes)
        }
        return (stalls, passes.asked)
    }

    func testCatchingUpStopsWhenAPassDoesNotGain() {
        // 7 left, then 7 again after a pass that had 7 to do: the writer takes over.
        let run = endOfCycle([(65, 72), (72, 79)])
        XCTAssertEqual(run.stalls, [.none, .checkpoint])
        XCTAssertEqual(run.passes, 2)
    }

    func testCatchingUpStopsOnceTheWALIsAPassPastTheCycle() {
        // 10 left, then 6, fewer, but the WAL holds 81 frames: the writer takes over.
        let run = endOfCycle([(65, 75), (75, 81)])
        XCTAssertEqual(run.stalls, [.none, .checkpoint])
        XCTAssertEqual(run.passes, 2)
    }

    func testCatchingUpIsBounded() {
        // 6, 4, then 3 left, but two catch-up passes have run.
        let run = endOfCycle([(65, 71), (71, 75), (75, 78)], catchUpPasses: 2)
        XCTAssertEqual(run.stalls, [.none, .none, .checkpoint])
        XCTAssertEqual(run.passes, 3, "the final pass and two catch-ups, then the writer's own checkpoint")
    }

    func testAWriterThatOutrunsThePassWaitsForItAtThePassLimit() {
        var cycle = cycle()
        var passes = Passes()
        XCTAssertEqual(commit(&cycle, frames: 65, &passes), .none)
        XCTAssertEqual(commit(&cycle, frames: 79, &passes), .none, "the pass still runs, the WAL is under 80 frames")
        XCTAssertEqual(commit(&cycle, frames: 82, &passes), .checkpointAfterPass(1), "80 frames or more: wait for it, then checkpoint")
        XCTAssertEqual(passes.asked, 1, "no catch-up pass: the writer takes over")

        // The WAL restarted; the next cycle starts over.
        XCTAssertEqual(commit(&cycle, frames: 17, &passes), .none)
        XCTAssertEqual(passes.asked, 2)
    }

    func testAPassThatCouldNotRunIsCaughtUp() {
        // Nothing backfilled (-1): another pass, which leaves nothing.
        let run = endOfCycle([(-1, 66), (66, 66)])
        XCTAssertEqual(run.stalls, [.none, .checkpoint])
        XCTAssertEqual(run.passes, 2)
    }
}
