import LayeronCore
import XCTest

/// JSON text as the store and the admin API write it.
final class JSONWriterTests: XCTestCase {
    func testStringsEscapeQuotesBackslashesAndControlCharactersOnly() {
        let value = JSONValue.string("a\"b\\c\n\r\t\u{0}\u{8}\u{C}\u{1F} \u{7F}é😀/")
        XCTAssertEqual(value.serialized(), #""a\"b\\c\n\r\t\u0000\u0008\u000c\u001f "# + "\u{7F}é😀/\"")
        XCTAssertEqual(try JSONParser.parse(value.serialized()), value)
        var bytes: [UInt8] = []
        JSONValue.writeString("x\"y", into: &bytes)
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #""x\"y""#)
    }

    func testEveryControlCharacterRoundTrips() throws {
        let text = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        XCTAssertEqual(try JSONParser.parse(JSONValue.string(text).serialized()), .string(text))
    }

    /// Every special byte at every position of strings longer than a scanned word, so that escapes
    /// before, across and after the eight-byte steps are all written, and the length reserved first
    /// is exactly the length written.
    func testEscapesAtEveryPositionOfLongStrings() throws {
        for special in ["\"", "\\", "\n", "\u{1}", "é", "😀"] {
            for length in [1, 7, 8, 9, 17, 33] {
                for position in 0..<length {
                    let text = String(repeating: "a", count: position) + special + String(repeating: "b", count: length - position - 1)
                    var bytes: [UInt8] = []
                    JSONValue.writeString(text, into: &bytes)
                    XCTAssertEqual(bytes.count, JSONValue.quotedLength(text))
                    XCTAssertEqual(try JSONParser.parse(String(decoding: bytes, as: UTF8.self)), .string(text))
                }
            }
        }
    }
}
