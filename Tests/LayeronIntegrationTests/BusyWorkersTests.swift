import CSQLite
import Foundation
import LayeronCore
import XCTest

/// An after-handler event whose timeout passes while every worker is in another event's handler is
/// answered 503 saying its handler had not started, and why; it runs once a worker is free. A job
/// queued meanwhile whose event is gone when the worker reads it still gives back its webhook's
/// place under `concurrency`.
final class BusyWorkersTests: XCTestCase {
    let secret = "busy-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }
    /// `behaviours.gated` calls return once this file exists.
    var gate: String { server.path("gate") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "gate": "\#(gate)" }"#, workers: 1, webhooks: [
            ("held", #""handler": "behaviours.gated", "lease": "1h""#),
            ("waiting", #""handler": "behaviours.ok", "respond": "after-handler", "timeout": "300ms", "dedupe": {"key": "body.id"}"#),
            ("capped", #""handler": "behaviours.always_retry", "concurrency": 1, "retry": {"attempts": 5, "initial": "1s", "backoff": "fixed", "jitter": false}"#),
            ("asking", #""handler": "behaviours.always_retry", "respond": "after-handler", "timeout": "2s", "dedupe": {"key": "body.id"}, "retry": {"attempts": 5, "initial": "1h"}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        // A test that failed with the gate shut would hold the drain for the gated call's minute.
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        server.stop()
        server = nil
    }

    private func lines() -> [String] { TestServer.handledLines(output) }

    /// A provider's retry of an after-handler event whose handler ran and asked for a retry is
    /// answered from the record at once: it needs no worker, so busy workers do not turn the
    /// recorded "retry later" into a timeout saying the handler had not started.
    func testARetryOfAnEventWhoseHandlerAskedForARetryIsAnsweredFromTheRecordWhileWorkersAreBusy() throws {
        let first = try server.postSigned("asking", #"{"id": "again", "type": "t"}"#, secret: secret)
        XCTAssertEqual(first.status, 503, first.body)
        XCTAssertTrue(first.body.contains("retry_after"), first.body)
        _ = try server.startGatedCall("held", eventID: "busy", secret: secret, "the only worker is in the gated call")
        let retry = try server.postSigned("asking", #"{"id": "again", "type": "t"}"#, secret: secret)
        XCTAssertEqual(retry.status, 503, retry.body)
        XCTAssertTrue(retry.body.contains("retry_after"), "the recorded answer: \(retry.body)")
        XCTAssertFalse(retry.body.contains("had not started"), retry.body)
    }

    func testAnAfterHandlerTimeoutWithEveryWorkerBusySaysTheHandlerHadNotStarted() throws {
        _ = try server.startGatedCall("held", eventID: "busy", secret: secret, "the only worker is in the gated call")
        let waited = try server.postSigned("waiting", #"{"id": "queued", "type": "t"}"#, secret: secret)
        XCTAssertEqual(waited.status, 503, waited.body)
        XCTAssertTrue(waited.body.contains("the handler had not started within 300ms: every worker was busy with other events"), waited.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(waited.body.utf8))["id"]?.stringValue, waited.body)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("ok \(id) ") } }, "\(lines())")
    }

    func testAnEventGoneBeforeItsWorkerReadItGivesBackItsWebhooksSlot() throws {
        let first = try server.postSigned("capped", #"{"id": "purged", "type": "t"}"#, secret: secret)
        XCTAssertEqual(first.status, 200, first.body)
        let purged = try XCTUnwrap(try JSONParser.parse(Array(first.body.utf8))["id"]?.stringValue, first.body)
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("always_retry \(purged) ") } }, "\(lines())")

        // The only worker is held, so the retry the scheduler queues a second later waits for it; the
        // event is then purged (here deleted) before the worker reads it.
        _ = try server.startGatedCall("held", eventID: "busy", secret: secret, "the only worker is in the gated call")
        XCTAssertTrue(try server.waitUntil { try server.metric("layeron_dispatch_queue_depth") == 1 }, "the retry was not queued")
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        sqlite3_busy_timeout(db, 5000)
        XCTAssertEqual(sqlite3_exec(db, "DELETE FROM events WHERE id = '\(purged)'", nil, nil, nil), SQLITE_OK)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("gated ") } }, "\(lines())")

        let next = try server.postSigned("capped", #"{"id": "next", "type": "t"}"#, secret: secret)
        XCTAssertEqual(next.status, 200, next.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(next.body.utf8))["id"]?.stringValue, next.body)
        XCTAssertTrue(server.waitUntil(timeout: 10) { lines().contains { $0.hasPrefix("always_retry \(id) ") } },
                      "the capped webhook ran nothing after its queued event was gone: \(lines())\n\(server.logs.suffix(3000))")
    }
}
