import CSQLite
import Foundation
import LayeronCore
import XCTest

/// A delivery whose end the store refuses (a full disk) has reached its receiver: it must not be
/// sent again while the store refuses writes, and its attempt is recorded once the store takes it.
final class OutboundStoreRefusalTests: XCTestCase {
    private var harness: OutboundHarness!

    override func tearDown() {
        harness?.server.stop()
        harness = nil
    }

    func testADeliveryWhoseEndTheStoreRefusedIsRecordedLaterAndNotSentAgain() throws {
        let receiver = try ScriptedReceiver(replies: [])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "mirror", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true }"#,
        ])
        try harness.start()
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(harness.server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        // A delivery's end is an INSERT OR REPLACE of its attempt row, which this trigger refuses.
        XCTAssertEqual(sqlite3_exec(db, """
            CREATE TRIGGER refuse_finishes BEFORE INSERT ON attempts WHEN NEW.outcome IS NOT NULL
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """, nil, nil, nil), SQLITE_OK)

        let id = try harness.emittedID("mirror")
        XCTAssertTrue(harness.server.waitUntil { receiver.received.count == 1 }, harness.server.logs)
        // The outbound scheduler passes every 250 ms: an event handed back unrecorded is sent again at once.
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(receiver.received.count, 1, "the delivery was sent again while its first attempt was unrecorded")
        XCTAssertTrue(harness.server.logs.contains("cannot record how the delivery ended; its event is held"), harness.server.logs)
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NOT NULL"), 0)

        XCTAssertEqual(sqlite3_exec(db, "DROP TRIGGER refuse_finishes", nil, nil, nil), SQLITE_OK)
        let event = try harness.waitForAttempts(id, count: 1, status: "processed")
        let attempts = try harness.attempts(id)
        XCTAssertEqual(attempts.count, 1, event.serialized())
        XCTAssertEqual(attempts.first?["status_code"], .number(200), event.serialized())
        XCTAssertEqual(attempts.first?["outcome"], .string("ok"))
        XCTAssertEqual(receiver.received.count, 1)
        XCTAssertTrue(harness.server.logs.contains("recorded how the delivery ended, after the store had refused it"), harness.server.logs)
    }

    /// A 410 disables its destination; when the store refused to record the disable, it was only
    /// logged: emits were taken and deliveries went on to the receiver that said it is gone (and a
    /// restart forgot the 410). The disable now holds from the answer on and is written with it.
    func testADisableTheStoreRefusesHoldsAndIsRecordedLater() throws {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 500), ScriptedReceiver.Reply(status: 410)])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "fading", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["2s"] } }"#,
        ])
        try harness.start()
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(harness.server.databasePath, &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        defer { sqlite3_close(db) }
        XCTAssertEqual(sqlite3_exec(db, """
            CREATE TRIGGER refuse_disables BEFORE INSERT ON outbound_destinations
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
            """, nil, nil, nil), SQLITE_OK)

        // The first event waits 2 s for its second attempt; the second meets the 410 meanwhile.
        let waiting = try harness.emittedID("fading", payload: #"{"order":1}"#)
        _ = try harness.waitForAttempts(waiting, count: 1, status: "pending")
        let gone = try harness.emittedID("fading", payload: #"{"order":2}"#)
        XCTAssertTrue(harness.server.waitUntil { receiver.received.count == 2 }, harness.server.logs)
        XCTAssertTrue(harness.server.waitUntil { harness.server.logs.contains("nor disable the destination after its 410 Gone") }, harness.server.logs)
        let refused = try harness.emit("fading")
        XCTAssertEqual(refused.status, 409, "an emit to a destination whose receiver answered 410: \(refused.json.serialized())")
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(receiver.received.count, 2, "the waiting event was sent to the destination its receiver said is gone")

        XCTAssertEqual(sqlite3_exec(db, "DROP TRIGGER refuse_disables", nil, nil, nil), SQLITE_OK)
        let settled = try harness.waitForAttempts(gone, count: 1, status: "failed")
        XCTAssertEqual(try harness.attempts(gone)[0]["status_code"], .number(410), settled.serialized())
        let store = try StoreReader(path: harness.server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM outbound_destinations WHERE name = 'fading' AND disabled_at IS NOT NULL"), 1)
        let failed = try harness.event(waiting)
        XCTAssertEqual(failed["status"], .string("failed"), failed.serialized())
        XCTAssertEqual(receiver.received.count, 2)
        XCTAssertTrue(harness.server.logs.contains("outbound destination disabled: the receiver answered 410 Gone to event \(gone)"), harness.server.logs)
    }
}
