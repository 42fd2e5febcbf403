import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

/// The schema's later steps: dedupe keys on their events (with the restart horizon), the search
/// over an index that leaves out provider ids equal to the dedupe key, and attempt records whose
/// start a quick finish replaces.
final class EventStoreSchemaTests: XCTestCase {
    var directory: URL!
    var path: String { directory.appendingPathComponent("events.db").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func event(_ n: Int, key: String?, providerID: String? = nil, at: Int64 = 1_000, ttl: Int64 = 10_000) -> NewEvent {
        NewEvent(id: EventID.make(nowMilliseconds: at), webhook: "w", direction: .inbound, provider: "p", type: "t",
                 providerEventID: providerID ?? key, dedupeKey: key, dedupeExpiresAt: key == nil ? nil : at + ttl,
                 receivedAt: at, headers: [], body: [], handler: "p.h")
    }

    /// Webhook bodies are customers' data: a new database and its WAL files are its owner's only,
    /// whatever the umask; an existing file keeps the mode its operator gave it.
    func testANewDatabaseIsReadableByItsOwnerOnly() throws {
        let store = try EventStore(path: path)
        _ = try store.append(event(0, key: nil))
        for file in [path, path + "-wal", path + "-shm"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, file)
        }
        store.close()
        XCTAssertEqual(chmod(path, 0o640), 0)
        try EventStore(path: path).close()
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue, 0o640)
    }

    /// A file a newer build wrote is refused as such, in words that do not blame SQLite, and is
    /// left as it was.
    func testADatabaseFromANewerBuildIsRefusedByItsSchemaVersion() throws {
        do {
            let newer = try SQLiteConnection(path: path)
            try newer.execute("PRAGMA user_version = 999")
        }
        XCTAssertThrowsError(try EventStore(path: path)) { error in
            guard case let .newerSchema(version, known)? = error as? EventStoreOpenError else {
                return XCTFail("expected newerSchema, got \(error)")
            }
            XCTAssertEqual(version, 999)
            XCTAssertEqual(known, Migrations.steps.count)
            XCTAssertFalse("\(error)".contains("SQLite error"), "\(error)")
        }
        let reopened = try SQLiteConnection(path: path)
        let version = try reopened.statement("PRAGMA user_version")
        _ = try version.step()
        XCTAssertEqual(version.int(0), 999)
        let tables = try reopened.statement("SELECT count(*) FROM sqlite_master")
        _ = try tables.step()
        XCTAssertEqual(tables.int(0), 0, "nothing migrated into the newer file")
    }

    /// A store written by a build with the separate dedupe table: its live keys still fold retries
    /// after the upgrade, expired ones do not, and the horizon covers the live ones.
    func testADatabaseWithTheDedupeTableMigratesItsKeys() throws {
        do {
            let old = try SQLiteConnection(path: path)
            try Migrations.migrate(old, steps: Array(Migrations.steps.prefix(5)))
            try old.execute("""
                INSERT INTO events (seq, id, webhook, direction, provider, type, dedupe_key, status, received_at, headers, body)
                VALUES (1, 'whevt_a', 'w', 'inbound', 'p', 't', 'live', 'processed', 1000, '[]', x''),
                       (2, 'whevt_b', 'w', 'inbound', 'p', 't', 'gone', 'processed', 1000, '[]', x'');
                INSERT INTO dedupe (webhook, key, event_seq, expires_at) VALUES ('w', 'live', 1, 90000), ('w', 'gone', 2, 2000);
                """)
        }
        let store = try EventStore(path: path)
        defer { store.close() }
        XCTAssertEqual(try store.append(event(3, key: "live", at: 5_000)),
                       .duplicate(ofID: "whevt_a", seq: 1, status: .processed, response: nil, nextAttemptAt: nil))
        guard case .recorded = try store.append(event(4, key: "gone", at: 5_000)) else { return XCTFail("an expired key folded") }
        let reader = try SQLiteConnection(path: path, readOnly: true)
        let horizon = try reader.statement("SELECT live_until FROM dedupe_horizon")
        XCTAssertTrue(try horizon.step())
        XCTAssertGreaterThanOrEqual(horizon.int(0), 90_000)
        horizon.reset()
        let tables = try reader.statement("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'dedupe'")
        _ = try tables.step()
        XCTAssertEqual(tables.int(0), 0)
        tables.reset()
    }

    /// A store written before headers and bodies had a table of their own: every event keeps them
    /// after the upgrade, the event rows no longer carry them, and new events store theirs beside.
    func testADatabaseWithInlinePayloadsMovesThemBesideTheRows() throws {
        do {
            let old = try SQLiteConnection(path: path)
            try Migrations.migrate(old, steps: Array(Migrations.steps.prefix(6)))
            try old.execute("""
                INSERT INTO events (seq, id, webhook, direction, provider, type, status, received_at, headers, body)
                VALUES (1, 'whevt_a', 'w', 'inbound', 'p', 't', 'processed', 1000, '[["content-type","application/json"]]', x'7B7D');
                """)
        }
        let store = try EventStore(path: path)
        defer { store.close() }
        let migrated = try XCTUnwrap(try store.event(seq: 1))
        XCTAssertEqual(migrated.body, Array("{}".utf8))
        XCTAssertEqual(migrated.headers.map(\.name), ["content-type"])
        XCTAssertEqual(migrated.headers.map(\.value), ["application/json"])
        guard case let .recorded(seq) = try store.append(NewEvent(
            id: EventID.make(nowMilliseconds: 2_000), webhook: "w", direction: .inbound, provider: "p", type: "t",
            providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 2_000,
            headers: [("x-one", "1")], body: Array("[1]".utf8), handler: "p.h")) else { return XCTFail("not recorded") }
        let fresh = try XCTUnwrap(try store.event(id: try XCTUnwrap(try store.event(seq: seq)).id))
        XCTAssertEqual(fresh.body, Array("[1]".utf8))
        XCTAssertEqual(fresh.headers.map(\.value), ["1"])

        let reader = try SQLiteConnection(path: path, readOnly: true)
        let columns = try reader.statement("SELECT COUNT(*) FROM pragma_table_info('events') WHERE name IN ('headers', 'body')")
        _ = try columns.step()
        XCTAssertEqual(columns.int(0), 0)
        columns.reset()
        let payloads = try reader.statement("SELECT COUNT(*) FROM event_payloads")
        _ = try payloads.step()
        XCTAssertEqual(payloads.int(0), 2)
        payloads.reset()
    }

    /// `since`, `until` and the purge go through the id index (migration 8 dropped the one on
    /// received_at): a millisecond's boundary is exact on both sides.
    func testTimeRangesAndThePurgeAreExactAtTheMillisecond() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let t: Int64 = 1_733_300_000_000
        for at in [t - 1, t, t, t + 1] {
            guard case let .recorded(seq) = try store.append(event(0, key: nil, at: at)) else { return XCTFail() }
            try store.finishAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: at, finishedAt: at, outcome: .ok, error: nil, replay: false,
                                                                     plugin: nil, pluginVersion: nil), status: .processed, nextAttemptAt: nil)
        }
        func received(_ query: EventQuery) throws -> [Int64] { try store.list(query).map(\.receivedAt).sorted() }
        XCTAssertEqual(try received(EventQuery(since: t)), [t, t, t + 1])
        XCTAssertEqual(try received(EventQuery(until: t)), [t - 1])
        XCTAssertEqual(try received(EventQuery(since: t, until: t + 1)), [t, t])
        XCTAssertEqual(try store.purge(before: t), 1)
        XCTAssertEqual(try received(EventQuery()), [t, t, t + 1])
        XCTAssertEqual(try store.purge(before: t + 1), 2)
        XCTAssertEqual(try received(EventQuery()), [t + 1])
        // A pending event is not purged, however old: its attempt may be running.
        guard case .recorded = try store.append(event(0, key: nil, at: t - 5)) else { return XCTFail() }
        XCTAssertEqual(try store.purge(before: t + 10), 1)
        XCTAssertEqual(try received(EventQuery()), [t - 5])
        let reader = try SQLiteConnection(path: path)
        let index = try reader.statement("SELECT COUNT(*) FROM sqlite_master WHERE name = 'events_by_received'")
        XCTAssertTrue(try index.step())
        XCTAssertEqual(index.int(0), 0, "the index on received_at is gone")
    }

    /// An event with an attempt still open (a replay of a settled event) or a replay asked for is
    /// not purged; the others go, and the next events, before and after a restart, take numbers
    /// none of the purged events had: attempts and replays keyed by a purged seq meet no other event.
    func testThePurgeKeepsEventsStillToRunAndItsSeqsAreNeverGivenAgain() throws {
        var store = try EventStore(path: path)
        var seqs: [Int64] = []
        for at: Int64 in [1_000, 1_001, 1_002] {
            guard case let .recorded(seq) = try store.append(event(0, key: nil, at: at)) else { return XCTFail() }
            try store.finishAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: at, finishedAt: at, outcome: .ok, error: nil, replay: false,
                                                                     plugin: nil, pluginVersion: nil), status: .processed, nextAttemptAt: nil)
            seqs.append(seq)
        }
        try store.startAttemptCommitted(seq: seqs[1], attempt: AttemptRecord(n: 2, startedAt: 2_000, finishedAt: nil, outcome: nil, error: nil,
                                                                             replay: true, plugin: nil, pluginVersion: nil))
        try store.requestReplays([(seq: seqs[2], at: 5_000)])
        XCTAssertEqual(try store.purge(before: 10_000), 1)
        XCTAssertEqual(try store.list(EventQuery()).map(\.seq).sorted(), [seqs[1], seqs[2]])

        try store.finishAttempt(seq: seqs[1], attempt: AttemptRecord(n: 2, startedAt: 2_000, finishedAt: 2_001, outcome: .ok, error: nil,
                                                                     replay: true, plugin: nil, pluginVersion: nil),
                                status: .processed, nextAttemptAt: nil)
        XCTAssertTrue(try store.takeReplay(seq: seqs[2], now: 5_000, starting: nil))
        XCTAssertEqual(try store.purge(before: 10_000), 2)
        guard case let .recorded(next) = try store.append(event(0, key: nil, at: 3_000)) else { return XCTFail() }
        XCTAssertGreaterThan(next, seqs[2])
        XCTAssertEqual(try store.attempts(seq: next).count, 0)
        XCTAssertEqual(try store.purge(before: 10_000), 0, "a pending event stays")
        try store.finishAttempt(seq: next, attempt: AttemptRecord(n: 1, startedAt: 3_000, finishedAt: 3_000, outcome: .ok, error: nil,
                                                                  replay: false, plugin: nil, pluginVersion: nil),
                                status: .processed, nextAttemptAt: nil)
        XCTAssertEqual(try store.purge(before: 10_000), 1)
        store.close()
        store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(afterRestart) = try store.append(event(0, key: nil, at: 4_000)) else { return XCTFail() }
        XCTAssertGreaterThan(afterRestart, next, "an empty store after a restart still numbers past the purged events")
    }

    /// A store written before the high-water mark, whose purge deleted an event while its replay
    /// ran: the replay's attempt record outlived the event. After the upgrade the next event takes a
    /// seq past it and starts with no history, and the leftovers are gone.
    func testAnUpgradedStoreNeverGivesANewEventTheRecordsOfAPurgedOne() throws {
        do {
            let old = try SQLiteConnection(path: path)
            try Migrations.migrate(old, steps: Array(Migrations.steps.prefix(9)))
            try old.execute("""
                INSERT INTO events (seq, id, webhook, direction, provider, type, status, received_at)
                VALUES (1, 'whevt_a', 'w', 'inbound', 'p', 't', 'processed', 1000);
                INSERT INTO event_payloads (seq, headers, body) VALUES (1, '[]', x'7B7D'), (3, '[]', x'7B7D');
                INSERT INTO attempts (event_seq, n, started_at, finished_at, outcome, replay) VALUES
                    (1, 1, 1000, 1001, 'ok', 0), (2, 2, 2000, 2001, 'ok', 1);
                INSERT INTO replay_requests (event_seq, due_at) VALUES (3, 5000);
                """)
            try Migrations.migrate(old, steps: Array(Migrations.steps.prefix(10)))
        }
        let store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(next) = try store.append(event(0, key: nil, at: 3_000)) else { return XCTFail("not recorded") }
        XCTAssertGreaterThan(next, 3)
        XCTAssertEqual(try store.attempts(seq: next).count, 0)
        XCTAssertEqual(try store.attempts(seq: 1).count, 1, "the records of a stored event stay")
        let reader = try SQLiteConnection(path: path, readOnly: true)
        for (table, column) in [("attempts", "event_seq"), ("replay_requests", "event_seq"), ("event_payloads", "seq")] {
            let left = try reader.statement("SELECT COUNT(*) FROM \(table) WHERE \(column) NOT IN (SELECT seq FROM events)")
            _ = try left.step()
            XCTAssertEqual(left.int(0), 0, table)
            left.reset()
        }
    }

    /// Keys recorded before a restart fold retries after it: the horizon tells the new process that
    /// a miss in its empty memory must still ask the store.
    func testKeysRecordedBeforeARestartStillFold() throws {
        var store = try EventStore(path: path)
        guard case let .recorded(seq) = try store.append(event(1, key: "k", at: 1_000)) else { return XCTFail() }
        store.close()
        store = try EventStore(path: path)
        defer { store.close() }
        guard case .duplicate(_, seq, .pending, nil, _, _) = try store.append(event(2, key: "k", at: 5_000)) else {
            return XCTFail("a key from before the restart did not fold")
        }
        guard case .recorded = try store.append(event(3, key: "k", at: 11_000)) else { return XCTFail("an expired key folded") }
        XCTAssertEqual(try store.list(EventQuery(search: "k")).count, 2)
    }

    /// The search finds an event by a provider id equal to its dedupe key (through the dedupe index)
    /// and by one that differs from it (through the provider id index).
    func testSearchFindsProviderIDsWithAndWithoutTheirOwnIndexEntry() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        _ = try store.append(event(1, key: "evt_same"))
        _ = try store.append(event(2, key: "key_2", providerID: "evt_other"))
        _ = try store.append(event(3, key: nil, providerID: "evt_unkeyed"))
        for search in ["evt_same", "key_2", "evt_other", "evt_unkeyed"] {
            XCTAssertEqual(try store.list(EventQuery(search: search)).count, 1, search)
        }
        XCTAssertEqual(try store.list(EventQuery(search: "nothing")).count, 0)
    }

    /// A start still queued when its finish arrives is replaced: one row, finished. A start the
    /// writer already committed is updated by the finish.
    func testAFinishReplacesItsQueuedStartOrUpdatesTheCommittedOne() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(seq) = try store.append(event(1, key: nil)) else { return XCTFail() }
        let running = AttemptRecord(n: 1, startedAt: 10, finishedAt: nil, outcome: nil, error: nil, replay: false, plugin: "p", pluginVersion: "1")
        var done = running
        done.finishedAt = 20
        done.outcome = .ok
        let recorded = DispatchSemaphore(value: 0)
        let start = store.startAttempt(seq: seq, attempt: running)
        store.finishAttempt(seq: seq, attempt: done, status: .processed, nextAttemptAt: nil, replacing: start) { error in
            XCTAssertNil(error)
            recorded.signal()
        }
        XCTAssertEqual(recorded.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try store.attempts(seq: seq).map(\.outcome), [.ok])

        var second = running
        second.n = 2
        let committedStart = store.startAttempt(seq: seq, attempt: second)
        try store.schedule(seq: seq, at: 0)  // waits for a commit, so the start above is in the store
        XCTAssertEqual(try store.attempts(seq: seq).map(\.outcome), [.ok, nil])
        second.finishedAt = 30
        second.outcome = .retry
        store.finishAttempt(seq: seq, attempt: second, status: .pending, nextAttemptAt: 99, replacing: committedStart) { _ in recorded.signal() }
        XCTAssertEqual(recorded.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try store.attempts(seq: seq).map(\.outcome), [.ok, .retry])
        XCTAssertEqual(try store.event(seq: seq)?.attemptCount, 2)
    }
}
