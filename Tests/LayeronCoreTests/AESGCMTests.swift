import LayeronCore
import LayeronCrypto
import XCTest

final class AESGCMTests: XCTestCase {
    private let key = [UInt8](repeating: 7, count: 32)
    private let binding = Array("layeron-secret\u{0}STRIPE_WEBHOOK_SECRET\u{0}production\u{0}1".utf8)

    /// Test cases 13 and 14 of McGrew and Viega's GCM specification (AES-256, zero key and nonce).
    func testKnownAnswers() throws {
        let zeroKey = [UInt8](repeating: 0, count: 32), zeroNonce = [UInt8](repeating: 0, count: 12)
        let empty = try AESGCM.seal([], key: zeroKey, nonce: zeroNonce, associatedData: [])
        XCTAssertEqual(ByteEncoding.hex.encode(Array(empty.dropFirst(12))), "530f8afbc74536b9a963b4f1c4cb738b")
        let block = try AESGCM.seal([UInt8](repeating: 0, count: 16), key: zeroKey, nonce: zeroNonce, associatedData: [])
        XCTAssertEqual(ByteEncoding.hex.encode(Array(block.dropFirst(12))),
                       "cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919")
        XCTAssertEqual(try AESGCM.open(block, key: zeroKey, associatedData: []), [UInt8](repeating: 0, count: 16))
    }

    func testRoundTripUsesAFreshNonceEachTime() throws {
        let plaintext = Array("whsec_round_trip".utf8)
        let a = try AESGCM.seal(plaintext, key: key, associatedData: binding)
        let b = try AESGCM.seal(plaintext, key: key, associatedData: binding)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.count, 12 + plaintext.count + 16)
        XCTAssertEqual(try AESGCM.open(a, key: key, associatedData: binding), plaintext)
        XCTAssertEqual(try AESGCM.open(b, key: key, associatedData: binding), plaintext)
    }

    func testAnyChangeRefusesToOpen() throws {
        let sealed = try AESGCM.seal(Array("whsec_tamper".utf8), key: key, associatedData: binding)
        for index in [0, 12, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 0x01
            XCTAssertThrowsError(try AESGCM.open(tampered, key: key, associatedData: binding), "byte \(index)")
        }
        XCTAssertThrowsError(try AESGCM.open(sealed, key: [UInt8](repeating: 8, count: 32), associatedData: binding))
        XCTAssertThrowsError(try AESGCM.open(sealed, key: key, associatedData: Array("layeron-secret\u{0}OTHER\u{0}production\u{0}1".utf8)))
        XCTAssertThrowsError(try AESGCM.open(Array(sealed.prefix(20)), key: key, associatedData: binding))
        XCTAssertThrowsError(try AESGCM.seal([1], key: [1, 2, 3], associatedData: []))
    }

    func testChainedResolverTakesAllValuesFromTheFirstThatKnowsTheName() {
        let store = FixedSecretResolver(["A": [SecretValue("new"), SecretValue("old")]])
        let environment = DictionarySecretResolver(["A": "from-env", "B": "env-only"])
        let chain = ChainedSecretResolver([store, environment])
        XCTAssertEqual(chain.resolveAll(SecretReference(name: "A")).map(\.text), ["new", "old"])
        XCTAssertEqual(chain.resolve(SecretReference(name: "A"))?.text, "new")
        XCTAssertEqual(chain.resolveAll(SecretReference(name: "B")).map(\.text), ["env-only"])
        XCTAssertEqual(chain.current().resolveAll(SecretReference(name: "C")), [])
        XCTAssertEqual("\(SecretValue("shh"))", "<redacted>")
    }
}
