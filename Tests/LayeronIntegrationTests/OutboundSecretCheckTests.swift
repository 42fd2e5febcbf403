import Foundation
import XCTest

/// An outbound secret whose value cannot sign is refused where the operator sees it (check, start,
/// reload), not found out by every delivery failing; the value itself is never printed.
final class OutboundSecretCheckTests: XCTestCase {
    private let unusable = "hunter2 not base64!"

    func testASecretThatCannotSignFailsCheckStopsTheStartAndIsRefusedByAReload() throws {
        let harness = try OutboundHarness(destinations: [
            #"{ "name": "badkey", "url": "http://127.0.0.1:9/", "secret": { "secret": "BAD_SECRET" }, "allow_private": true }"#,
        ])
        let server = harness.server
        defer { server.stop() }
        server.environment["BAD_SECRET"] = unusable
        let expected = "\(server.configPath): outbound badkey: secret BAD_SECRET cannot sign deliveries: its value is not a Standard Webhooks key"

        let check = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath],
                                           environment: server.environment, directory: server.directory.path)
        XCTAssertEqual(check.status, 1, check.stdout)
        XCTAssertTrue(check.stderr.contains(expected), check.stderr)
        XCTAssertFalse((check.stdout + check.stderr).contains(unusable))

        XCTAssertThrowsError(try harness.start()) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        XCTAssertFalse(server.logs.contains(unusable) || server.output.contains(unusable))

        // A bare base64 value (a hex string is one) signs, as the Standard Webhooks libraries read it.
        server.environment["BAD_SECRET"] = String(repeating: "ab", count: 32)
        server.environment["LATER_SECRET"] = unusable
        try harness.start()
        let config = try String(contentsOfFile: server.configPath, encoding: .utf8)
        try server.writeConfig(config.replacingOccurrences(
            of: #""outbound": ["#,
            with: #""outbound": [{ "name": "later", "url": "http://127.0.0.1:9/", "secret": { "secret": "LATER_SECRET" }, "allow_private": true },"#))
        server.hangUp()
        XCTAssertTrue(server.waitUntil {
            server.logs.contains("config reload refused") && server.logs.contains("outbound later: secret LATER_SECRET cannot sign deliveries")
        }, server.logs)
        XCTAssertTrue(server.logs.contains(server.configPath), server.logs)
        XCTAssertEqual(try harness.emit("later").status, 404, "the running config stays")
        XCTAssertEqual(try harness.emit("badkey").status, 202)
        XCTAssertFalse(server.logs.contains(unusable))
    }
}
