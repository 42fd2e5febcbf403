import LayeronCore
import XCTest

/// A dedupe key is built from values as they arrived: a header that was not UTF-8 and a JSON string
/// with a lone surrogate both read as U+FFFD where their bytes were, so different events read alike
/// and the later ones were answered as duplicates and never recorded. Such a value now gives no key.
final class DedupeKeyReplacedBytesTests: XCTestCase {
    private func webhook(key: String) throws -> WebhookConfig {
        let text = #"{"webhooks": [{"name": "w", "provider": "custom", "path": "/w", "dedupe": {"key": "\#(key)"}, "#
            + #""signature": {"header": "x-sig", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}}]}"#
        return try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first)
    }

    /// What the HTTP front makes of `x-id` arriving as `bytes`: U+FFFD for what is not UTF-8, the bytes beside.
    private func request(xID bytes: [UInt8], body: String = "{}") -> InboundRequest {
        let text = String(decoding: bytes, as: UTF8.self)
        let invalid = String(validating: bytes, as: UTF8.self) == nil ? [0: bytes] : [:]
        return InboundRequest(method: "POST", path: "/w", headers: [("x-id", text)], invalidUTF8HeaderValues: invalid,
                              body: Array(body.utf8))
    }

    func testAHeaderThatWasNotUTF8GivesNoKey() throws {
        let hook = try webhook(key: "header.x-id")
        XCTAssertNil(EventFields.extract(from: request(xID: Array("caf".utf8) + [0xE9]), webhook: hook).dedupeKey)
        XCTAssertNil(EventFields.extract(from: request(xID: Array("caf".utf8) + [0xE8]), webhook: hook).dedupeKey)
        XCTAssertEqual(EventFields.extract(from: request(xID: Array("café".utf8)), webhook: hook).dedupeKey, "café")
        let template = try webhook(key: "{header.x-id}:{body.id}")
        XCTAssertNil(EventFields.extract(from: request(xID: [0x61, 0xFF], body: #"{"id":"1"}"#), webhook: template).dedupeKey)
        XCTAssertEqual(EventFields.extract(from: request(xID: [0x61], body: #"{"id":"1"}"#), webhook: template).dedupeKey, "a:1")
    }

    func testABodyStringWithALoneSurrogateGivesNoKey() throws {
        let hook = try webhook(key: "body.id")
        for id in [#"evt_\ud83d"#, #"evt_\ud83e"#, #"evt_\udc00"#, #"\ud83dx"#] {
            let fields = EventFields.extract(from: request(xID: [0x61], body: #"{"id":"\#(id)","type":"t"}"#), webhook: hook)
            XCTAssertNil(fields.dedupeKey, id)
            XCTAssertEqual(fields.type, "t")
        }
        // A pair is one scalar, and a real U+FFFD (escaped or not) is a value like any other.
        for (id, key) in [(#"evt_\ud83d\ude00"#, "evt_😀"), (#"evt_\ufffd"#, "evt_\u{FFFD}"), ("evt_\u{FFFD}", "evt_\u{FFFD}")] {
            XCTAssertEqual(EventFields.extract(from: request(xID: [0x61], body: #"{"id":"\#(id)"}"#), webhook: hook).dedupeKey, key, id)
        }
    }
}
