import LayeronCore
import XCTest

/// RFC 3339 times as the admin API and signature timestamps read them: exact to the millisecond,
/// and a day that does not exist is refused instead of rolled into another.
final class RFC3339Tests: XCTestCase {
    func testValidTimesToTheMillisecond() {
        XCTAssertEqual(RFC3339.unixMilliseconds("2023-11-14T22:13:20Z"), 1_700_000_000_000)
        XCTAssertEqual(RFC3339.unixMilliseconds("2023-11-14t22:13:20.25z"), 1_700_000_000_250)
        XCTAssertEqual(RFC3339.unixMilliseconds("2023-11-14T22:13:20.634234626Z"), 1_700_000_000_634)
        XCTAssertEqual(RFC3339.unixMilliseconds("2023-11-15T00:13:20.001+02:00"), 1_700_000_000_001)
        XCTAssertEqual(RFC3339.unixMilliseconds("2024-02-29T00:00:00Z"), 1_709_164_800_000, "2024 is a leap year")
        XCTAssertEqual(RFC3339.unixMilliseconds("2000-02-29T00:00:00Z"), 951_782_400_000, "2000 is a leap year")
        XCTAssertEqual(RFC3339.unixSeconds("1969-12-31T23:59:59.5Z"), -1)
    }

    /// A leap second is read as the second before it: Unix time has no place for it.
    func testALeapSecondIsReadAsTheSecondBeforeIt() {
        XCTAssertEqual(RFC3339.unixMilliseconds("2016-12-31T23:59:60Z"), RFC3339.unixMilliseconds("2016-12-31T23:59:59Z"))
        XCTAssertEqual(RFC3339.unixMilliseconds("2016-12-31T23:59:60.5Z"), RFC3339.unixMilliseconds("2016-12-31T23:59:59.5Z"))
    }

    func testDaysAndTimesThatDoNotExistAreRefused() {
        for bad in ["2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-11-31T09:02:00Z", "2026-04-31T00:00:00Z",
                    "2026-12-06T24:00:00Z", "2026-12-06T23:60:00Z", "2026-12-06T23:59:61Z", "2026-11-36T00:00:00Z",
                    "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-12-06T10:00:00+24:00", "2026-12-06T10:00:00+01:60",
                    "2026-12-06T10:00:00.Z", "2026-12-06T10:00:00", "2026-12-06", ""] {
            XCTAssertNil(RFC3339.unixMilliseconds(bad), bad)
        }
    }
}
