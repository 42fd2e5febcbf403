import CSQLite
import Foundation
import LayeronCore
import XCTest

/// A store that cannot write (here: another process holds the database's write lock, as a stuck
/// `sqlite3` shell would; a full disk behaves the same) makes every webhook answer 503: `/readyz`
/// says so with the reason, and the metrics count the failed writes, until a write succeeds again.
final class StoreReadinessTests: XCTestCase {
    let secret = "store-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(server.path("handled.log"))" }"#, webhooks: [
            ("plain", #""handler": "behaviours.ok""#),
            ("retrying", #""handler": "behaviours.always_retry", "retry": {"attempts": 3, "initial": "1s", "backoff": "fixed", "jitter": false}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func writeErrors() throws -> Double? { try server.metric("layeron_store_write_errors_total") }

    /// A retry's handler runs only once its start is committed: while the store refuses it (here a
    /// trigger refuses the second attempt's row, as a full disk refuses every write), the handler is
    /// not called, since its finish could not be recorded either and the event would stay due and
    /// run again at every pass of the scheduler; it runs once the store takes the row.
    func testARetryWaitsForTheStoreInsteadOfRunningAtEveryPass() throws {
        let output = server.path("handled.log")
        XCTAssertEqual(try server.postSigned("retrying", #"{"id":"evt_retry","type":"t"}"#, secret: secret).status, 200)
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts WHERE outcome = 'retry'") == 1 }, server.logs)

        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        XCTAssertEqual(sqlite3_exec(db, """
            CREATE TRIGGER refuse_second_attempt BEFORE INSERT ON attempts WHEN NEW.n = 2
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """, nil, nil, nil), SQLITE_OK)
        // The second attempt is due 1 s after the first; the scheduler passes every 250 ms.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(TestServer.handledLines(output).count, 1, "the handler ran without a recorded start")
        XCTAssertTrue(server.logs.contains("cannot record the start of an attempt; its handler runs once the store writes again"), server.logs)
        XCTAssertEqual(sqlite3_exec(db, "DROP TRIGGER refuse_second_attempt", nil, nil, nil), SQLITE_OK)

        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'failed'") == 1 }, server.logs)
        XCTAssertEqual(TestServer.handledLines(output).count, 3, "one run per attempt of the policy")
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"), 0)
    }

    /// The warning that a body is not JSON says the event was recorded, so it comes once the event
    /// is: a refused write answers 503 and logs that the event could not be recorded, nothing more.
    func testABodyThatIsNotJSONIsSaidToBeRecordedOnlyOnceItIs() throws {
        func postGarbage() throws -> (status: Int, body: String) {
            let body = Array("not json".utf8)
            return try server.post("/webhooks/plain", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret)),
                                                                ("Content-Type", "application/json")], body: body)
        }
        let warning = "event recorded without the fields read from its body"
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        XCTAssertEqual(sqlite3_exec(db, """
            CREATE TRIGGER refuse_events BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """, nil, nil, nil), SQLITE_OK)
        XCTAssertEqual(try postGarbage().status, 503)
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains("cannot record event") }, server.logs)
        XCTAssertFalse(server.logs.contains(warning), server.logs)

        XCTAssertEqual(sqlite3_exec(db, "DROP TRIGGER refuse_events", nil, nil, nil), SQLITE_OK)
        XCTAssertEqual(try postGarbage().status, 200)
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains(warning) }, server.logs)
    }

    /// A handler that returned keeps its outcome while the store refuses to record it (here a
    /// trigger refuses every finished attempt row, as a full disk refuses every write): the event is
    /// held instead of being found due again and run at the next pass, and the record is written
    /// again until the store takes it, with the handler's real outcome.
    func testAnAttemptWhoseEndTheStoreRefusedIsRecordedLaterAndNotRunAgain() throws {
        let output = server.path("handled.log")
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        // An upsert's BEFORE INSERT trigger fires whether the row exists or not: it covers both a
        // finish that replaced its queued start and one that updates the committed start row.
        XCTAssertEqual(sqlite3_exec(db, """
            CREATE TRIGGER refuse_finishes BEFORE INSERT ON attempts WHEN NEW.outcome IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """, nil, nil, nil), SQLITE_OK)

        XCTAssertEqual(try server.postSigned("plain", #"{"id":"evt_unrecorded","type":"t"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil { TestServer.handledLines(output).count == 1 }, server.logs)
        // The scheduler passes every 250 ms: an event handed back unrecorded would run again at once.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(TestServer.handledLines(output).count, 1, "the handler ran again while its first run was unrecorded")
        XCTAssertTrue(server.logs.contains("cannot record how the attempt ended; its event is held"), server.logs)
        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NOT NULL"), 0)

        XCTAssertEqual(sqlite3_exec(db, "DROP TRIGGER refuse_finishes", nil, nil, nil), SQLITE_OK)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == 1 }, server.logs)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts"), 1, server.logs)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE n = 1 AND outcome = 'ok' AND finished_at IS NOT NULL"), 1)
        XCTAssertEqual(TestServer.handledLines(output).count, 1)
        XCTAssertTrue(server.logs.contains("recorded how the attempt ended, after the store had refused it"), server.logs)
    }

    func testReadyzAnswers503WhileTheStoreCannotWriteAndRecovers() throws {
        XCTAssertEqual(try server.postSigned("plain", #"{"id":"evt_before","type":"t"}"#, secret: secret).status, 200)
        XCTAssertEqual(try server.admin("GET", "/readyz", authorized: false).status, 200)
        XCTAssertEqual(try writeErrors(), 0)

        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        XCTAssertEqual(sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil), SQLITE_OK)

        // The server's writer waits out its busy timeout (5 s), then gives up.
        let refused = try server.postSigned("plain", #"{"id":"evt_locked","type":"t"}"#, secret: secret)
        XCTAssertEqual(refused.status, 503, refused.body)
        let ready = try server.admin("GET", "/readyz", authorized: false)
        XCTAssertEqual(ready.status, 503, ready.text)
        XCTAssertEqual(ready.json["status"]?.stringValue, "store_failing", ready.text)
        XCTAssertTrue(ready.json["reason"]?.stringValue?.contains("database is locked") == true, ready.text)
        XCTAssertGreaterThanOrEqual(try writeErrors() ?? 0, 1)
        let health = try server.admin("GET", "/healthz", authorized: false)
        XCTAssertEqual(health.status, 200, "liveness does not depend on the store")

        XCTAssertEqual(sqlite3_exec(db, "ROLLBACK", nil, nil, nil), SQLITE_OK)
        // No webhook needed (a load balancer reading /readyz sends none): asking probes the store.
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/readyz", authorized: false).status == 200 },
                      "the server did not find out that the store writes again")
        XCTAssertEqual(try server.postSigned("plain", #"{"id":"evt_after","type":"t"}"#, secret: secret).status, 200)
    }
}
