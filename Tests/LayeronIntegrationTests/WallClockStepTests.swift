import Foundation
import LayeronCore
import XCTest

/// The server paces its scheduler and times its leases on the monotonic clock, so a step of the wall
/// clock (an NTP step, `date -s`) neither stalls retries nor runs a handler twice. The server runs
/// with `Tests/Fixtures/clock/wall_clock_step.c` preloaded, which steps its wall clock when the test
/// writes a step into a file.
final class WallClockStepTests: XCTestCase {
    private var server: TestServer!
    private var stepFile: String { server.path("wall-clock-step") }
    private var output: String { server.path("handled.log") }
    private var gate: String { server.path("gate") }
    private let secret = "clock-step-secret"

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        let library = server.path("wall_clock_step.so")
        let source = TestServer.packageRoot.appendingPathComponent("Tests/Fixtures/clock/wall_clock_step.c").path
        try PluginBuilder.run(["cc", "-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"])
        try "0".write(toFile: stepFile, atomically: true, encoding: .utf8)
        server.environment["LD_PRELOAD"] = library
        server.environment["WALL_CLOCK_STEP_FILE"] = stepFile
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "fail_times": 1, "gate": "\#(gate)" }"#, webhooks: [
            ("flaky", #""handler": "behaviours.flaky""#),
            ("held", #""handler": "behaviours.gated", "lease": "1m""#),
        ])
        try server.start()
    }

    override func tearDown() {
        FileManager.default.createFile(atPath: gate, contents: nil)
        server?.stop()
    }

    /// Steps the server's wall clock by `seconds` and gives the preload time to read the step.
    private func stepWallClock(_ seconds: Int) throws {
        try String(seconds).write(toFile: stepFile, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: 0.5)
    }

    /// The scheduler's pause ended when the wall clock reached a date: after a step back of ten
    /// minutes no pass ran for ten minutes, and a retry due 50 ms after its first attempt waited them.
    func testARetryRunsOnTimeAfterTheWallClockStepsBack() throws {
        try stepWallClock(-600)
        let sent = try server.postSigned("flaky", #"{"id": "step-back-1", "type": "t"}"#, secret: secret)
        XCTAssertEqual(sent.status, 200, sent.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(sent.body.utf8))["id"]?.stringValue, sent.body)
        let processed = try server.waitUntil(timeout: 10) { try server.event(id)["status"]?.stringValue == "processed" }
        let attempts = try server.attempts(id).map { $0.serialized() }
        XCTAssertTrue(processed, "attempts \(attempts); handler calls \(TestServer.handledLines(output))")
    }

    /// Leases ran out on the wall clock: a step forward of ten minutes, past the one-minute lease,
    /// handed the running event to a second worker, and the handler ran twice at once.
    func testAWallClockStepForwardDoesNotRunAHandlerTwice() throws {
        let id = try server.startGatedCall("held", eventID: "step-forward-1", secret: secret, "the gated call starts")
        try stepWallClock(600)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertEqual(try server.attempts(id).count, 1, "one attempt while the first call runs")
        FileManager.default.createFile(atPath: gate, contents: nil)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" })
        XCTAssertEqual(TestServer.handledLines(output).count, 1, TestServer.handledLines(output).joined(separator: "\n"))
        XCTAssertFalse(server.logs.contains("ran past its lease"), server.logs)
    }
}
