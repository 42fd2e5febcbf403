import LayeronCrypto
import XCTest

final class ByteEncodingTests: XCTestCase {
    func testHexDecodesBothCasesAndRoundTrips() {
        XCTAssertEqual(ByteEncoding.hex.decode("00ff10Ab"[...]), [0x00, 0xFF, 0x10, 0xAB])
        XCTAssertEqual(ByteEncoding.hex.decode(""[...]), [])
        let bytes = (0...255).map { UInt8($0) }
        XCTAssertEqual(ByteEncoding.hex.decode(ByteEncoding.hex.encode(bytes)[...]), bytes)
    }

    func testHexRefusesWhatIsNotHex() {
        for text in ["abc", "0g", "g0", "0x12", "12 4", "ab\u{e9}f", "/0", ":0", "@0", "`0", "G0"] {
            XCTAssertNil(ByteEncoding.hex.decode(text[...]), text)
        }
    }

    /// Go's RawStdEncoding leaves the padding out; base64url already took both forms.
    func testBase64TakesMissingPaddingButNotInvalidText() {
        XCTAssertEqual(ByteEncoding.base64.decode("YQ"[...]), [0x61])
        XCTAssertEqual(ByteEncoding.base64.decode("YWI"[...]), [0x61, 0x62])
        XCTAssertEqual(ByteEncoding.base64.decode("YWI="[...]), [0x61, 0x62])
        for text in ["Y", "YWI=a", "Y=", "YQ=", "Y*Q", "YW I"] {
            XCTAssertNil(ByteEncoding.base64.decode(text[...]), text)
        }
    }
}
