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

        try assertCheckAndStartRefuse(harness, saying: expected, without: unusable)

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

    /// A header's value from a secret is checked as a value written in the config is: a line break
    /// would end the header, and what follows it would go out as headers of its own (a forged
    /// webhook-id before the real one).
    func testAHeaderSecretWithALineBreakFailsCheckStopsTheStartAndIsRefusedByAReload() throws {
        let injecting = "Bearer tok\r\nX-Injected: yes\r\nwebhook-id: forged"
        let harness = try OutboundHarness(destinations: [
            #"{ "name": "keyed", "url": "http://127.0.0.1:9/", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "headers": { "Authorization": { "secret": "OUT_TOKEN" } } }"#,
        ])
        let server = harness.server
        defer { server.stop() }
        server.environment["OUT_TOKEN"] = injecting
        let expected = "\(server.configPath): outbound keyed header Authorization: secret OUT_TOKEN cannot be sent as a header: its value holds a line break or NUL"

        try assertCheckAndStartRefuse(harness, saying: expected, without: "X-Injected")

        server.environment["OUT_TOKEN"] = "Bearer tok"
        server.environment["LATER_TOKEN"] = injecting
        try harness.start()
        let config = try String(contentsOfFile: server.configPath, encoding: .utf8)
        try server.writeConfig(config.replacingOccurrences(
            of: #""outbound": ["#,
            with: #""outbound": [{ "name": "later", "url": "http://127.0.0.1:9/", "secret": { "secret": "SW_SECRET" }, "allow_private": true, "headers": { "X-Key": { "secret": "LATER_TOKEN" } } },"#))
        server.hangUp()
        XCTAssertTrue(server.waitUntil {
            server.logs.contains("config reload refused") && server.logs.contains("outbound later header X-Key: secret LATER_TOKEN cannot be sent as a header")
        }, server.logs)
        XCTAssertEqual(try harness.emit("later").status, 404, "the running config stays")
        XCTAssertEqual(try harness.emit("keyed").status, 202)
        XCTAssertFalse(server.logs.contains("X-Injected"))
    }

    /// `check` fails and `serve` does not start, both with the line `expected`; neither prints
    /// `secretText`.
    private func assertCheckAndStartRefuse(_ harness: OutboundHarness, saying expected: String, without secretText: String,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        let server = harness.server
        let check = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath],
                                           environment: server.environment, directory: server.directory.path)
        XCTAssertEqual(check.status, 1, check.stdout, file: file, line: line)
        XCTAssertTrue(check.stderr.contains(expected), check.stderr, file: file, line: line)
        XCTAssertFalse((check.stdout + check.stderr).contains(secretText), file: file, line: line)

        XCTAssertThrowsError(try harness.start(), file: file, line: line) { XCTAssertTrue("\($0)".contains(expected), "\($0)", file: file, line: line) }
        XCTAssertFalse(server.logs.contains(secretText) || server.output.contains(secretText), file: file, line: line)
    }
}
