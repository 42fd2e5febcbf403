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
        FileManager.default.createFile(atPath: gate, contents: nil)
        server.stop()
        server = nil
    }

    private func lines() -> [String] {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testAnAfterHandlerTimeoutWithEveryWorkerBusySaysTheHandlerHadNotStarted() throws {
        let busy = try server.postSigned("held", #"{"id": "busy", "type": "t"}"#, secret: secret)
        XCTAssertEqual(busy.status, 200, busy.body)
        let busyID = try XCTUnwrap(try JSONParser.parse(Array(busy.body.utf8))["id"]?.stringValue, busy.body)
        XCTAssertTrue(try server.waitUntil { try server.attempts(busyID).count == 1 }, "the only worker is in the gated call")
        let waited = try server.postSigned("waiting", #"{"id": "queued", "type": "t"}"#, secret: secret)
        XCTAssertEqual(waited.status, 503, waited.body)
        XCTAssertTrue(waited.body.contains("the handler had not started within 300ms: every worker was busy with other events"), waited.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(waited.body.utf8))["id"]?.stringValue, waited.body)
        FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("ok \(id) ") } }, "\(lines())")
    }
}
