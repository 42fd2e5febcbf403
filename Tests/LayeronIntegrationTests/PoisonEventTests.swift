import Foundation
import LayeronCore
import XCTest

/// A handler that takes the whole server down with it: its event must not crash every start after.
final class PoisonEventTests: XCTestCase {
    let secret = "poison-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(server.path("handled.log"))", "sleep_ms": 200 }"#, webhooks: [
            ("poison", #""handler": "behaviours.crash", "retry": {"attempts": 2, "initial": "50ms", "jitter": false}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// Each start runs the event again (by its retry schedule) and crashes; once the attempt cut off
    /// was the last its policy allows, the event fails at the start and the server stays up.
    func testAnEventWhoseHandlerCrashesTheServerFailsAfterItsAttempts() throws {
        let sent = try server.postSigned("poison", #"{"id": "p1", "type": "boom"}"#, secret: secret)
        XCTAssertEqual(sent.status, 200, sent.body)
        let store = try StoreReader(path: server.databasePath)
        func failed() throws -> Bool { try store.count("SELECT COUNT(*) FROM events WHERE status = 'failed'") == 1 }
        // Each run ends in a crash or, once the start found the attempt cut off the last allowed, in the
        // event failed: wait for one or the other, not for a while without a crash.
        var starts = 1
        while true {
            XCTAssertTrue(try server.waitUntil { try !server.isRunning || failed() }, server.logs)
            if try failed() { break }
            XCTAssertLessThan(starts, 5, "the server kept crashing: \(server.logs)")
            if starts >= 5 { return }
            try server.start()
            starts += 1
        }
        usleep(500_000)
        XCTAssertTrue(server.isRunning)
        XCTAssertEqual(try store.rows("SELECT status, next_attempt_at IS NULL, attempt_count FROM events"), [["failed", "1", "2"]])
        let attempts = try store.rows("SELECT n, outcome, error FROM attempts ORDER BY n")
        XCTAssertEqual(attempts.map { $0[0] }, ["1", "2"], "\(attempts)")
        XCTAssertEqual(attempts.last?[1], "error")
        XCTAssertTrue(attempts.last?[2]?.contains("the last the retry policy allows") == true, "\(attempts)")
        XCTAssertTrue(server.logs.contains("did its handler crash the server?"), server.logs)
    }
}
