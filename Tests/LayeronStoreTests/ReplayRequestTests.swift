import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

/// Operators' replays as rows of their own: each request is taken once, by the start it runs
/// with, only once it is due; a store from before keeps its scheduled replays. Per-key order keeps
/// blocked events and their replays out of the scheduler's due reads.
final class ReplayRequestTests: XCTestCase {
    var directory: URL!
    var path: String { directory.appendingPathComponent("events.db").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-replays-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func start(_ n: Int64, at: Int64) -> AttemptRecord {
        AttemptRecord(n: n, startedAt: at, finishedAt: nil, outcome: nil, error: nil, replay: true, plugin: "p", pluginVersion: "1")
    }

    func testEachRequestIsTakenOnceByTheStartItRunsWithAndOnlyOnceDue() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        guard case let .recorded(seq) = try store.append(NewEvent(
            id: EventID.make(nowMilliseconds: 1_000), webhook: "w", direction: .inbound, provider: "p", type: "t",
            providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000, headers: [], body: [], handler: "p.h"))
        else { return XCTFail("not recorded") }
        try store.requestReplays([(seq, 2_000), (seq, 2_000), (seq, 9_000)])
        XCTAssertEqual(try store.dueReplays(now: 1_999, limit: 10, direction: .inbound), [])
        XCTAssertEqual(try store.dueReplays(now: 2_000, limit: 10, direction: .inbound), [DueReplays(seq: seq, webhook: "w", count: 2)])
        XCTAssertEqual(try store.dueReplays(now: 2_000, limit: 10, direction: .outbound), [])

        XCTAssertTrue(try store.takeReplay(seq: seq, now: 2_000, starting: start(1, at: 2_000)))
        XCTAssertTrue(try store.takeReplay(seq: seq, now: 2_000, starting: start(2, at: 2_000)))
        XCTAssertFalse(try store.takeReplay(seq: seq, now: 2_000, starting: start(3, at: 2_000)), "the third is not due yet")
        XCTAssertEqual(try store.attempts(seq: seq).map(\.n), [1, 2], "a start that took no request is not recorded")
        XCTAssertTrue(try store.takeReplay(seq: seq, now: 9_000, starting: nil))
        XCTAssertFalse(try store.takeReplay(seq: seq, now: 9_000, starting: nil))
        XCTAssertEqual(try store.attempts(seq: seq).count, 2)
    }

