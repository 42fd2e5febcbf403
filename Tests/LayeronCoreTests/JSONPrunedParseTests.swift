import LayeronCore
import XCTest

/// The pruned parse (`parse(_:keepingPaths:)`) steps over most of a webhook body with its own
/// scanners; these check that it accepts and rejects exactly what the full parse does and that
/// the kept members equal the full tree's.
final class JSONPrunedParseTests: XCTestCase {
    private let paths = [["id"], ["type"], ["data", "object", "id"]]

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    private func lookup(_ value: JSONValue?, _ path: [String]) -> JSONValue? {
        path.reduce(value) { $0?[$1] }
    }

    /// Both parses accept `data` or both reject it; when they accept, every kept path reads the same.
    private func assertAgree(_ data: [UInt8], paths: [[String]]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        let paths = paths ?? self.paths
        let full = try? JSONParser.parse(data)
        let pruned = try? JSONParser.parse(data, keepingPaths: paths)
        XCTAssertEqual(full == nil, pruned == nil, "accepts \(data)", file: file, line: line)
        for path in paths {
            XCTAssertEqual(lookup(full, path), lookup(pruned, path), "\(path) of \(data)", file: file, line: line)
        }
    }

    func testUTF8IsCheckedAsStringValidatingChecksIt() {
        let probes: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF]
        var sequences: [[UInt8]] = (0x80...0xFF).map { [UInt8($0)] }
        for lead in 0xC0...0xFF {
            for second in probes {
                sequences.append([UInt8(lead), second])
                guard lead >= 0xE0 else { continue }
                for third in probes {
                    sequences.append([UInt8(lead), second, third])
                    guard lead >= 0xF0 else { continue }
                    for fourth in probes { sequences.append([UInt8(lead), second, third, fourth]) }
                }
            }
        }
        for sequence in sequences {
            let valid = String(validating: sequence, as: UTF8.self) != nil
            let skipped = bytes(#"{"skip":""#) + sequence + bytes(#"","id":"a"}"#)
            let kept = bytes(#"{"id":""#) + sequence + bytes(#""}"#)
            XCTAssertEqual((try? JSONParser.parse(skipped, keepingPaths: paths)) != nil, valid, "skipped \(sequence)")
            XCTAssertEqual((try? JSONParser.parse(kept, keepingPaths: paths)) != nil, valid, "kept \(sequence)")
            XCTAssertEqual((try? JSONParser.parse(kept)) != nil, valid, "full \(sequence)")
            if valid {
                XCTAssertEqual(try? JSONParser.parse(kept, keepingPaths: paths)["id"]?.stringValue,
                               String(decoding: sequence, as: UTF8.self))
            }
        }
    }

    func testEscapesInValuesAndKeys() throws {
        let text = #"{"skip":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","d\u0061ta":{"object":{"\u0069d":"x\u0022y"}},"id":"a\nb\u20ac"}"#
        let pruned = try JSONParser.parse(bytes(text), keepingPaths: paths)
        XCTAssertEqual(pruned["id"]?.stringValue, "a\nb€")
        XCTAssertEqual(lookup(pruned, ["data", "object", "id"])?.stringValue, "x\"y")
        assertAgree(bytes(text))
        for bad in [#"\x"#, #"\u12"#, #"\u12g4"#, #"\ud800\u12"#, #"\ud800\udc0g"#, #"\udc00\x"#, #"\"#, #"\U0041"#] {
            assertAgree(bytes(#"{"skip":""# + bad + #"","id":"a"}"#))
            assertAgree(bytes(#"{"id":""# + bad + #""}"#))
            XCTAssertThrowsError(try JSONParser.parse(bytes(#"{"skip":""# + bad + #"","id":"a"}"#), keepingPaths: paths), bad)
        }
    }

    func testUnicodeKeysMatchRawAndEscaped() throws {
        for text in [#"{"café":{"ü":1}}"#, #"{"caf\u00e9":{"\u00fc":1}}"#, #"{"caf\u00E9":{"ü":1}}"#] {
            let pruned = try JSONParser.parse(bytes(text), keepingPaths: [["café", "ü"]])
            XCTAssertEqual(lookup(pruned, ["café", "ü"]), .number(1), text)
        }
        // Keys compare as `String ==` does: a decomposed é is the same key, as in the full tree.
        let decomposed = try JSONParser.parse(bytes("{\"cafe\u{301}\":1}"), keepingPaths: [["café"]])
        XCTAssertEqual(decomposed["café"], .number(1))
        assertAgree(bytes("{\"cafe\u{301}\":1,\"caf\\u00e9\":2}"), paths: [["café"]])
        // U+212A KELVIN SIGN is canonically "K": an ASCII key may equal a key written beyond ASCII.
        assertAgree(bytes(#"{"K":1}"#), paths: [["\u{212A}"]])
        XCTAssertEqual(try JSONParser.parse(bytes(#"{"K":1}"#), keepingPaths: [["\u{212A}"]])["K"], .number(1))
    }

    func testFirstOfRepeatedKeysWinsAsInTheFullTree() throws {
        assertAgree(bytes(#"{"id":"a","id":"b"}"#))
        assertAgree(bytes(#"{"data":"x","data":{"object":{"id":"y"}}}"#))
        assertAgree(bytes(#"{"data":{"object":{"id":"y"}},"data":{"object":{"id":"z"}}}"#))
        assertAgree(bytes(#"{"data":{"object":{"other":1}},"data":{"object":{"id":"z"}}}"#))
        let pruned = try JSONParser.parse(bytes(#"{"data":"x","data":{"object":{"id":"y"}}}"#), keepingPaths: paths)
        XCTAssertNil(lookup(pruned, ["data", "object", "id"]))
    }

    func testNumbers() throws {
        for good in ["0", "-0", "7", "-12", "1.5", "1E+2", "1e-2", "123.456e-7", "-0.0e0"] {
            assertAgree(bytes(#"{"skip":\#(good),"id":\#(good)}"#))
            XCTAssertNoThrow(try JSONParser.parse(bytes(#"{"skip":\#(good)}"#), keepingPaths: paths), good)
        }
        for bad in ["-", "+1", "01", "-01", ".5", "1.", "1.e5", "1e", "1e+", "0x1", "1.5.2", "--1", "Infinity", "NaN"] {
            XCTAssertThrowsError(try JSONParser.parse(bytes(#"{"skip":\#(bad),"id":"a"}"#), keepingPaths: paths), bad)
            assertAgree(bytes(#"{"id":\#(bad)}"#))
        }
        XCTAssertEqual(try JSONParser.parse(bytes(#"{"id":-2.5e3}"#), keepingPaths: paths)["id"], .number(-2500))
    }

    func testEveryTruncationIsRejected() {
        let text = bytes(#"{"id":"evt_1","n":-1.5e3,"ok":true,"no":false,"x":null,"a":[1,{"é":"\u00e9"}],"data":{"object":{"id":"in_1"}}}"#)
        XCTAssertNoThrow(try JSONParser.parse(text, keepingPaths: paths))
        for end in 0..<text.count {
            XCTAssertThrowsError(try JSONParser.parse(Array(text[..<end]), keepingPaths: paths), "\(end) bytes")
            XCTAssertThrowsError(try JSONParser.parse(Array(text[..<end])), "\(end) bytes")
        }
    }

    func testWhitespace() throws {
        let spaced = " \t\r\n{ \n\"id\" \t: \r\"a\" ,\n\"data\"\t:{\"object\" :{ \"id\": 1 } } \n}\r\n "
        assertAgree(bytes(spaced))
        XCTAssertEqual(try JSONParser.parse(bytes(spaced), keepingPaths: paths)["id"], "a")
        for notWhitespace in ["\u{0B}", "\u{0C}", "\u{A0}", "\u{2028}", "\u{FEFF}"] {
            XCTAssertThrowsError(try JSONParser.parse(bytes("{\"skip\":1,\(notWhitespace)\"id\":\"a\"}"), keepingPaths: paths))
            assertAgree(bytes("{\"id\":\"a\"\(notWhitespace)}"))
        }
    }

    func testNestingLimitIsTheFullParsesLimit() {
        for depth in [510, 511, 512, 513] {
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let objects = String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth)
            for inner in [nested, objects] {
                assertAgree(bytes(#"{"skip":\#(inner),"id":"a"}"#))
                assertAgree(bytes(#"{"id":\#(inner)}"#))
            }
        }
        XCTAssertThrowsError(try JSONParser.parse(bytes(#"{"skip":\#(String(repeating: "[", count: 512))"#), keepingPaths: paths))
    }

    func testShapesOfSelection() throws {
        let text = bytes(#"{"id":"a","data":{"object":{"id":2}}}"#)
        XCTAssertEqual(try JSONParser.parse(text, keepingPaths: []), .null)
        XCTAssertEqual(try JSONParser.parse(text, keepingPaths: [[]]), try JSONParser.parse(text))
        XCTAssertEqual(try JSONParser.parse(bytes("[1]"), keepingPaths: paths), .null)
        XCTAssertEqual(try JSONParser.parse(text, keepingPaths: [["data"], ["data", "object", "id"]])["data"],
                       try JSONParser.parse(text)["data"])
        let many = (0..<70).map { ["k\($0)"] } + paths
        assertAgree(text, paths: many)
    }

    /// Random damage to a realistic body: both parses must agree on every variant.
    func testMutatedDocumentsAgreeWithTheFullParse() {
        let original = bytes(#"{"id":"evt_1","object":"event","created":1719792000,"livemode":false,"data":{"object":{"id":"in_1","lines":{"data":[{"amount":4200,"description":"1 × Pro \u00e9"}],"has_more":false},"metadata":{}}},"type":"invoice.paid","request":{"id":null}}"#)
        let alphabet = bytes(#"{}[]:,"\ u0aeE.-+1tfn"#) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        for _ in 0..<3000 {
            var data = original
            for _ in 0..<(1 + next(3)) {
                let at = next(data.count)
                switch next(3) {
                case 0: data[at] = alphabet[next(alphabet.count)]
                case 1: data.remove(at: at)
                default: data.insert(alphabet[next(alphabet.count)], at: at)
                }
            }
            assertAgree(data)
        }
    }
}
