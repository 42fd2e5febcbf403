import Foundation
import LayeronCore
import XCTest

/// A provider's retry of an `after-handler` event (same id, so a dedupe duplicate) is answered by
/// the event's record, except when its last attempt could not run the handler and the handler can
/// run now: the retry then runs it and is answered by it.
final class ProviderRetryTests: XCTestCase {
    let secret = "provider-retry-secret"
    var server: TestServer!
    var output = ""

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        output = server.path("handled.log")
        // The scheduled retry is an hour away: only the provider's retry can run the event in the test.
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)" }"#, webhooks: [
            ("waits", #""handler": "behaviours.ok", "respond": "after-handler", "timeout": "10s", "dedupe": {"key": "body.id"}, "retry": {"attempts": 5, "initial": "1h"}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// The plugin was deployed after the first delivery: the retry used to get the stored 503 "its
    /// plugin behaviours is not loaded" until the scheduled retry, an hour later, while it was loaded.
    func testARetryAfterThePluginCameBackRunsTheHandlerAndAnswersItsOutcome() throws {
        let first = try server.postSigned("waits", #"{"id": "evt_1", "type": "paid"}"#, secret: secret)
        XCTAssertEqual(first.status, 503, first.body)
        XCTAssertTrue(first.body.contains("its plugin behaviours is not loaded"), first.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(first.body.utf8))["id"]?.stringValue, first.body)

        let whileMissing = try server.postSigned("waits", #"{"id": "evt_1", "type": "paid"}"#, secret: secret)
        XCTAssertEqual(whileMissing.status, 503, "still missing: the record answers: \(whileMissing.body)")
        XCTAssertTrue(whileMissing.body.contains("its plugin behaviours is not loaded"), whileMissing.body)
        XCTAssertEqual(try server.attempts(id).count, 1, "a retry while the plugin is missing takes no attempt")

        try server.installBehaviours()
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "behaviours") != nil }, server.logs)
        let retry = try server.postSigned("waits", #"{"id": "evt_1", "type": "paid"}"#, secret: secret)
        XCTAssertEqual(retry.status, 200, "the plugin is back: the retry runs it: \(retry.body) \(server.logs)")
        XCTAssertEqual(try JSONParser.parse(Array(retry.body.utf8))["id"]?.stringValue, id, retry.body)
        XCTAssertEqual(TestServer.handledLines(output).count, 1, "one run")
        XCTAssertEqual(try server.event(id)["status"]?.stringValue, "processed")
        XCTAssertEqual(try server.attempts(id).count, 2)

        let after = try server.postSigned("waits", #"{"id": "evt_1", "type": "paid"}"#, secret: secret)
        XCTAssertEqual(after.status, 200, after.body)
        XCTAssertEqual(TestServer.handledLines(output).count, 1, "a processed event is answered from its record, not run again")
    }

    /// A retry that the record answers "retry later" is told the time left until the scheduled
    /// attempt, not the whole delay again: it got the first answer's Retry-After unchanged.
    func testARetryIsToldTheTimeLeftUntilTheScheduledAttempt() throws {
        func retryAfter(_ answer: (status: Int, body: String)) throws -> Int64? {
            XCTAssertEqual(answer.status, 503, answer.body)
            return try JSONParser.parse(Array(answer.body.utf8))["retry_after"]?.scalarText.flatMap { Int64($0) }
        }
        let first = try XCTUnwrap(try retryAfter(try server.postSigned("waits", #"{"id": "evt_2", "type": "paid"}"#, secret: secret)))
        XCTAssertGreaterThan(first, 1000, "about an hour, less its jitter")
        Thread.sleep(forTimeInterval: 2.5)
        let later = try XCTUnwrap(try retryAfter(try server.postSigned("waits", #"{"id": "evt_2", "type": "paid"}"#, secret: secret)))
        XCTAssertLessThanOrEqual(later, first - 2, "counted down to the scheduled attempt")
        XCTAssertGreaterThan(later, first - 30)
    }
}
