import Foundation
@testable import LayeronCrypto
import XCTest

/// `HMAC.authenticate` keeps keyed contexts per thread and (algorithm, key) and re-initialises them
/// per message; these
/// check the results against published vectors (RFC 4231 and RFC 2202, test case 2 and the
/// larger-than-block key) and that reuse, many keys and many threads do not mix keys up.
final class HMACTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { ByteEncoding.hex.encode(bytes) }
    private let jefe = Array("Jefe".utf8)
    private let question = Array("what do ya want for nothing?".utf8)

    func testPublishedVectors() {
        XCTAssertEqual(hex(HMAC.authenticate(.sha256, key: jefe, message: question)),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(HMAC.authenticate(.sha1, key: jefe, message: question)),
                       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        XCTAssertEqual(hex(HMAC.authenticate(.sha512, key: jefe, message: question)),
                       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")
        XCTAssertEqual(hex(HMAC.authenticate(.sha256, key: Array(repeating: 0xAA, count: 131),
                                             message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testEmptyKeyAndMessage() {
        XCTAssertEqual(hex(HMAC.authenticate(.sha256, key: [], message: [])),
                       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    /// The same key again gives the same MAC (re-initialising restores the keyed state), and the
    /// same key under another algorithm is another context.
    func testReuseDoesNotCarryState() {
        let first = HMAC.authenticate(.sha256, key: jefe, message: question)
        _ = HMAC.authenticate(.sha256, key: jefe, message: Array("something else".utf8))
        XCTAssertEqual(HMAC.authenticate(.sha256, key: jefe, message: question), first)
        XCTAssertEqual(HMAC.authenticate(.sha1, key: jefe, message: question).count, 20)
    }

    /// More keys than the cache holds, then the first again: it starts over and stays right.
    func testMoreKeysThanTheCacheHolds() {
        let expected = HMAC.authenticate(.sha256, key: jefe, message: question)
        var macs = Set<[UInt8]>()
        for i in 0..<200 { macs.insert(HMAC.authenticate(.sha256, key: Array("key-\(i)".utf8), message: question)) }
        XCTAssertEqual(macs.count, 200)
        XCTAssertEqual(HMAC.authenticate(.sha256, key: jefe, message: question), expected)
    }

    /// A message fed in parts (strings, byte arrays, empty parts) has the MAC of the whole.
    func testPartsFedOneByOneMatchTheWholeMessage() {
        let whole = HMAC.authenticate(.sha256, key: jefe, message: question)
        let parts = HMAC.authenticate(.sha256, key: jefe) { input in
            input.update("what do ya")
            input.update([UInt8]())
            input.update(Array(" want for ".utf8))
            input.update("nothing?")
        }
        XCTAssertEqual(parts, whole)
    }

    /// A MAC computed inside another's feed, on the same thread and with the same key, takes the
    /// one-shot path instead of the lent context; both stay right.
    func testNestedCallOnOneThread() {
        let expected = HMAC.authenticate(.sha256, key: jefe, message: question)
        var inner: [UInt8] = []
        let outer = HMAC.authenticate(.sha256, key: jefe) { input in
            input.update("what do ya want ")
            inner = HMAC.authenticate(.sha256, key: jefe, message: question)
            input.update("for nothing?")
        }
        XCTAssertEqual(outer, expected)
        XCTAssertEqual(inner, expected)
    }

    func testConcurrentCallersWithSharedAndOwnKeys() {
        let expected = HMAC.authenticate(.sha256, key: jefe, message: question)
        let own = (0..<8).map { HMAC.authenticate(.sha256, key: Array("thread-\($0)".utf8), message: question) }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<2_000 {
                let key = i % 2 == 0 ? Array("Jefe".utf8) : Array("thread-\(thread)".utf8)
                let mac = HMAC.authenticate(.sha256, key: key, message: Array("what do ya want for nothing?".utf8))
                if mac != (i % 2 == 0 ? expected : own[thread]) { failures.add() }
            }
        }
        XCTAssertEqual(failures.count, 0)
    }

    /// After `forgetKeys` (the server calls it when it installs new secrets) a thread keeps no
    /// context of a key it used before: only the key it uses next.
    func testForgetKeysDropsEveryThreadsContextsAtItsNextMAC() {
        let done = DispatchSemaphore(value: 0)
        let kept = KeptKeys()
        let (jefe, question) = (jefe, question)
        Thread {
            _ = HMAC.authenticate(.sha256, key: Array("old secret one".utf8), message: question)
            _ = HMAC.authenticate(.sha256, key: Array("old secret two".utf8), message: question)
            kept.before = HMACThreadContexts.current.keptKeys
            HMAC.forgetKeys()
            kept.mac = HMAC.authenticate(.sha256, key: jefe, message: question)
            kept.after = HMACThreadContexts.current.keptKeys
            done.signal()
        }.start()
        done.wait()
        XCTAssertEqual(kept.before, 2)
        XCTAssertEqual(kept.after, 1)
        XCTAssertEqual(hex(kept.mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}

private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var count: Int { lock.withLock { value } }
    func add() { lock.withLock { value += 1 } }
}

/// What the test's thread saw, read after it signalled.
private final class KeptKeys: @unchecked Sendable {
    var before = 0
    var after = 0
    var mac: [UInt8] = []
}
