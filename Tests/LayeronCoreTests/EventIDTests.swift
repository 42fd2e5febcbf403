import Foundation
import LayeronCore
import Synchronization
import XCTest

final class EventIDTests: XCTestCase {
    /// The 26 characters back to the 128-bit value (the ULID layout).
    private func decode(_ id: String) -> UInt128 {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        return id.utf8.dropFirst(EventID.prefix.utf8.count).reduce(UInt128(0)) { value, char in
            value << 5 | UInt128(alphabet.firstIndex(of: char)!)
        }
    }

    func testTimestampFillsTheTop48Bits() {
        let ms: Int64 = 1_733_300_000_123
        let id = EventID.make(nowMilliseconds: ms)
        XCTAssertTrue(EventID.isWellFormed(id), id)
        XCTAssertEqual(decode(id) >> 80, UInt128(ms))
        XCTAssertEqual(EventID.make(nowMilliseconds: 0).dropFirst(6).prefix(10), "0000000000")
        XCTAssertEqual(decode(EventID.make(nowMilliseconds: -5)) >> 80, 0, "negative clocks clamp to 0")
    }

    /// Time ranges go through the id index: the bound of a millisecond sorts (as text) after every id
    /// of the millisecond before and at or before every id made then or later.
    func testLowerBoundSortsBetweenMilliseconds() {
        let ms: Int64 = 1_733_300_000_123
        let bound = EventID.lowerBound(milliseconds: ms)
        XCTAssertTrue(EventID.isWellFormed(bound), bound)
        XCTAssertEqual(decode(bound), UInt128(ms) << 80)
        for _ in 0..<200 {
            XCTAssertLessThan(EventID.make(nowMilliseconds: ms - 1), bound)
            XCTAssertGreaterThanOrEqual(EventID.make(nowMilliseconds: ms), bound)
            XCTAssertLessThan(EventID.make(nowMilliseconds: ms), EventID.lowerBound(milliseconds: ms + 1))
        }
    }

    func testIdsStayUniqueAcrossPoolRefillsAndThreads() {
        // Several refills of each thread's random pool (400 ids each), on four threads at once.
        let collected = Mutex(Set<String>())
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let ids = (0..<2_000).map { _ in EventID.make(nowMilliseconds: 1_700_000_000_000) }
            collected.withLock { $0.formUnion(ids) }
        }
        let all = collected.withLock { $0 }
        XCTAssertEqual(all.count, 8_000)
        XCTAssertTrue(all.allSatisfy(EventID.isWellFormed))
    }

    func testRandomBitsAreNotConstant() {
        // 80 random bits: over 200 ids every bit position takes both values.
        let values = (0..<200).map { _ in decode(EventID.make(nowMilliseconds: 1)) & ((UInt128(1) << 80) - 1) }
        let ones = values.reduce(UInt128(0), |)
        let zeros = values.reduce(UInt128(0)) { $0 | ~$1 } & ((UInt128(1) << 80) - 1)
        XCTAssertEqual(ones, (UInt128(1) << 80) - 1)
        XCTAssertEqual(zeros, (UInt128(1) << 80) - 1)
    }
}
