import Foundation
import LayeronCore
import XCTest

/// An after-handler event whose timeout passes while every worker is in another event's handler is
/// answered 503 saying its handler had not started, and why; it runs once a worker is free.
final class BusyWorkersTests: XCTestCase {
    let secret = "busy-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }
    /// `behaviours.gated` calls return once this file exists.
    var gate: String { server.path("gate") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "gate": "\#(gate)" }"#, workers: 1, webhooks: [
            ("held", #""handler": "behaviours.gated", "lease": "1h""#),
            ("waiting", #""handler": "behaviours.ok", "respond": "after-handler", "timeout": "300ms", "dedupe": {"key": "body.id"}"#),
        ])
        try server.start()
    }

    override func tearDown() {
        // A test that failed with the gate shut would hold the drain for the gated call's minute.
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        server.stop()
        server = nil
    }

    private func lines() -> [String] { TestServer.handledLines(output) }

    func testAnAfterHandlerTimeoutWithEveryWorkerBusySaysTheHandlerHadNotStarted() throws {
        _ = try server.startGatedCall("held", eventID: "busy", secret: secret, "the only worker is in the gated call")
        let waited = try server.postSigned("waiting", #"{"id": "queued", "type": "t"}"#, secret: secret)
        XCTAssertEqual(waited.status, 503, waited.body)
        XCTAssertTrue(waited.body.contains("the handler had not started within 300ms: every worker was busy with other events"), waited.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(waited.body.utf8))["id"]?.stringValue, waited.body)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("ok \(id) ") } }, "\(lines())")
    }
}
