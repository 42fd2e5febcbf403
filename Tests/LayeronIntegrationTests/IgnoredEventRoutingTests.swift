import Foundation
import LayeronCore
import XCTest

/// An event recorded `ignored` (no handler took its type) that the operator then gives a handler: the
/// provider's retry of it, and a replay of it, run it through the handler the config has now. With
/// `"unhandled": "reject"` the 422 asks the provider to retry until the config is fixed; before, no
/// retry or replay could ever run such an event.
final class IgnoredEventRoutingTests: XCTestCase {
    let secret = "ignored-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try writeConfig(routingLate: false)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// `late` events are unhandled until `routingLate` routes them to `behaviours.ok`.
    private func writeConfig(routingLate: Bool) throws {
        let on = routingLate ? #""on": {"known": "behaviours.ok", "late": "behaviours.ok"}"# : #""on": {"known": "behaviours.ok"}"#
        let keyed = #""dedupe": {"key": "body.id", "ttl": "1h"}, "#
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#, webhooks: [
            ("strict", keyed + #""unhandled": "reject", "# + on),
            ("waiting", keyed + #""unhandled": "reject", "respond": "after-handler", "# + on),
            ("lenient", keyed + on),
        ])
    }

    private func addHandlerAndReload() throws {
        try writeConfig(routingLate: true)
        server.hangUp()
        XCTAssertTrue(server.waitUntil { server.logs.contains("config reloaded") }, server.logs)
    }

    private func send(_ webhook: String, _ json: String) throws -> (status: Int, body: String) {
        try server.postSigned(webhook, json, secret: secret)
    }

    private func event(_ id: String) throws -> JSONValue {
        try server.admin("GET", "/admin/events/\(id)").json
    }

    private func attempts(_ json: JSONValue) -> [JSONValue] {
        if case let .array(a)? = json["attempts"] { return a }
        return []
    }

    private func recordedID(_ response: (status: Int, body: String)) throws -> String {
        try XCTUnwrap(response.body.firstMatch(of: /whevt_[0-9A-Z]+/).map { String($0.output) }, response.body)
    }

    /// The provider's retry, after the handler is added, runs the event as its first attempt and is
    /// answered as a first delivery: 200 once recorded (after-record), the handler's 200 (after-handler).
    func testAProviderRetryOfAnIgnoredEventRunsTheHandlerAddedSince() throws {
        let queued = #"{"id": "r1", "type": "late"}"#
        let waited = #"{"id": "r2", "type": "late"}"#
        let first = try send("strict", queued)
        XCTAssertEqual(first.status, 422, first.body)
        let firstWaited = try send("waiting", waited)
        XCTAssertEqual(firstWaited.status, 422, firstWaited.body)
        let queuedID = try recordedID(first), waitedID = try recordedID(firstWaited)
        XCTAssertEqual(try event(queuedID)["status"]?.stringValue, "ignored")

        try addHandlerAndReload()

        let retried = try send("strict", queued)
        XCTAssertEqual(retried.status, 200, retried.body)
        XCTAssertTrue(retried.body.contains(queuedID), retried.body)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try event(queuedID)["status"]?.stringValue == "processed" },
                      (try? event(queuedID).serialized()) ?? "")
        let retriedWaited = try send("waiting", waited)
        XCTAssertEqual(retriedWaited.status, 200, retriedWaited.body)
        XCTAssertTrue(retriedWaited.body.contains(waitedID), retriedWaited.body)

        for id in [queuedID, waitedID] {
            let stored = try event(id)
            XCTAssertEqual(stored["status"]?.stringValue, "processed", stored.serialized())
            XCTAssertEqual(stored["handler"]?.stringValue, "behaviours.ok")
            XCTAssertEqual(attempts(stored).map { $0["n"]?.scalarText }, ["1"], stored.serialized())
            XCTAssertEqual(attempts(stored).map { $0["replay"] }, [.bool(false)], stored.serialized())
        }
        // A later retry is a plain duplicate of a processed event: answered, not run again.
        let again = try send("strict", queued)
        XCTAssertEqual(again.status, 200, again.body)
        XCTAssertTrue(again.body.contains(#""duplicate":true"#), again.body)
        usleep(300_000)
        XCTAssertEqual(attempts(try event(queuedID)).count, 1)
        XCTAssertEqual(TestServer.handledLines(output).count, 2, TestServer.handledLines(output).joined(separator: "\n"))
    }

    /// A replay of an ignored event routes it through the config: refused with what to do while no
    /// handler takes its type, run by the handler added since (for `ignore` and `reject` webhooks).
    func testAReplayOfAnIgnoredEventRunsTheHandlerAddedSince() throws {
        let lenient = try send("lenient", #"{"id": "p1", "type": "late"}"#)
        XCTAssertEqual(lenient.status, 200, lenient.body)
        let strict = try send("strict", #"{"id": "p2", "type": "late"}"#)
        XCTAssertEqual(strict.status, 422, strict.body)
        let lenientID = try recordedID(lenient), strictID = try recordedID(strict)

        let refused = try server.admin("POST", "/admin/events/\(lenientID)/replay")
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertTrue(refused.text.contains("add one to the webhook's"), refused.text)
        XCTAssertNil(try event(lenientID)["handler"]?.stringValue)

        try addHandlerAndReload()

        for id in [lenientID, strictID] {
            let replayed = try server.admin("POST", "/admin/events/\(id)/replay")
            XCTAssertEqual(replayed.status, 202, replayed.text)
            XCTAssertEqual(replayed.json["event"]?["handler"]?.stringValue, "behaviours.ok", replayed.text)
            XCTAssertTrue(try server.waitUntil(timeout: 10) { try event(id)["status"]?.stringValue == "processed" },
                          (try? event(id).serialized()) ?? "")
            let stored = try event(id)
            XCTAssertEqual(attempts(stored).map { $0["replay"] }, [.bool(true)], stored.serialized())
        }
        XCTAssertEqual(TestServer.handledLines(output).count, 2, TestServer.handledLines(output).joined(separator: "\n"))
    }
}
