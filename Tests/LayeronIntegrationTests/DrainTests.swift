import Foundation
import LayeronCore
import XCTest

/// SIGTERM against the real server: the public listener refuses new connections at once, the
/// after-handler request waiting when the signal came gets its answer, and the admin listener says
/// `draining` until the running handler has finished.
final class DrainTests: XCTestCase {
    let secret = "drain-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(server.path("handled.log"))", "sleep_ms": 2000 }"#, webhooks: [
            ("waiting", #""respond": "after-handler", "timeout": "700ms", "handler": "behaviours.slow""#),
        ])
        try server.start()
    }

    override func tearDown() {
        server.kill()
        server = nil
    }

    private func port(_ url: String) -> Int { Int(url.split(separator: ":").last ?? "") ?? 0 }

    func testSIGTERMRefusesNewConnectionsAnswersTheWaitingRequestAndSaysDraining() throws {
        let answer = AnswerBox()
        let answered = DispatchSemaphore(value: 0)
        let server = self.server!
        let secret = self.secret
        Thread.detachNewThread {
            let started = Date()
            let result = try? server.postSigned("waiting", #"{"id":"evt_drain","type":"slow"}"#, secret: secret)
            answer.set("\(result?.status ?? 0) after \(Date().timeIntervalSince(started))s: \(result?.body ?? "no answer")")
            answered.signal()
        }
        // The event is recorded and its handler (2 s) runs.
        XCTAssertTrue(try server.waitUntil {
            try server.admin("GET", "/admin/events?webhook=waiting").text.contains("evt_drain")
        })
        usleep(100_000)
        XCTAssertEqual(try server.admin("GET", "/readyz", authorized: false).status, 200)

        server.send(SIGTERM)
        let publicPort = port(server.publicURL)
        XCTAssertTrue(try server.waitUntil(timeout: 1) { try LoopbackSocket.connectError(port: publicPort) == ECONNREFUSED },
                      "the public port still takes connections while the server drains")

        let health = try server.admin("GET", "/healthz", authorized: false)
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json["status"]?.stringValue, "draining", health.text)
        let ready = try server.admin("GET", "/readyz", authorized: false)
        XCTAssertEqual(ready.status, 503, ready.text)
        XCTAssertEqual(ready.json["status"]?.stringValue, "draining", ready.text)

        XCTAssertEqual(answered.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(answer.value.hasPrefix("503 "), "the waiting request: \(answer.value)")

        XCTAssertTrue(server.waitUntil(timeout: 10) { !server.isRunning })
        XCTAssertEqual(try LoopbackSocket.connectError(port: port(server.adminURL)), ECONNREFUSED)
    }
}
