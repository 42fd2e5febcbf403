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
        // The first answer holds the second attempt back for 3 s, the time to use up the descriptors.
        let receiver = try ScriptedReceiver(replies: [ScriptedReceiver.Reply(status: 503, headers: [("Retry-After", "3")])])
        harness = try OutboundHarness(destinations: [
            #"{ "name": "mirror", "url": "\#(receiver.url)", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "retry": { "schedule": ["1s", "1s"] } }"#,
        ])
        try harness.start()
        let server = harness.server
        let id = try harness.emittedID("mirror")
        XCTAssertTrue(server.waitUntil { receiver.received.count == 1 }, server.logs)

        let pid = try XCTUnwrap(server.processIdentifier)
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=\(open + 4):"])
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<12 { held.append(try LoopbackSocket.connect(port: harness.port)) }
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("Failed to accept a connection: Too many open files") }, server.logs)

        // The schedule's two retries would have run out by now; the admin API has no descriptor
        // either, so the store is read directly.
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
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=1024:"])
        let event = try harness.waitForAttempts(id, count: 4, status: "processed")
        XCTAssertEqual(receiver.received.count, 2, event.serialized())
        let notSent = try harness.attempts(id).compactMap { $0["error"]?.stringValue }.filter { $0.hasPrefix("not sent: ") }
        XCTAssertGreaterThanOrEqual(notSent.count, 2, event.serialized())
        XCTAssertTrue(notSent.allSatisfy { $0.contains("Too many open files") && $0.contains("not counted as an attempt") }, "\(notSent)")
    }
}
