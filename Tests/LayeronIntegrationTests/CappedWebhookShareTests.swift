import Foundation
import XCTest

/// A webhook with a `concurrency` cap keeps its places busy while another webhook has a backlog:
/// its events do not queue behind that backlog (docs/config.md, `concurrency`).
final class CappedWebhookShareTests: XCTestCase {
    let secret = "share-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "sleep_ms": 50 }"#, workers: 2, webhooks: [
            ("busy", #""handler": "behaviours.slow""#),
            ("capped", #""handler": "behaviours.ok", "concurrency": 1"#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func lines() -> [String] { TestServer.handledLines(output) }

    /// 200 events of 50 ms on 2 workers are 5 s of backlog; the capped webhook's 3 events, received
    /// after them, run long before it drains. In one queue they waited behind all of it.
    func testACappedWebhooksEventsRunWhileAnotherWebhookHasABacklog() throws {
        for i in 0..<200 {
            let response = try server.postSigned("busy", #"{"id": "b\#(i)", "type": "t"}"#, secret: secret)
            XCTAssertEqual(response.status, 200, response.body)
        }
        for i in 0..<3 {
            let response = try server.postSigned("capped", #"{"id": "c\#(i)", "type": "t"}"#, secret: secret)
            XCTAssertEqual(response.status, 200, response.body)
        }
        XCTAssertTrue(server.waitUntil(timeout: 20) { lines().filter { $0.hasPrefix("ok ") }.count == 3 }, "\(lines().suffix(5))")
        let slow = lines().filter { $0.hasPrefix("slow ") }.count
        XCTAssertLessThan(slow, 150, "the capped webhook's events ran only after \(slow) of the backlog's 200")
    }
}