    /// A purge that commits between the admin API's read of an event and its replay request leaves
    /// no orphan request (it would never be due, as `dueReplays` joins the events): the request is
    /// not recorded, and the caller hears the event is gone, to answer 404 rather than 202.
    func testARequestForAPurgedEventIsNotRecordedAndIsReportedGone() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        var seqs: [Int64] = []
        for receivedAt: Int64 in [1_000, 5_000] {
            guard case let .recorded(seq) = try store.append(NewEvent(
                id: EventID.make(nowMilliseconds: receivedAt), webhook: "w", direction: .inbound, provider: "p", type: "t",
                providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: receivedAt, headers: [], body: [], handler: "p.h"))
            else { return XCTFail("not recorded") }
            try store.finishAttempt(seq: seq, attempt: AttemptRecord(n: 1, startedAt: receivedAt, finishedAt: receivedAt, outcome: .ok, error: nil,
                                                                     replay: false, plugin: nil, pluginVersion: nil),
                                    status: .processed, nextAttemptAt: nil)
            seqs.append(seq)
        }
        XCTAssertEqual(try store.purge(before: 2_000), 1)
        XCTAssertEqual(try store.requestReplays([(seqs[0], 6_000), (seqs[1], 6_000)]), [seqs[0]])
        XCTAssertEqual(try store.replaysWaiting(seq: seqs[0]), [], "no orphan request for the purged event")
        XCTAssertEqual(try store.dueReplays(now: 6_000, limit: 10, direction: .inbound), [DueReplays(seq: seqs[1], webhook: "w", count: 1)])
    }

    /// A replay behind an earlier pending event with its ordering key waits for that one, so it is
    /// not listed: listed, such replays filled the scheduler's page (64) pass after pass, and no other
    /// due replay ran. Here a page of one must reach past it.
    func testAReplayBlockedByItsKeyDoesNotTakeAPlaceInTheDuePage() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let seqs = try append([(1_000, "k"), (1_100, "k"), (1_200, nil)], to: store)
        let blocker = seqs[0], blocked = seqs[1], free = seqs[2]
        try store.finishAttempt(seq: blocker, attempt: AttemptRecord(n: 1, startedAt: 1_000, finishedAt: 1_000, outcome: .retry, error: nil,
                                                                    replay: false, plugin: nil, pluginVersion: nil),
                                status: .pending, nextAttemptAt: 60_000)
        try store.requestReplays([(blocked, 2_000), (free, 3_000)])
        XCTAssertEqual(try store.dueReplays(now: 3_000, limit: 1, direction: .inbound), [DueReplays(seq: free, webhook: "w", count: 1)])

        try store.finishAttempt(seq: blocker, attempt: AttemptRecord(n: 2, startedAt: 4_000, finishedAt: 4_000, outcome: .ok, error: nil,
                                                                    replay: false, plugin: nil, pluginVersion: nil),
                                status: .processed, nextAttemptAt: nil)
        XCTAssertEqual(try store.dueReplays(now: 4_000, limit: 1, direction: .inbound), [DueReplays(seq: blocked, webhook: "w", count: 1)],
                       "once the earlier event is settled, its replay is the longest due")
    }

    /// The scheduler's read of a webhook's due events leaves out those behind an earlier pending
    /// event with their key, as the due replays do: listed, they took a capped webhook's few places
    /// only to be rescheduled, and the first event of each key waited for a place.
    func testAnEventBlockedByItsKeyIsLeftOutOfTheDueEvents() throws {
        let store = try EventStore(path: path)
        defer { store.close() }
        let seqs = try append([(1_000, "k"), (1_100, "k"), (1_200, "k"), (1_300, "other"), (1_400, nil)], to: store)
        XCTAssertEqual(try store.dueEvents(now: 2_000, limit: 10, webhook: "w"), [seqs[0], seqs[3], seqs[4]])
        XCTAssertEqual(try store.dueEvents(now: 2_000, limit: 2, webhook: "w"), [seqs[0], seqs[3]], "the page reaches past the blocked events")

        try store.finishAttempt(seq: seqs[0], attempt: AttemptRecord(n: 1, startedAt: 2_000, finishedAt: 2_000, outcome: .ok, error: nil,
                                                                    replay: false, plugin: nil, pluginVersion: nil),
                                status: .processed, nextAttemptAt: nil)
        XCTAssertEqual(try store.dueEvents(now: 2_000, limit: 10, webhook: "w"), [seqs[1], seqs[3], seqs[4]],
                       "once the first settles, the next with its key is listed")
    }

    /// Records an inbound event of webhook "w" per (received at, ordering key); returns their seqs.
    private func append(_ events: [(Int64, String?)], to store: EventStore) throws -> [Int64] {
        try events.map { receivedAt, key in
            guard case let .recorded(seq) = try store.append(NewEvent(
                id: EventID.make(nowMilliseconds: receivedAt), webhook: "w", direction: .inbound, provider: "p", type: "t",
                providerEventID: nil, dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: receivedAt, headers: [], body: [],
                handler: "p.h", orderingKey: key))
            else {
                XCTFail("not recorded")
                return -1
            }
            return seq
        }
    }

    /// Migration 9: a replay scheduled in the events' old `replay_at` column is a request, due then.
    func testAReplayScheduledBeforeTheMigrationIsStillDue() throws {
        do {
            let old = try SQLiteConnection(path: path)
            try Migrations.migrate(old, steps: Array(Migrations.steps.prefix(8)))
            try old.execute("""
                INSERT INTO events (seq, id, webhook, direction, provider, type, status, received_at, replay_at)
                VALUES (1, 'whevt_a', 'w', 'inbound', 'p', 't', 'processed', 1000, 5000),
                       (2, 'whevt_b', 'w', 'inbound', 'p', 't', 'processed', 1000, NULL);
                """)
        }
        let store = try EventStore(path: path)
        defer { store.close() }
        XCTAssertEqual(try store.dueReplays(now: 4_999, limit: 10, direction: .inbound), [])
        XCTAssertEqual(try store.dueReplays(now: 5_000, limit: 10, direction: .inbound), [DueReplays(seq: 1, webhook: "w", count: 1)])
        let reader = try SQLiteConnection(path: path, readOnly: true)
        let column = try reader.statement("SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'replay_at'")
        _ = try column.step()
        XCTAssertEqual(column.int(0), 0)
        column.reset()
    }
}
