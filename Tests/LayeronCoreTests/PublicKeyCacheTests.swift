import LayeronCrypto
import XCTest

final class PublicKeyCacheTests: XCTestCase {
    /// RFC 8032's first Ed25519 test key, in hex as Discord shows keys.
    let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

    func testAKeyHeldAsTextIsParsedOncePerValue() throws {
        let first = try PublicKey.cached(text: key, expected: .ed25519)
        let second = try PublicKey.cached(text: key, expected: .ed25519)
        XCTAssertTrue(first === second)
        XCTAssertThrowsError(try PublicKey.cached(text: "not a key", expected: .ed25519))
        XCTAssertThrowsError(try PublicKey.cached(text: key, expected: .rsa))
    }
}
