import LayeronCore
import XCTest

/// Warnings about a mistake repeated on every event are written at most once per interval and key,
/// and the next line counts what was held back.
final class LogRateLimitTests: XCTestCase {
    func testTheFirstOccurrenceIsLoggedAndTheNextLineCountsThoseHeldBack() {
        var limit = LogRateLimit<String>(intervalNanoseconds: 1000)
        XCTAssertEqual(limit.occurrence("a", now: 5000), 1)
        XCTAssertNil(limit.occurrence("a", now: 5500))
        XCTAssertNil(limit.occurrence("a", now: 5999))
        XCTAssertEqual(limit.occurrence("b", now: 5999), 1, "each key has its own interval")
        XCTAssertEqual(limit.occurrence("a", now: 6000), 3, "this one and the two held back")
        XCTAssertNil(limit.occurrence("a", now: 6100))
    }
}
