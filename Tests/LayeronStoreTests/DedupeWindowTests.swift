@testable import LayeronStore
import XCTest

final class DedupeWindowTests: XCTestCase {
    func testMissesAreTrustedOnlyForKeysThisProcessCouldHaveSeen() {
        let window = DedupeWindow(preexistingLiveUntil: 0)
        XCTAssertFalse(window.needsLookup(webhook: "w", key: "a", now: 10))
        window.recorded(webhook: "w", key: "a", expiresAt: 100, now: 10)
        XCTAssertTrue(window.needsLookup(webhook: "w", key: "a", now: 50))
        XCTAssertFalse(window.needsLookup(webhook: "other", key: "a", now: 50))
        XCTAssertFalse(window.needsLookup(webhook: "w", key: "a", now: 100), "an expired key is a miss")
    }

    func testKeysFromBeforeTheStartKeepTheStoreInCharge() {
        let window = DedupeWindow(preexistingLiveUntil: 1_000)
        XCTAssertTrue(window.needsLookup(webhook: "w", key: "old", now: 999))
        XCTAssertFalse(window.needsLookup(webhook: "w", key: "old", now: 1_000))
    }

    func testEvictionStopsTrustingMissesUntilTheDroppedKeysExpire() {
        let window = DedupeWindow(preexistingLiveUntil: 0, capacity: 2)
        window.recorded(webhook: "w", key: "a", expiresAt: 500, now: 1)
        window.recorded(webhook: "w", key: "b", expiresAt: 700, now: 1)
        window.recorded(webhook: "w", key: "c", expiresAt: 900, now: 1)
        XCTAssertTrue(window.needsLookup(webhook: "w", key: "a", now: 2), "a was evicted but may still be live")
        XCTAssertTrue(window.needsLookup(webhook: "w", key: "never", now: 699))
        XCTAssertTrue(window.needsLookup(webhook: "w", key: "c", now: 800))
        XCTAssertFalse(window.needsLookup(webhook: "w", key: "never", now: 700))
    }
}

final class HeaderCodingTests: XCTestCase {
    func testHeadersRoundTripWithEscapesOrderAndRepeats() {
        let headers: [(name: String, value: String)] = [
            ("x-a", "plain"), ("x-quote", #"say "hi" \ back"#), ("x-a", "repeat"), ("x-ctl", "tab\there\u{1}"), ("x-utf8", "é😀"), ("x-empty", ""),
        ]
        let decoded = HeaderCoding.decode(String(decoding: HeaderCoding.encode(headers), as: UTF8.self))
        XCTAssertEqual(decoded.map(\.name), headers.map(\.name))
        XCTAssertEqual(decoded.map(\.value), headers.map(\.value))
        XCTAssertEqual(HeaderCoding.encode([]), Array("[]".utf8))
    }

    /// The stored text itself: rows written before and after a change must read the same.
    func testEncodedTextIsStable() {
        XCTAssertEqual(String(decoding: HeaderCoding.encode([("x-a", "plain"), ("x-q", #"say "hi" \ back"#), ("x-c", "t\tn\nr\r\u{1}\u{1F}\u{7F}"), ("x-u", "é😀")]), as: UTF8.self),
                       #"[["x-a","plain"],["x-q","say \"hi\" \\ back"],["x-c","t\tn\nr\r\u0001\u001f"# + "\u{7F}" + #""],["x-u","é😀"]]"#)
    }
}
