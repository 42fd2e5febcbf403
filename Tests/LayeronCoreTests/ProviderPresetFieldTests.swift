import LayeronCore
import XCTest

/// Where presets read an event's id and dedupe key, for the cases the providers' own documentation
/// settles (checked in `docs/signatures.md`).
final class ProviderPresetFieldTests: XCTestCase {
    private func webhook(_ provider: String) throws -> WebhookConfig {
        let text = #"{"webhooks": [{"name": "w", "provider": "\#(provider)", "path": "/w", "secret": {"secret": "S"}}]}"#
        return try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first)
    }

    /// Header names lowercased, as the HTTP front stores them.
    private func request(_ headers: [(name: String, value: String)]) -> InboundRequest {
        InboundRequest(method: "POST", path: "/w", headers: headers, body: Array(#"{"object_kind": "push"}"#.utf8))
    }

    /// GitLab gives every retry a new X-Gitlab-Event-UUID; only Idempotency-Key (GitLab 17.4+) repeats,
    /// so two attempts of one event must fold into one dedupe key.
    func testGitLabRetriesShareTheIdempotencyKeyNotTheEventUUID() throws {
        let gitlab = try webhook("gitlab")
        let first = EventFields.extract(from: request([("x-gitlab-event-uuid", "uuid-1"), ("idempotency-key", "key-1")]), webhook: gitlab)
        let retry = EventFields.extract(from: request([("x-gitlab-event-uuid", "uuid-2"), ("idempotency-key", "key-1")]), webhook: gitlab)
        XCTAssertEqual(first.dedupeKey, "key-1")
        XCTAssertEqual(retry.dedupeKey, first.dedupeKey)
        XCTAssertNotEqual(retry.providerEventID, first.providerEventID)
        XCTAssertEqual(first.type, "push")
    }

    /// GitLab before 17.4 sends no Idempotency-Key: such events are recorded without a dedupe key
    /// rather than folded together.
    func testGitLabWithoutIdempotencyKeyIsNotDeduplicated() throws {
        let fields = EventFields.extract(from: request([("x-gitlab-event-uuid", "uuid-1")]), webhook: try webhook("gitlab"))
        XCTAssertNil(fields.dedupeKey)
        XCTAssertEqual(fields.providerEventID, "uuid-1")
    }

    /// One value the strict parse used to refuse, anywhere in a signed body, took every field with it:
    /// the event was recorded without type, id or dedupe key. A lone surrogate escape and a leading
    /// byte order mark are JSON; what still is not says why in `bodyError`.
    func testBodyFieldsSurviveLoneSurrogatesAndAByteOrderMark() throws {
        let stripe = try webhook("stripe")
        func fields(_ body: [UInt8]) -> EventFields {
            EventFields.extract(from: InboundRequest(method: "POST", path: "/w", headers: [], body: body), webhook: stripe)
        }
        let event = EventFields(providerEventID: "evt_1", type: "a.b", dedupeKey: "evt_1")
        XCTAssertEqual(fields(Array(#"{"id":"evt_1","type":"a.b","note":"\ud83d"}"#.utf8)), event)
        XCTAssertEqual(fields([0xEF, 0xBB, 0xBF] + Array(#"{"id":"evt_1","type":"a.b"}"#.utf8)), event)

        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        let notJSON = fields(Array(#"{"id":"evt_1","type":"a.b","x":\#(deep)}"#.utf8))
        XCTAssertEqual(notJSON.type, "")
        XCTAssertNil(notJSON.dedupeKey)
        XCTAssertEqual(notJSON.bodyError?.reason, "nested deeper than 512 levels")
        XCTAssertNil(fields(Array(#"{"id":"evt_1"}"#.utf8)).bodyError)
    }

    /// Postmark sends one Delivery per recipient and one Click per recipient and link, all with the
    /// message's MessageID: a key built on it answered the second as a duplicate and lost it. Only
    /// Bounce and SpamComplaint carry an id of their own.
    func testPostmarkEventsOfOneMessageAreNotFoldedTogether() throws {
        let postmark = try webhook("postmark")
        func key(_ body: String) -> String? {
            EventFields.extract(from: InboundRequest(method: "POST", path: "/w", headers: [], body: Array(body.utf8)), webhook: postmark).dedupeKey
        }
        let message = #""MessageID": "883953f4-6105-42a2-a16a-77a8eac79483""#
        XCTAssertNil(key(#"{"RecordType": "Delivery", \#(message), "Recipient": "sally@example.com"}"#))
        XCTAssertNil(key(#"{"RecordType": "Click", \#(message), "Recipient": "bob@example.com", "OriginalLink": "https://example.com/a"}"#))
        XCTAssertEqual(key(#"{"RecordType": "Bounce", "ID": 4323372036854775807, \#(message), "Email": "zaphod@example.com"}"#),
                       "Bounce:4323372036854775807")
    }

    /// Zoom gives distinct events of one type the same `event_ts` (two participants joining in one
    /// millisecond) and sends no delivery id: no default key, so neither is lost.
    func testZoomEventsSharingAMillisecondAreNotFoldedTogether() throws {
        let zoom = try webhook("zoom")
        for participant in ["alice", "bob"] {
            let body = #"{"event": "meeting.participant_joined", "event_ts": 1700000000000, "payload": {"object": {"participant": {"user_name": "\#(participant)"}}}}"#
            let fields = EventFields.extract(from: InboundRequest(method: "POST", path: "/w", headers: [], body: Array(body.utf8)), webhook: zoom)
            XCTAssertNil(fields.dedupeKey)
            XCTAssertEqual(fields.type, "meeting.participant_joined")
        }
        XCTAssertNil(zoom.dedupe)
    }

    /// RFC 9110 does not count the spaces and tabs that end a header line as part of its value:
    /// `x-id: H1␠␠` is the id `H1` for the dedupe key and `a.b\t` the type `a.b`.
    func testHeaderFieldsDropTrailingWhitespace() throws {
        let text = #"{"webhooks": [{"name": "w", "provider": "custom", "path": "/w", "event": {"id": "header.x-id", "type": "header.x-type"},"#
            + #" "dedupe": {"key": "{header.x-shop}:{header.x-id}"}, "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}}]}"#
        let webhook = try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first)
        let fields = EventFields.extract(from: request([("x-id", "H1  "), ("x-type", "a.b\t"), ("x-shop", "s \t ")]), webhook: webhook)
        XCTAssertEqual(fields, EventFields(providerEventID: "H1", type: "a.b", dedupeKey: "s:H1"))
        XCTAssertNil(EventFields.extract(from: request([("x-id", " \t"), ("x-shop", "s")]), webhook: webhook).dedupeKey)
    }
}
