import LayeronCore
import XCTest

/// Dedupe keys built from templates: distinct values never share a key, and the keys of values
/// without a separator or `\` are those stored before escaping existed.
final class DedupeKeyTemplateTests: XCTestCase {
    private func key(_ template: String, _ headers: [(name: String, value: String)], body: String = "{}") throws -> String? {
        let request = InboundRequest(method: "POST", path: "/w", headers: headers, body: Array(body.utf8))
        return try DedupeKeyTemplate(parsing: template).key(in: request, body: try JSONParser.parse(request.body))
    }

    func testPartsHoldingTheSeparatorNoLongerCollide() throws {
        let first = try key("{header.x-a}:{header.x-b}", [("x-a", "a:b"), ("x-b", "x")])
        let second = try key("{header.x-a}:{header.x-b}", [("x-a", "a"), ("x-b", "b:x")])
        XCTAssertEqual(first, #"a\:b:x"#)
        XCTAssertEqual(second, "a:b:x")
        XCTAssertNotEqual(first, second)
    }

    func testTheEscapeCharacterIsEscapedToo() throws {
        // Unescaped, `a\` + `:x` and `a\:` + `x` would both be `a\\::x` once their separators were escaped.
        let first = try key("{header.x-a}:{header.x-b}", [("x-a", #"a\"#), ("x-b", ":x")])
        let second = try key("{header.x-a}:{header.x-b}", [("x-a", #"a\:"#), ("x-b", "x")])
        XCTAssertEqual(first, #"a\\::x"#)
        XCTAssertEqual(second, #"a\\\::x"#)
    }

    /// Keys stored before an upgrade must still match: plain values, and the last field whatever it
    /// holds (Calendly's `{body.event}:{body.payload.uri}` ends with a URL full of `:`).
    func testKeysWithoutSeparatorOrEscapeAreUnchanged() throws {
        XCTAssertEqual(try key("{header.x-shop}:{body.id}", [("x-shop", "shop-1")], body: #"{"id": "evt_1"}"#), "shop-1:evt_1")
        XCTAssertEqual(try key("{body.event}:{body.payload.uri}", [], body: #"{"event": "invitee.created", "payload": {"uri": "https://api.calendly.com/x"}}"#),
                       "invitee.created:https://api.calendly.com/x")
        XCTAssertEqual(try key("body.id", [], body: #"{"id": "a:b\\c"}"#), #"a:b\c"#)
        XCTAssertEqual(try key("id-{body.id}!", [], body: #"{"id": "a:b"}"#), "id-a:b!")
    }

    /// Each field escapes the first character of the separator after it, so a longer separator and
    /// different separators in one template also keep values apart.
    func testEachFieldEscapesItsOwnSeparator() throws {
        let template = "{header.x-a}::{header.x-b}/{header.x-c}"
        XCTAssertEqual(try key(template, [("x-a", "a/1"), ("x-b", "b:2"), ("x-c", "c:/")]), #"a/1::b:2/c:/"#)
        let first = try key(template, [("x-a", "a:"), ("x-b", "b"), ("x-c", "c")])
        let second = try key(template, [("x-a", "a"), ("x-b", ":b"), ("x-c", "c")])
        XCTAssertEqual(first, #"a\:::b/c"#)
        XCTAssertEqual(second, "a:::b/c")
    }

    func testTemplatesThatCannotKeepValuesApartAreRefused() {
        XCTAssertThrowsError(try DedupeKeyTemplate(parsing: "{header.x-a}{body.id}")) { error in
            XCTAssertEqual(error as? DedupeKeyTemplate.ParseError, .adjacentFields("{header.x-a}{body.id}"))
        }
        XCTAssertThrowsError(try DedupeKeyTemplate(parsing: #"{header.x-a}\{body.id}"#)) { error in
            XCTAssertEqual(error as? DedupeKeyTemplate.ParseError, .separatorBeginsWithEscape(#"{header.x-a}\{body.id}"#))
        }
        // A `\` elsewhere is only text: no value is escaped against it.
        XCTAssertNoThrow(try DedupeKeyTemplate(parsing: #"{header.x-a}:\{body.id}"#))
    }

    func testConfigNamesTheTemplateAndWhatToWrite() {
        let text = #"{"webhooks": [{"name": "w", "provider": "stripe", "secret": {"secret": "S"}, "dedupe": {"key": "{header.x-a}{body.id}"}}]}"#
        XCTAssertThrowsError(try ConfigLoader.load(text: Array(text.utf8), file: "t.json")) { error in
            XCTAssertTrue("\(error)".contains(#"t.json: webhooks[0].dedupe.key: "{header.x-a}{body.id}" has two fields with nothing between them"#), "\(error)")
        }
    }
}
