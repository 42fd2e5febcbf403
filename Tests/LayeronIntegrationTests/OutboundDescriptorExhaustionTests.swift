import Foundation
import XCTest

/// A delivery the server cannot make for want of descriptors of its own is no failure of the
/// receiver: the probe's server, at its open-file limit with idle connections held, recorded
/// "Couldn't connect to server … after 0 ms" against a receiver that was up and failed the event
/// after its three attempts.
final class OutboundDescriptorExhaustionTests: XCTestCase {
    private var harness: OutboundHarness!

    override func tearDown() {
        harness?.server.stop()
        harness = nil
    }

    func testADeliveryTheServerHasNoDescriptorForIsNotCountedAgainstTheReceiver() throws {
        // Tries not sent go on for the schedule's span, a minute: were they counted, the second,
        // after the schedule's last wait, would fail the event.
        let (receiver, id) = try startAndDeliverOnce(schedule: #"["1s", "1m"]"#)
        let server = harness.server
        var held = try exhaustDescriptors()
        defer { held.forEach { close($0) } }

        // The admin API has no descriptor either, so the store is read directly.
        let store = try StoreReader(path: server.databasePath)
        let recorded = { (try? store.rows("SELECT n, outcome, error FROM attempts").description) ?? "unreadable" }
        XCTAssertTrue(try server.waitUntil(timeout: 30) {
            try store.count("SELECT COUNT(*) FROM attempts WHERE outcome = 'retry' AND error LIKE 'not sent: the server is out of file descriptors%'") >= 2
        }, recorded() + server.logs.suffix(3000))
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events WHERE status = 'pending' AND direction = 'outbound'"), 1,
                       recorded())
        XCTAssertEqual(receiver.received.count, 1)

        held.forEach { close($0) }
        held = []
        try restoreDescriptors()
        let event = try harness.waitForAttempts(id, count: 4, status: "processed")
        XCTAssertEqual(receiver.received.count, 2, event.serialized())
        let notSent = try harness.attempts(id).compactMap { $0["error"]?.stringValue }.filter { $0.hasPrefix("not sent: ") }
        XCTAssertGreaterThanOrEqual(notSent.count, 2, event.serialized())
        XCTAssertTrue(notSent.allSatisfy { $0.contains("Too many open files") && $0.contains("not counted as an attempt") }, "\(notSent)")
    }

    /// Tries not sent were made every 5 s for as long as the shortage lasted, for ever if it did: the
    /// event stayed pending, out of the failed list an operator reads. They now end after the span
    /// of the destination's schedule (5 s at least), and the event fails, saying why, to be replayed.
    func testADeliveryTheServerCannotSendForTheSchedulesSpanFails() throws {
        let (receiver, id) = try startAndDeliverOnce(schedule: #"["1s", "1s"]"#)
        let server = harness.server
        var held = try exhaustDescriptors()
        defer { held.forEach { close($0) } }
        let store = try StoreReader(path: server.databasePath)
        let recorded = { (try? store.rows("SELECT n, started_at, outcome, error FROM attempts").description) ?? "unreadable" }
        XCTAssertTrue(try server.waitUntil(timeout: 30) {
            try store.count("SELECT COUNT(*) FROM events WHERE status = 'failed' AND direction = 'outbound'") == 1
        }, recorded() + server.logs.suffix(3000))
        // A first try not sent, then one 5 s later, the schedule's span (2 s) being below 5 s.
        let tries = try store.rows("SELECT started_at, outcome, error FROM attempts WHERE error LIKE 'not sent: %' ORDER BY n")
        XCTAssertEqual(tries.map { $0[1] }, ["retry", "error"], recorded())
        let last = try XCTUnwrap(tries.last?[2] ?? nil)
        XCTAssertTrue(last.contains("Too many open files") && last.contains("not sent for ") && last.contains("the event failed: replay it"), last)
        let first = try XCTUnwrap(tries.first?[0].flatMap { Int($0) }), final = try XCTUnwrap(tries.last?[0].flatMap { Int($0) })
        XCTAssertGreaterThanOrEqual(final - first, 5000, recorded())
        XCTAssertEqual(receiver.received.count, 1)

        held.forEach { close($0) }
        held = []
        try restoreDescriptors()
        let listed = try server.admin("GET", "/admin/events?direction=outbound&status=failed").json
        guard case let .array(failed)? = listed["events"] else { return XCTFail(listed.serialized()) }
        XCTAssertEqual(failed.compactMap { $0["id"]?.stringValue }, [id])
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(receiver.received.count, 1, "a failed event is not sent again unasked")
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(id)/replay").status, 202)
        let replayed = try harness.waitForAttempts(id, count: 4)
        XCTAssertEqual(receiver.received.count, 2, replayed.serialized())
        XCTAssertEqual(try harness.attempts(id).last?["status_code"], .number(200), replayed.serialized())
    }

    /// Starts the server with a destination on `schedule` and emits an event to it, whose first
    /// attempt the receiver answers with a wait of 3 s: the time to use up the descriptors.
    private func startAndDeliverOnce(schedule: String) throws -> (ScriptedReceiver, String) {
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 503, headers: [("Retry-After", "3")])])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "mirror", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": \#(schedule) } }"#,
        ])
        try harness.start()
        let id = try harness.emittedID("mirror")
        XCTAssertTrue(harness.server.waitUntil { receiver.received.count == 1 }, harness.server.logs)
        return (receiver, id)
    }

    /// Lowers the server's open-file limit to a few above what it holds and fills it with idle
    /// connections to its listener; returns them (close them, then `restoreDescriptors`).
    private func exhaustDescriptors() throws -> [Int32] {
        let server = harness.server
        let pid = try XCTUnwrap(server.processIdentifier)
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=\(open + 4):"])
        var held: [Int32] = []
        for _ in 0..<12 { held.append(try LoopbackSocket.connect(port: harness.port)) }
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("Failed to accept a connection: Too many open files") }, server.logs)
        return held
    }

    private func restoreDescriptors() throws {
        let pid = try XCTUnwrap(harness.server.processIdentifier)
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=1024:"])
    }
}
