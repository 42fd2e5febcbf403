import Foundation
import LayeronCore
import XCTest

/// Each example plugin — C, Swift (LayeronPluginKit, SwiftPM dynamic library) and Rust (plain rustc)
/// — is built here, loaded by the real server and handles a real signed event; `layeron check` and
/// `layeron plugins list` show its name, version, ABI version and handlers.
final class PluginExamplesTests: XCTestCase {
    let secret = "whsec_examples_secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// Routes one Stripe event type to `handler` and gives each of `plugins` an output file.
    private func start(handler: String, plugins: [String]) throws {
        let configs = plugins.map { name in "\"\(name)\": { \"output\": \"\(server.path(name + ".log"))\" }" }.joined(separator: ", ")
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)", "config": { \(configs) } },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "on": { "invoice.paid": "\(handler)" } } ]
            }
            """)
        try server.start()
    }

    private func handleOneEvent() throws -> (id: String, attempt: JSONValue) {
        let sent = try server.postStripe(type: "invoice.paid", providerID: "evt_example_1", secret: secret)
        XCTAssertEqual(sent.status, 200)
        let id = try XCTUnwrap(sent.id)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" }, server.logs)
        let attempts = try server.attempts(id)
        XCTAssertEqual(attempts.count, 1)
        return (id, try XCTUnwrap(attempts.first))
    }

    private func lines(_ plugin: String) -> [String] {
        ((try? String(contentsOfFile: server.path("\(plugin).log"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testCExampleHandlesARealEvent() throws {
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try start(handler: "billing.mark_invoice_paid", plugins: ["billing"])
        let (id, attempt) = try handleOneEvent()
        XCTAssertEqual(attempt["plugin"]?.stringValue, "billing")
        XCTAssertEqual(attempt["plugin_version"]?.stringValue, "1.0.0")
        XCTAssertEqual(lines("billing"), ["mark_invoice_paid \(id) invoice.paid version=1.0.0 attempt=1 replay=0"])
    }

    func testSwiftExampleBuiltWithSwiftPMHandlesARealEvent() throws {
        let library = try PluginBuilder.buildSwiftExample()
        try PluginBuilder.landByRename(library, into: server.pluginsDir, name: "audit.so")
        try start(handler: "audit.record", plugins: ["audit"])
        let (id, attempt) = try handleOneEvent()
        XCTAssertEqual(attempt["outcome"]?.stringValue, "ok")
        XCTAssertEqual(attempt["plugin"]?.stringValue, "audit")
        XCTAssertEqual(attempt["plugin_version"]?.stringValue, "1.0.0")
        XCTAssertEqual(attempt["error"]?.stringValue, "recorded by audit 1.0.0")
        let expectedBytes = try XCTUnwrap(server.event(id)["body"]?.stringValue).utf8.count
        XCTAssertEqual(lines("audit"), ["record \(id) invoice.paid version=1.0.0 attempt=1 replay=0 bytes=\(expectedBytes)"])
        XCTAssertTrue(server.logs.contains("audit 1.0.0 ready"), "the kit's host.log reaches the server log")

        // Swapping a Swift plugin retires the old image without dlclose; the new one serves.
        try PluginBuilder.landByRename(library, into: server.pluginsDir, name: "audit.so")
        XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "audit 1.0.0 ready").count == 3 }, server.logs)
        let again = try server.postStripe(type: "invoice.paid", providerID: "evt_example_2", secret: secret)
        let second = try XCTUnwrap(again.id)
        XCTAssertTrue(try server.waitUntil { try server.event(second)["status"]?.stringValue == "processed" }, server.logs)
        XCTAssertEqual(lines("audit").count, 2)
        XCTAssertTrue(server.isRunning)
    }

    /// A Swift plugin whose config does not decode is refused with the key in the config's terms,
    /// not `JSONDecoder`'s debug dump, and with the entry it would come from, which is absent.
    func testSwiftExampleWithoutItsConfigIsRefusedNamingTheKey() throws {
        try PluginBuilder.landByRename(try PluginBuilder.buildSwiftExample(), into: server.pluginsDir, name: "audit.so")
        try start(handler: "audit.record", plugins: [])
        let failure = try server.failure(for: "\(server.pluginsDir)/audit.so")
        XCTAssertEqual(failure, "\(server.pluginsDir)/audit.so: plugin audit failed to initialise: config.output is missing; its config would be plugins.config.audit in \(server.configPath), which is absent or not an object, so init got {}")
    }

    func testRustExampleBuiltWithRustcHandlesARealEvent() throws {
        let library = server.path("ledger.so")
        guard try PluginBuilder.buildRustExample(output: library) else { throw XCTSkip("rustc is not installed") }
        try PluginBuilder.landByRename(library, into: server.pluginsDir, name: "ledger.so")
        try start(handler: "ledger.record", plugins: [])
        let (id, attempt) = try handleOneEvent()
        XCTAssertEqual(attempt["outcome"]?.stringValue, "ok")
        XCTAssertEqual(attempt["plugin_version"]?.stringValue, "1.0.0")
        let message = try XCTUnwrap(attempt["error"]?.stringValue)
        let bodyBytes = try XCTUnwrap(server.event(id)["body"]?.stringValue).utf8.count
        XCTAssertTrue(message.hasPrefix("ledger 1.0.0 recorded \(id) invoice.paid via record: \(bodyBytes) body bytes"), message)
        XCTAssertTrue(message.hasSuffix("attempt 1, replay false"), message)
        XCTAssertTrue(server.logs.contains("ledger 1.0.0 recorded \(id)"), "host log from Rust reaches the server log")
    }

    func testCheckAndPluginsListShowNameVersionABIAndHandlers() throws {
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so",
                                  defines: [#"BILLING_VERSION="3.1.4""#])
        try PluginBuilder.landByRename(try PluginBuilder.buildSwiftExample(), into: server.pluginsDir, name: "audit.so")
        try start(handler: "billing.mark_invoice_paid", plugins: ["billing", "audit"])

        let check = try server.runCLI(["check", "--config", server.configPath])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains("plugin billing 3.1.4 (ABI v1) from \(server.pluginsDir)/billing.so: handlers fulfill_checkout, mark_invoice_paid"), check.output)
        XCTAssertTrue(check.output.contains("plugin audit 1.0.0 (ABI v1) from \(server.pluginsDir)/audit.so: handlers record"), check.output)

        let list = try server.runCLI(["plugins", "list"])
        XCTAssertEqual(list.status, 0, list.output)
        let cells = list.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(cells.first?[5], "LOADED_AT", list.output)
        let loadedAt = try server.pluginEntries().compactMap { $0["loaded_at"]?.stringValue }
        XCTAssertEqual(Set(cells.dropFirst().map { $0[5] }), Set(loadedAt), list.output)
        let rows = cells.map { row in row.enumerated().filter { $0.offset != 5 }.map(\.element) }
        XCTAssertTrue(rows.contains(["audit", "1.0.0", "1", "true", "active", "record", "\(server.pluginsDir)/audit.so"]), list.output)
        XCTAssertTrue(rows.contains(["billing", "3.1.4", "1", "true", "active", "fulfill_checkout,mark_invoice_paid", "\(server.pluginsDir)/billing.so"]), list.output)
    }
}
