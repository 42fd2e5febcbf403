import LayeronCore
import XCTest

final class JSONParserTests: XCTestCase {
    func testRoundTrip() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null],"b":"x\"\\\n\u00e9\ud83d\ude00","c":{}}"#
        let value = try JSONParser.parse(text)
        XCTAssertEqual(value["b"]?.stringValue, "x\"\\\né😀")
        XCTAssertEqual(try JSONParser.parse(value.serialized()), value)
        XCTAssertEqual(value.value(atPath: ["a"]), .array([1, .number(2.5), .number(-300), true, false, nil]))
    }

    func testRejectsInvalidDocuments() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\u{01}\"", "\"\\ud800\"", "tru", "{} x", String(repeating: "[", count: 600)] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
    }

    func testScalarText() throws {
        let value = try JSONParser.parse(#"{"n": 42, "s": "evt_1"}"#)
        XCTAssertEqual(value["n"]?.scalarText, "42")
        XCTAssertEqual(value["s"]?.scalarText, "evt_1")
    }
}
