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
}
