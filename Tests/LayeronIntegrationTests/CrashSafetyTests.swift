import Foundation
import LayeronCore
import XCTest

/// At-least-once across a SIGKILL under load, and a clean drain on SIGTERM.
final class CrashSafetyTests: XCTestCase {
    let secret = "crash-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
    }

    /// Starts the server with two workers whose handler takes `handlerMilliseconds` per event.
    private func start(handlerMilliseconds: Int) throws {
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": \#(handlerMilliseconds) }"#, workers: 2,
                                         webhooks: [("load", #""dedupe": {"key": "body.id"}, "handler": "behaviours.slow""#)])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// Sends unique events from `clients` threads until `stop` is set or each has sent `perClient`;
    /// returns the ids answered 2xx.
    private func load(clients: Int, stop: StopFlag, prefix: String, perClient: Int = 5000) -> AcceptedIDs {
        let accepted = AcceptedIDs()
        let server = self.server!
        let secret = self.secret
        for client in 0..<clients {
            Thread.detachNewThread {
                var n = 0
                while !stop.isSet && n < perClient {
                    n += 1
                    let body = Array(#"{"id": "\#(prefix)-\#(client)-\#(n)", "type": "load"}"#.utf8)
                    guard let r = try? server.post("/webhooks/load", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret))], body: body) else {
                        continue
                    }
                    if (200..<300).contains(r.status), let id = try? JSONParser.parse(r.body)["id"]?.stringValue { accepted.add(id) }
                }
                accepted.finish()
            }
        }
        return accepted
    }

    func testEverythingAcknowledgedSurvivesSIGKILLAndIsProcessed() throws {
        try start(handlerMilliseconds: 5)
        let stop = StopFlag()
        let accepted = load(clients: 4, stop: stop, prefix: "k")
        // About a second of load, and on a slow machine as long as it takes to have enough acknowledged.
        usleep(1_200_000)
        XCTAssertTrue(server.waitUntil { accepted.ids.count > 20 }, "the server acknowledged \(accepted.ids.count) events")
        server.kill()
        stop.set()
        accepted.waitForClients(4)
        let ids = accepted.ids
        XCTAssertGreaterThan(ids.count, 20, "too little load reached the server to test anything")
        // The attempts the kill cut off, as the next start finds them.
        let store = try StoreReader(path: server.databasePath)
        let open = try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NULL")
        XCTAssertGreaterThan(open, 0, "both workers were busy under the load, so the kill cut attempts off")

        try server.start()
        let done = try server.waitUntil(timeout: 60) {
            try store.count("SELECT COUNT(*) FROM events WHERE status != 'processed'") == 0
        }
        let unprocessed = try store.count("SELECT COUNT(*) FROM events WHERE status != 'processed'")
        XCTAssertTrue(done, "events still unprocessed: \(unprocessed)")
        let stored = Set(try store.rows("SELECT id FROM events").compactMap { $0[0] })
        let lost = Set(ids).subtracting(stored)
        XCTAssertTrue(lost.isEmpty, "\(lost.count) acknowledged events were lost")
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"), 0)
        // Attempts cut off by the kill say so, each of them and no other.
        let interrupted = try store.count("SELECT COUNT(*) FROM attempts WHERE error LIKE 'interrupted:%'")
        XCTAssertEqual(interrupted, open, "attempts open after the kill and attempts closed as interrupted")
        let handled = Set(((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first.map(String.init) })
        XCTAssertTrue(Set(ids).isSubset(of: handled), "some acknowledged events never reached the handler")
        print("SIGKILL test: \(ids.count) acknowledged, \(stored.count) stored, \(open) open at the kill, \(interrupted) interrupted attempts")
    }

    func testSIGTERMDrainsRunningHandlersAndKeepsTheRestDue() throws {
        // Two workers at 50 ms an event handle far fewer than the load sends: events still wait
        // for a handler when the stop comes. The load is capped so that the rest runs in seconds
        // after the next start.
        try start(handlerMilliseconds: 50)
        let stop = StopFlag()
        let accepted = load(clients: 2, stop: stop, prefix: "t", perClient: 150)
        usleep(600_000)
        stop.set()
        accepted.waitForClients(2)
        let start = Date()
        server.stop()
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertFalse(server.isRunning)
        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE outcome IS NULL"), 0, "a drain left an attempt running")
        let waiting = try store.count("SELECT COUNT(*) FROM events WHERE status = 'pending' AND attempt_count = 0")
        XCTAssertGreaterThan(waiting, 0, "no event was still waiting at the stop, so nothing showed the rest kept due")
        print("SIGTERM test: \(accepted.ids.count) acknowledged, \(waiting) waiting at the stop")

        try server.start()
        XCTAssertTrue(try server.waitUntil(timeout: 120) {
            try store.count("SELECT COUNT(*) FROM events WHERE status != 'processed'") == 0
        })
        XCTAssertEqual(Set(try store.rows("SELECT id FROM events").compactMap { $0[0] }), Set(accepted.ids))
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE error LIKE 'interrupted:%'"), 0)
    }
}

/// A handler that never returns holds the drain; a second SIGTERM exits at once, as safely as a crash,
/// and the same SIGTERM sent twice at once counts once.
final class ForcedStopTests: XCTestCase {
    func testASecondSIGTERMExitsWhileAHandlerHangsAndItsEventRunsAgainAfterTheStart() throws {
        let secret = "forced-stop-secret"
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let output = server.path("handled.log")
        let hook = [("hook", #""handler": "behaviours.slow", "retry": {"attempts": 5, "initial": "200ms", "max": "200ms"}"#)]
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 600000 }"#, webhooks: hook)
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try server.postSigned("hook", #"{"id": "stuck", "type": "stuck"}"#, secret: secret).status, 200)
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts") == 1 }, server.logs)

        // The same stop sent twice at once (`timeout` signals the process, then its group) is one stop;
        // so is a SIGINT right behind a SIGTERM (a different signal, which the kernel never merges).
        // Neither cuts the running handler's sleep short: the main thread and the signal thread take them.
        server.send(SIGTERM)
        server.send(SIGINT)
        XCTAssertTrue(server.waitUntil { server.logs.contains("draining") }, server.logs)
        usleep(500_000)
        XCTAssertTrue(server.isRunning, "the drain waits for the running handler: \(server.logs)")
        XCTAssertFalse(server.logs.contains("second signal"), server.logs)
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil { !server.isRunning }, "a second signal exits at once")
        XCTAssertTrue(server.logs.contains("second signal"), server.logs)

        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 1 }"#, webhooks: hook)
        try server.start()
        XCTAssertTrue(try server.waitUntil {
            try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == 1
        }, server.logs)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE error LIKE 'interrupted:%'"), 1,
                       "\((try? store.rows("SELECT n, outcome, error FROM attempts")) ?? []) \(server.logs)")
    }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

final class AcceptedIDs: @unchecked Sendable {
    private let condition = NSCondition()
    private var list: [String] = []
    private var finished = 0

    func add(_ id: String) { condition.lock(); list.append(id); condition.unlock() }
    func finish() { condition.lock(); finished += 1; condition.broadcast(); condition.unlock() }

    func waitForClients(_ n: Int) {
        condition.lock()
        let deadline = Date(timeIntervalSinceNow: 30)
        while finished < n, condition.wait(until: deadline) {}
        condition.unlock()
    }

    var ids: [String] { condition.lock(); defer { condition.unlock() }; return list }
}
