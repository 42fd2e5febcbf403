import LayeronCore
@testable import LayeronOutbound
import XCTest

final class RetryAfterAndRateTests: XCTestCase {
    func testRetryAfterSecondsAndDates() {
        XCTAssertEqual(RetryAfter.parse("120", nowMilliseconds: 0), .seconds(120))
        XCTAssertEqual(RetryAfter.parse(" 3 ", nowMilliseconds: 0), .seconds(3))
        XCTAssertEqual(RetryAfter.parse("0000000000030", nowMilliseconds: 0), .seconds(30), "every digit counts, not the first 12")
        XCTAssertEqual(RetryAfter.parse("99999999999999999999999", nowMilliseconds: 0), .seconds(TimeSpan.longest.seconds), "saturates")
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        XCTAssertEqual(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", nowMilliseconds: 1_445_412_470_000), .seconds(10))
        XCTAssertEqual(RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", nowMilliseconds: 1_445_412_490_000), .seconds(0))
        let rounded = RetryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT", nowMilliseconds: 1_445_412_469_999)
        XCTAssertEqual(rounded, .seconds(11))
        XCTAssertEqual(rounded?.description, "11s", "shown in seconds, not 10001ms")
        XCTAssertNil(RetryAfter.parse("soon", nowMilliseconds: 0))
        XCTAssertNil(RetryAfter.parse("-5", nowMilliseconds: 0))
        XCTAssertNil(RetryAfter.parse("", nowMilliseconds: 0))
    }

    /// RFC 9110 5.6.7: a recipient must accept all three HTTP-date formats. Sun, 06 Dec 2026
    /// 11:48:53 GMT is 1796557733.
    func testRetryAfterIMFFixdate() {
        XCTAssertEqual(RetryAfter.parse("Sun, 06 Dec 2026 11:48:53 GMT", nowMilliseconds: 1_796_557_700_000), .seconds(33))
    }

    func testRetryAfterRFC850Date() {
        XCTAssertEqual(RetryAfter.parse("Sunday, 06-Dec-26 11:48:53 GMT", nowMilliseconds: 1_796_557_700_000), .seconds(33))
        // A two-digit year more than 50 years ahead is the last century's: a date long past, no wait.
        XCTAssertEqual(RetryAfter.parse("Monday, 06-Dec-99 11:48:53 GMT", nowMilliseconds: 1_796_557_700_000), .seconds(0))
        XCTAssertNil(RetryAfter.parse("Sunday, 06-Dec-2026 11:48:53 GMT", nowMilliseconds: 0))
    }

    func testRetryAfterAsctimeDate() {
        XCTAssertEqual(RetryAfter.parse("Sun Dec  6 11:48:53 2026", nowMilliseconds: 1_796_557_700_000), .seconds(33))
        XCTAssertEqual(RetryAfter.parse("Thu Dec 10 11:48:53 2026", nowMilliseconds: 1_796_557_700_000), .seconds(33 + 4 * 86_400))
        XCTAssertNil(RetryAfter.parse("Sun Feb 30 11:48:53 2026", nowMilliseconds: 0), "a day that does not exist")
    }

    /// Retry-After lengthens a step, capped, and never shortens one: a 0 or a past date (a receiver's
    /// clock behind) must not spend the schedule at once.
    func testScheduleUsesRetryAfterCappedAndNeverAddsAttempts() {
        let schedule = DeliverySchedule(delays: [.seconds(5), .seconds(60)])
        XCTAssertEqual(schedule.attempts, 3)
        XCTAssertEqual(schedule.delay(afterAttempt: 1), .seconds(5))
        XCTAssertEqual(schedule.delay(afterAttempt: 1, retryAfter: .seconds(30)), .seconds(30))
        XCTAssertEqual(schedule.delay(afterAttempt: 2, retryAfter: .seconds(2)), .seconds(60))
        XCTAssertEqual(schedule.delay(afterAttempt: 1, retryAfter: .seconds(0)), .seconds(5))
        XCTAssertEqual(schedule.delay(afterAttempt: 1, retryAfter: .seconds(10_000_000)), DeliverySchedule.maximumRetryAfter)
        XCTAssertNil(schedule.delay(afterAttempt: 3, retryAfter: .seconds(1)))
        XCTAssertEqual(DeliverySchedule.standard.attempts, 8)
    }

    func testTokenBucketBurstsThenRefillsEvenly() {
        var limiter = RateLimiter(cap: RateCap(count: 4, per: .seconds(1)), nowMilliseconds: 0)
        XCTAssertEqual(limiter.available(nowMilliseconds: 0), 4)
        for _ in 0..<4 { XCTAssertTrue(limiter.take(nowMilliseconds: 0)) }
        XCTAssertFalse(limiter.take(nowMilliseconds: 0))
        XCTAssertFalse(limiter.take(nowMilliseconds: 200))
        XCTAssertTrue(limiter.take(nowMilliseconds: 250))
        XCTAssertEqual(limiter.available(nowMilliseconds: 10_000), 4)
    }

    /// A reading earlier than the last (a clock stepped back) is the new reference: the bucket
    /// refills from it, not only once the clock is back where it was.
    func testTokenBucketRefillsAfterAnEarlierReading() {
        var limiter = RateLimiter(cap: RateCap(count: 4, per: .seconds(1)), nowMilliseconds: 600_000)
        for _ in 0..<4 { XCTAssertTrue(limiter.take(nowMilliseconds: 600_000)) }
        XCTAssertFalse(limiter.take(nowMilliseconds: 0))
        XCTAssertTrue(limiter.take(nowMilliseconds: 250))
    }
}
