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
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\u{01}\"", "\"\\ud800\\u12\"", "tru", "{} x", String(repeating: "[", count: 600)] {
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
    }

    /// RFC 8259's grammar allows an escaped surrogate without its other half, and JavaScript writes
    /// one for an emoji cut in two: such a body is JSON, and the half stands for U+FFFD.
    func testLoneSurrogateEscapesAreReplacementCharacters() throws {
        let cases: [(String, String)] = [
            (#""\ud83d""#, "\u{FFFD}"), (#""\ude00""#, "\u{FFFD}"), (#""a\ud83db""#, "a\u{FFFD}b"),
            (#""\ud83d\u0041""#, "\u{FFFD}A"), (#""\ud83d\ud83d\ude00""#, "\u{FFFD}😀"), (#""\ude00\ud83d""#, "\u{FFFD}\u{FFFD}"),
            (#""\ud83d\n""#, "\u{FFFD}\n"), (#""\uD83D\uDE00""#, "😀"),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try JSONParser.parse(text).stringValue, expected, text)
            XCTAssertEqual(try JSONParser.parse(Array(#"{"id":\#(text)}"#.utf8), keepingPaths: [["id"]])["id"]?.stringValue, expected, text)
            XCTAssertNoThrow(try JSONParser.parse(Array(#"{"skip":\#(text),"id":1}"#.utf8), keepingPaths: [["id"]]), text)
        }
        XCTAssertEqual(try JSONParser.parse(Array(#"{"\ud83d":1}"#.utf8), keepingPaths: [["\u{FFFD}"]])["\u{FFFD}"], .number(1))
    }

    /// RFC 8259 lets a parser ignore a byte order mark at the start; one anywhere else is not whitespace.
    func testLeadingByteOrderMarkIsSkipped() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        XCTAssertEqual(try JSONParser.parse(bom + Array(#"{"id":"a"}"#.utf8))["id"], "a")
        XCTAssertEqual(try JSONParser.parse(bom + Array(#" {"id":"a","x":[1]}"#.utf8), keepingPaths: [["id"]])["id"], "a")
        for bad in [bom, bom + bom + Array("{}".utf8), Array("{}".utf8) + bom, Array(" ".utf8) + bom + Array("{}".utf8)] {
            XCTAssertThrowsError(try JSONParser.parse(bad), "\(bad)")
            XCTAssertThrowsError(try JSONParser.parse(bad, keepingPaths: [["id"]]), "\(bad)")
        }
    }

    func testScalarText() throws {
        let value = try JSONParser.parse(#"{"n": 42, "s": "evt_1"}"#)
        XCTAssertEqual(value["n"]?.scalarText, "42")
        XCTAssertEqual(value["s"]?.scalarText, "evt_1")
    }

    /// The webhook path's parse: only the named members are built, the rest is still checked.
    func testPrunedParseKeepsOnlyTheNamedPaths() throws {
        let text = #"{"id":"evt_1","skip":{"deep":[1,{"x":"\u00e9"},null,true,-2.5e3]},"type":"a.b","data":{"object":{"id":7,"other":"y"}},"id":"second"}"#
        let pruned = try JSONParser.parse(Array(text.utf8), keepingPaths: [["id"], ["type"], ["data", "object", "id"], ["missing"]])
        XCTAssertEqual(pruned, .object([("id", "evt_1"), ("type", "a.b"), ("data", .object([("object", .object([("id", 7)]))]))]))
        let full = try JSONParser.parse(text)
        for path in [["id"], ["type"], ["data", "object", "id"]] {
            XCTAssertEqual(pruned.value(atPath: path.map { Substring($0) }), full.value(atPath: path.map { Substring($0) }))
        }
    }

    func testPrunedParseRejectsWhatTheFullParseRejects() {
        for bad in ["", "{", #"{"id":"a","x":[1,]}"#, #"{"x":{"a" 1},"id":"a"}"#, #"{"x":01}"#, #"{"x":"\u{01}"}"#,
                    #"{"x":"\ud800\u12"}"#, #"{"x":tru}"#, #"{"id":"a"} x"#, #"{"x":"\q"}"#] {
            XCTAssertThrowsError(try JSONParser.parse(Array(bad.utf8), keepingPaths: [["id"]]), bad)
            XCTAssertThrowsError(try JSONParser.parse(bad), bad)
        }
        let invalidUTF8: [UInt8] = Array(#"{"x":""#.utf8) + [0xFF] + Array(#"","id":"a"}"#.utf8)
        XCTAssertThrowsError(try JSONParser.parse(invalidUTF8, keepingPaths: [["id"]]))
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        XCTAssertThrowsError(try JSONParser.parse(Array(#"{"x":\#(deep)}"#.utf8), keepingPaths: [["id"]]))
    }

    /// Ids and keys come from a number's text: past 2^53 a `Double` merges neighbours.
    func testNumbersKeepTheirTextForIDsAndKeys() throws {
        let value = try JSONParser.parse(Array(#"{"a": 123456789012345671, "b": 123456789012345672, "c": -2.5e3, "d": 7}"#.utf8))
        XCTAssertEqual(value["a"]?.scalarText, "123456789012345671")
        XCTAssertEqual(value["b"]?.scalarText, "123456789012345672")
        XCTAssertEqual(value["c"]?.scalarText, "-2.5e3")
        XCTAssertEqual(value["c"], .number(-2500), "numbers still compare by value")
        XCTAssertEqual(value.serialized(), #"{"a":123456789012345671,"b":123456789012345672,"c":-2.5e3,"d":7}"#)
    }

    /// A valid number past a `Double`'s range is still a number (valid JSON has no range): its value
    /// rounds to ±infinity or 0, and its text is what is written back.
    func testNumbersPastADoublesRangeParseAndKeepTheirText() throws {
        let text = "[1e400,-1E+400,1e-400,-1e-400,1" + String(repeating: "0", count: 400) + "]"
        let value = try JSONParser.parse(text)
        guard case let .array(items) = value else { return XCTFail(value.serialized()) }
        XCTAssertEqual(items.map { if case let .number(n) = $0 { n.value } else { .nan } }, [.infinity, -.infinity, 0, 0, .infinity])
        XCTAssertEqual(value.serialized(), text)
        XCTAssertEqual(try JSONParser.parse(Array(#"{"id":1e400,"x":-1e-400}"#.utf8), keepingPaths: [["id"]])["id"]?.scalarText, "1e400")
    }
}
