import Foundation
import LayeronCore
import LayeronStore
import XCTest

private struct NotRecorded: Error {}

/// What a start makes of the attempts the last process left open.
extension EventStoreTests {
    private func recordedForInterruption(_ n: Int, direction: EventDirection) throws -> Int64 {
        let event = NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: direction, provider: "p",
                             type: "t", providerEventID: "evt_\(n)", dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                             headers: [], body: Array("body \(n)".utf8), handler: direction == .inbound ? "p.h" : nil)
        let result = try store.append(event)
        guard case let .recorded(seq) = result else { throw NotRecorded() }
        return seq
    }

    private func openOrFinished(_ n: Int64, replay: Bool, finished: Bool) -> AttemptRecord {
        AttemptRecord(n: n, startedAt: 10 * n, finishedAt: finished ? 10 * n + 5 : nil, outcome: finished ? .ok : nil, error: nil,
                      replay: replay, plugin: nil, pluginVersion: nil)
    }

    /// A replay of a delivered or failed event has nothing that would run it again: it is closed as
    /// ended, saying so, and its event keeps its status with no next attempt. An attempt of a pending
    /// event still runs again.
    func testAReplayOfAnEventNotPendingEndsAndAPendingEventRunsAgain() throws {
        var ended: [Int64] = []
        for (n, direction) in [(1, EventDirection.inbound), (2, .outbound)] {
            let seq = try recordedForInterruption(n, direction: direction)
            try store.startAttemptCommitted(seq: seq, attempt: openOrFinished(1, replay: false, finished: false))
            try store.finishAttempt(seq: seq, attempt: openOrFinished(1, replay: false, finished: true), status: n == 1 ? .processed : .failed, nextAttemptAt: nil)
            try store.startAttemptCommitted(seq: seq, attempt: openOrFinished(2, replay: true, finished: false))
            ended.append(seq)
        }
        let pending = try recordedForInterruption(3, direction: .inbound)
        try store.startAttemptCommitted(seq: pending, attempt: openOrFinished(1, replay: false, finished: false))

        let recovery = try store.recoverInterruptedAttempts(now: 5_000) { _ in .runAgain(at: 6_000) }
        XCTAssertEqual(recovery.attempts, 3)
        XCTAssertEqual(recovery.endedReplays, 2)
        for (seq, status) in zip(ended, [EventStatus.processed, .failed]) {
            let cutOff = try XCTUnwrap(try store.attempts(seq: seq).last)
            XCTAssertEqual(cutOff.outcome, .error)
            XCTAssertEqual(cutOff.error, "interrupted: the server stopped while this replay ran; replay the event again if it is still wanted")
            XCTAssertEqual(cutOff.finishedAt, 5_000)
            let event = try XCTUnwrap(try store.event(seq: seq))
            XCTAssertEqual(event.status, status)
            XCTAssertNil(event.nextAttemptAt)
            XCTAssertEqual(event.attemptCount, 2)
        }
        let again = try XCTUnwrap(try store.attempts(seq: pending).last)
        XCTAssertEqual(again.outcome, .retry)
        XCTAssertEqual(again.error, "interrupted: the server stopped while this attempt ran; it will run again")
        XCTAssertEqual(try store.event(seq: pending)?.nextAttemptAt, 6_000)
    }

    /// Replays take no place in the retry schedule, after a crash too: an attempt cut off after two
    /// replays is the schedule's second, and a cut-off replay of a pending event leaves its schedule.
    func testACutOffAttemptsPlaceInTheScheduleLeavesOutReplays() throws {
        let seq = try recordedForInterruption(4, direction: .inbound)
        try store.finishAttempt(seq: seq, attempt: openOrFinished(1, replay: false, finished: true), status: .pending, nextAttemptAt: 9_000)
        for n in Int64(2)...3 {
            try store.finishAttempt(seq: seq, attempt: openOrFinished(n, replay: true, finished: true), status: .pending, nextAttemptAt: 9_000)
        }
        try store.startAttemptCommitted(seq: seq, attempt: openOrFinished(4, replay: false, finished: false))
        let replayed = try recordedForInterruption(5, direction: .inbound)
        try store.finishAttempt(seq: replayed, attempt: openOrFinished(1, replay: false, finished: true), status: .pending, nextAttemptAt: 7_000)
        try store.startAttemptCommitted(seq: replayed, attempt: openOrFinished(2, replay: true, finished: false))

        let asked = AskedAttempts()
        _ = try store.recoverInterruptedAttempts(now: 5_000) { attempt in
            asked.add(attempt)
            return .runAgain(at: 8_000)
        }
        XCTAssertEqual(asked.all.map(\.seq), [seq], "a cut-off replay is no attempt of the schedule")
        XCTAssertEqual(asked.all.first?.n, 4)
        XCTAssertEqual(asked.all.first?.scheduledPlace, 2)
        XCTAssertEqual(try store.event(seq: replayed)?.nextAttemptAt, 7_000)
    }

    /// Attempts left open on an event that a later attempt settled (the store refused their ends, a
    /// full disk) do not run again, whatever the stop: they are closed saying their end is unknown,
    /// not that they will run again, are counted apart from the cut-off ones, and the event keeps
    /// its status with no next attempt.
    func testOpenAttemptsOfASettledEventAreClosedAsUnrecorded() throws {
        let seq = try recordedForInterruption(6, direction: .inbound)
        for n in Int64(1)...2 { try store.startAttemptCommitted(seq: seq, attempt: openOrFinished(n, replay: false, finished: false)) }
        try store.finishAttempt(seq: seq, attempt: openOrFinished(3, replay: false, finished: true), status: .processed, nextAttemptAt: nil)
        let pending = try recordedForInterruption(7, direction: .inbound)
        try store.startAttemptCommitted(seq: pending, attempt: openOrFinished(1, replay: false, finished: false))

        let asked = AskedAttempts()
        let recovery = try store.recoverInterruptedAttempts(now: 5_000) { attempt in
            asked.add(attempt)
            return .runAgain(at: 6_000)
        }
        XCTAssertEqual(asked.all.map(\.seq), [pending])
        XCTAssertEqual(recovery.attempts, 3)
        XCTAssertEqual(recovery.unrecordedEnds, 2)
        let attempts = try store.attempts(seq: seq)
        XCTAssertEqual(attempts.map(\.outcome), [.error, .error, .ok])
        for open in attempts.prefix(2) {
            XCTAssertEqual(open.error, "unknown: the server could not record how this attempt ended; its event is settled and it does not run again")
            XCTAssertEqual(open.finishedAt, 5_000)
        }
        let event = try XCTUnwrap(try store.event(seq: seq))
        XCTAssertEqual(event.status, .processed)
        XCTAssertNil(event.nextAttemptAt)
        XCTAssertEqual(try store.attempts(seq: pending).last?.error, "interrupted: the server stopped while this attempt ran; it will run again")
    }
}

private final class AskedAttempts: @unchecked Sendable {
    private let lock = NSLock()
    private var attempts: [InterruptedAttempt] = []
    func add(_ attempt: InterruptedAttempt) {
        lock.lock()
        attempts.append(attempt)
        lock.unlock()
    }
    var all: [InterruptedAttempt] {
        lock.lock()
        defer { lock.unlock() }
        return attempts
    }
}
