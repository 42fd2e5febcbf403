import LayeronCore
import XCTest

/// A delivery the server cannot send takes no step of the schedule, but its tries must end: they
/// were made every 5 s for as long as the cause lasted, for ever if it did.
final class NotSentRetriesTests: XCTestCase {
    func testTheWaitGrowsWithTheRunAndIsCapped() {
        let schedule = DeliverySchedule.standard
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 0), 5000, "the first wait")
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 5000), 10_000)
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 10_000), 20_000, "as long as the run so far: it doubles")
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 10_200), 20_200, "in whole seconds, cut")
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 5_009), 10_009, "a try a few milliseconds late does not add a second")
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 3_600_000), 3_900_000, "at most 5 minutes")
        XCTAssertEqual(schedule.nextNotSentTry(since: 10_000, now: 0), 5000, "a clock stepped back waits the first wait")
    }

    func testTheRunEndsAfterTheSchedulesSpanWithALastTryOnIt() {
        let schedule = DeliverySchedule(delays: [.seconds(10), .seconds(30)])
        XCTAssertEqual(schedule.notSentHorizon, .seconds(40))
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 20_000), 40_000)
        XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 30_000), 40_000, "the last try falls on the horizon")
        XCTAssertNil(schedule.nextNotSentTry(since: 0, now: 40_000))
        XCTAssertNil(schedule.nextNotSentTry(since: 0, now: 90_000))
        XCTAssertEqual(DeliverySchedule.standard.notSentHorizon, .seconds(5 + 300 + 1800 + 7200 + 18_000 + 36_000 + 36_000))
    }

    func testAShortScheduleStillGetsOneMoreTry() {
        for schedule in [DeliverySchedule(delays: []), DeliverySchedule(delays: [.seconds(1), .seconds(1)])] {
            XCTAssertEqual(schedule.notSentHorizon, DeliverySchedule.firstNotSentWait)
            XCTAssertEqual(schedule.nextNotSentTry(since: 0, now: 0), 5000)
            XCTAssertNil(schedule.nextNotSentTry(since: 0, now: 5000))
        }
    }
}
