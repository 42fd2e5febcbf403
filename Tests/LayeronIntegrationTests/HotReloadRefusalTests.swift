import Foundation
import LayeronCore
import XCTest

/// Files that must be refused while the serving version keeps serving, and a plugin that leaves and
/// comes back while its events wait.
final class HotReloadRefusalTests: XCTestCase {
    let secret = "whsec_refusal_secret"
    var server: TestServer!
    var output: String { server.path("billing.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(output)" } } },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "retry": { "attempts": 50, "initial": "200ms", "max": "200ms" },
                              "on": { "invoice.paid": "billing.mark_invoice_paid" } } ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// A plugin named "billing" whose descriptor or init is wrong in one way.
    private func billingImpostor(abiVersion: String = "LAYERON_PLUGIN_ABI_VERSION", initBody: String = "return LAYERON_OK;") -> String {
        """
        #include <layeron/plugin.h>
        static layeron_status handle(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)config; (void)out; static const char m[] = "cannot reach the ledger database";
            layeron_bytes message = { (const uint8_t *)m, sizeof m - 1 }; (void)message; (void)host; (void)error;
            \(initBody)
        }
        static const layeron_handler handlers[] = { { "mark_invoice_paid", handle, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = \(abiVersion), .name = "billing",
            .version = "9.9.9", .handler_count = 1, .handlers = handlers, .init = start };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
    }

    /// Lands `file` over billing.so, waits for the refusal and checks that 1.0.0 still runs events.
    private func assertRefused(_ file: String, because reason: String, _ n: Int) throws {
        try PluginBuilder.landByRename(file, into: server.pluginsDir, name: "billing.so")
        let billing = "\(server.pluginsDir)/billing.so"
        var error: String?
        XCTAssertTrue(try server.waitUntil {
            error = try server.failure(for: billing)
            return error?.contains(reason) ?? false
        }, "expected a refusal containing \"\(reason)\", got \(error ?? "none"): \(server.pluginsDump)")
        XCTAssertEqual(try server.activeVersion(of: "billing"), "1.0.0", "the serving version keeps serving")
        XCTAssertTrue(server.waitUntil { server.logs.contains("plugin refused") }, "the refusal is in the log")

        let sent = try server.postStripe(type: "invoice.paid", providerID: "evt_refused_\(n)", secret: secret)
        XCTAssertEqual(sent.status, 200)
        let id = try XCTUnwrap(sent.id)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" })
        XCTAssertEqual(try server.attempts(id).first?["plugin_version"]?.stringValue, "1.0.0")
    }

    func testBrokenWrongABIInitFailureMissingEntryAndTakenNameAreRefusedWhileTheOldVersionServes() throws {
        let broken = server.path("broken.so")
        try Data("this is not an ELF file".utf8).write(to: URL(fileURLWithPath: broken))
        try assertRefused(broken, because: "not a loadable shared library", 1)

        let wrongABI = server.path("wrong-abi.so")
        try PluginBuilder.buildC(text: billingImpostor(abiVersion: "99u"), output: wrongABI)
        try assertRefused(wrongABI, because: "built for plugin ABI version 99, this host speaks version 1", 2)

        let initFails = server.path("init-fails.so")
        try PluginBuilder.buildC(text: billingImpostor(initBody: "host->result_set_message(error, message); return LAYERON_ERROR;"), output: initFails)
        try assertRefused(initFails, because: "plugin billing failed to initialise: cannot reach the ledger database", 3)

        let noEntry = server.path("no-entry.so")
        try PluginBuilder.buildC(text: "int not_a_plugin(void) { return 0; }\n", output: noEntry)
        try assertRefused(noEntry, because: "does not export layeron_plugin_entry", 4)

        // A build cut short (its headers whole, the segments they name past the end): dlopen would
        // crash the whole process on it, so it is refused before.
        let whole = server.path("whole.so")
        try PluginBuilder.buildC(source: PluginBuilder.examplePath("billing"), output: whole)
        let truncated = server.path("truncated.so")
        try Data(contentsOf: URL(fileURLWithPath: whole)).prefix(1000).write(to: URL(fileURLWithPath: truncated))
        try assertRefused(truncated, because: "the file is cut short: its headers need", 5)

        // A second file that claims the name "billing" is refused; billing.so itself stays 1.0.0.
        let impostor = server.path("impostor.so")
        try PluginBuilder.buildC(text: billingImpostor(), output: impostor)
        try PluginBuilder.landByRename(impostor, into: server.pluginsDir, name: "billing_copy.so")
        XCTAssertTrue(try server.waitUntil {
            try server.failure(for: "\(server.pluginsDir)/billing_copy.so")?.contains("plugin name \"billing\" is already held by \(server.pluginsDir)/billing.so") ?? false
        }, "\(server.pluginsDump)")
        XCTAssertEqual(try server.activeVersion(of: "billing"), "1.0.0")

        // A good build clears the refusal.
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so",
                                  defines: [#"BILLING_VERSION="1.1.0""#])
        XCTAssertTrue(try server.waitUntil { try server.activeVersion(of: "billing") == "1.1.0" })
        XCTAssertNil(try server.failure(for: "\(server.pluginsDir)/billing.so"))
        XCTAssertTrue(server.isRunning)
    }

    /// A refusal quotes the plugin's init message: `plugins list` prints it on one line with no
    /// terminal control in it, as `events show` does with a provider's text.
    func testAnInitRefusalWithControlCharactersIsEscapedByPluginsList() throws {
        let noisy = server.path("noisy.so")
        let initBody = #"static const char n[] = "bad\xff\x1b[2J\nx"; layeron_bytes b = { (const uint8_t *)n, sizeof n - 1 }; host->result_set_message(error, b); return LAYERON_ERROR;"#
        try PluginBuilder.buildC(text: billingImpostor(initBody: initBody), output: noisy)
        try PluginBuilder.landByRename(noisy, into: server.pluginsDir, name: "billing.so")
        XCTAssertTrue(try server.waitUntil {
            try server.failure(for: "\(server.pluginsDir)/billing.so")?.contains("failed to initialise") ?? false
        }, server.pluginsDump)

        let listed = try server.runCLI(["plugins", "list"])
        XCTAssertEqual(listed.status, 0, listed.output)
        XCTAssertFalse(listed.output.unicodeScalars.contains("\u{1B}"), listed.output)
        XCTAssertTrue(listed.output.contains(#"plugin billing failed to initialise: bad\#u{FFFD}\u{1b}[2J\nx"#), listed.output)
    }

    /// A build refused once its whole descriptor was read (its init refused, or another file holds
    /// its name) shows the version it declared, so the operator can tell which build failed, and
    /// `plugins list` shows when each entry was loaded or refused.
    func testARefusedBuildShowsTheVersionItDeclared() throws {
        let initFails = server.path("init-fails.so")
        try PluginBuilder.buildC(text: billingImpostor(initBody: "host->result_set_message(error, message); return LAYERON_ERROR;"), output: initFails)
        try PluginBuilder.landByRename(initFails, into: server.pluginsDir, name: "billing.so")
        let impostor = server.path("impostor.so")
        try PluginBuilder.buildC(text: billingImpostor(), output: impostor)
        try PluginBuilder.landByRename(impostor, into: server.pluginsDir, name: "billing_copy.so")
        func failedVersion(_ name: String) throws -> String? {
            try server.pluginEntries().first { $0["file"]?.stringValue == "\(server.pluginsDir)/\(name)" && $0["state"]?.stringValue == "failed" }?["version"]?.stringValue
        }
        XCTAssertTrue(try server.waitUntil { try failedVersion("billing.so") != nil && failedVersion("billing_copy.so") != nil }, server.pluginsDump)
        XCTAssertEqual(try failedVersion("billing.so"), "9.9.9", server.pluginsDump)
        XCTAssertEqual(try failedVersion("billing_copy.so"), "9.9.9", server.pluginsDump)
        XCTAssertEqual(try server.activeVersion(of: "billing"), "1.0.0")

        let listed = try server.runCLI(["plugins", "list"])
        XCTAssertEqual(listed.status, 0, listed.output)
        XCTAssertTrue(listed.output.hasPrefix("NAME") && listed.output.contains("LOADED_AT"), listed.output)
        let refusedAt = try XCTUnwrap(server.pluginEntries().first { $0["state"]?.stringValue == "failed" }?["loaded_at"]?.stringValue)
        XCTAssertTrue(listed.output.contains(refusedAt), listed.output)
    }

    /// A plugin installed as a symbolic link (`ln -s ../build/libbilling.so plugins/billing.so`) loads
    /// when the link appears, from a copy of its target, so a rebuild that rewrites the target in
    /// place (here cut to 1,000 bytes, which would fault any mapping of it) cannot reach the code
    /// the server runs.
    func testALinkedPluginLoadsAndItsTargetRewrittenInPlaceCannotReachTheServer() throws {
        let build = server.path("build")
        try FileManager.default.createDirectory(atPath: build, withIntermediateDirectories: true)
        let target = "\(build)/libbilling.so"
        try PluginBuilder.buildC(source: PluginBuilder.examplePath("billing"), output: target, defines: [#"BILLING_VERSION="2.0.0""#])
        let link = "\(server.pluginsDir)/billing.so"
        XCTAssertEqual(unlink(link), 0)
        XCTAssertTrue(try server.waitUntil { try server.activeVersion(of: "billing") == nil }, "\(server.pluginsDump)")
        XCTAssertEqual(symlink(target, link), 0)
        XCTAssertTrue(try server.waitUntil { try server.activeVersion(of: "billing") == "2.0.0" }, "\(server.pluginsDump)")

        let head = try Data(contentsOf: URL(fileURLWithPath: target)).prefix(1000)
        let fd = open(target, O_WRONLY | O_TRUNC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(head.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, head.count)
        close(fd)

        let sent = try server.postStripe(type: "invoice.paid", providerID: "evt_linked", secret: secret)
        XCTAssertEqual(sent.status, 200)
        let id = try XCTUnwrap(sent.id)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" }, server.logs)
        XCTAssertEqual(try server.attempts(id).first?["plugin_version"]?.stringValue, "2.0.0")
        XCTAssertTrue(server.isRunning)
    }

    /// Only regular files (or links to them) are plugins: a FIFO named like one, which a copy would
    /// wait on forever, does not hold up a start.
    func testAFIFONamedLikeAPluginDoesNotHoldUpTheStart() throws {
        server.stop()
        XCTAssertEqual(mkfifo("\(server.pluginsDir)/fifo.so", 0o644), 0)
        try server.start(timeout: 10)
        XCTAssertEqual(try server.activeVersion(of: "billing"), "1.0.0")
        XCTAssertNil(try server.failure(for: "\(server.pluginsDir)/fifo.so"))
    }

    func testRemovedPluginRetiresAndItsEventsWaitUntilItReturns() throws {
        XCTAssertEqual(unlink("\(server.pluginsDir)/billing.so"), 0)
        XCTAssertTrue(try server.waitUntil { try server.activeVersion(of: "billing") == nil }, "\(server.pluginsDump)")
        // Logged just after the plugin leaves the registry, so possibly after the look above.
        XCTAssertTrue(server.waitUntil { server.logs.contains("plugin retired") }, server.logs)

        let sent = try server.postStripe(type: "invoice.paid", providerID: "evt_waiting", secret: secret)
        XCTAssertEqual(sent.status, 200, "events are acknowledged while their handler is away")
        let id = try XCTUnwrap(sent.id)
        XCTAssertTrue(try server.waitUntil { try server.attempts(id).count >= 2 })
        XCTAssertEqual(try server.event(id)["status"]?.stringValue, "pending")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output), "nothing ran it")

        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so",
                                  defines: [#"BILLING_VERSION="1.2.0""#])
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" }, server.logs)
        let attempts = try server.attempts(id)
        XCTAssertEqual(attempts.last?["plugin_version"]?.stringValue, "1.2.0")
        XCTAssertEqual(attempts.filter { $0["outcome"]?.stringValue == "ok" }.count, 1)
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].hasPrefix("mark_invoice_paid \(id) invoice.paid version=1.2.0"), String(lines[0]))
    }
}
