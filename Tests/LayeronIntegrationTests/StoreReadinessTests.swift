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
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// The value of the unlabelled `layeron_store_write_errors_total` sample.
    private func writeErrors() throws -> UInt64? {
        let name = "layeron_store_write_errors_total"
        return try server.admin("GET", "/metrics").text.split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }.flatMap { UInt64($0.dropFirst(name.count + 1)) }
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
