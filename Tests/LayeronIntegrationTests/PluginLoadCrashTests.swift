import Foundation
import LayeronCore
import XCTest

/// A plugin whose `init` crashes takes the process down with it (it runs in-process); what must not
/// follow is a crash loop. The next start, a hot-reload scan and `layeron check` refuse the unchanged
/// file, the rest of the server runs, and a new build of the file is tried again.
final class PluginLoadCrashTests: XCTestCase {
    let secret = "whsec_crash_secret"
    var server: TestServer!
    var crashing: String { "\(server.pluginsDir)/crashinit.so" }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(server.path("billing.log"))" } } },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "on": { "invoice.paid": "billing.mark_invoice_paid" } } ]
            }
            """)
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// A plugin named "crashinit" whose init does `initBody`.
    private func build(initBody: String, to output: String) throws {
        try PluginBuilder.buildC(text: """
            #include <layeron/plugin.h>
            static layeron_status handle(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
            static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
                (void)host; (void)config; (void)error; (void)out;
                \(initBody)
            }
            static const layeron_handler handlers[] = { { "go", handle, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "crashinit", .version = "1.0.0", .handler_count = 1, .handlers = handlers, .init = start };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, output: output)
    }

    private func buildCrashing() throws -> String {
        let file = server.path("crashinit-build.so")
        try build(initBody: "volatile int *p = 0; *p = 1; return LAYERON_OK;", to: file)
        return file
    }

    /// The server is up, billing serves an event, and crashinit.so is refused because `loader` stopped in its init.
    private func assertServesWithCrashingFileRefused(by loader: String, _ n: Int) throws {
        let failure = try XCTUnwrap(try server.failure(for: crashing), server.pluginsDump)
        XCTAssertTrue(failure.hasPrefix("\(crashing): \(loader) stopped while its init ran (pid "), failure)
        XCTAssertTrue(failure.hasSuffix("refused until the file changes, since loading it again would stop this process too (replace it with a fixed build, or touch it to try this one again)"), failure)
        XCTAssertTrue(server.logs.contains("plugin refused"), server.logs)
        let list = try server.runCLI(["plugins", "list"])
        XCTAssertTrue(list.output.split(separator: "\n").contains { $0.hasPrefix("crashinit ") && $0.contains(" failed ") },
                      "the refused row shows the plugin name its marker recorded: \(list.output)")
        XCTAssertTrue(list.output.contains("error: \(crashing): \(loader) stopped while its init ran"), list.output)

        let sent = try server.postStripe(type: "invoice.paid", providerID: "evt_after_crash_\(n)", secret: secret)
        XCTAssertEqual(sent.status, 200)
        let id = try XCTUnwrap(sent.id)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "processed" })
    }

    func testAPluginWhoseInitCrashesAtStartIsRefusedOnTheNextStartUntilItsFileChanges() throws {
        try PluginBuilder.landByRename(try buildCrashing(), into: server.pluginsDir, name: "crashinit.so")
        XCTAssertThrowsError(try server.start(), "the crash takes the first start down")
        // The last line before the crash names the user's file, not the private copy.
        XCTAssertTrue(server.logs.contains(#""msg":"loading plugin","file":"\#(crashing)""#), server.logs)

        try server.start()
        try assertServesWithCrashingFileRefused(by: "the server", 1)

        // A new build is a new file: tried again, and this one starts.
        let fixed = server.path("crashinit-fixed.so")
        try build(initBody: "return LAYERON_OK;", to: fixed)
        try PluginBuilder.landByRename(fixed, into: server.pluginsDir, name: "crashinit.so")
        XCTAssertTrue(try server.waitUntil { try server.activeVersion(of: "crashinit") == "1.0.0" }, server.pluginsDump)
        XCTAssertNil(try server.failure(for: crashing))
    }

    func testAPluginDroppedInThatCrashesTheServerIsRefusedByCheckAndTheNextStartAndCheckNamesItsOwnCrash() throws {
        try server.start()
        try PluginBuilder.landByRename(try buildCrashing(), into: server.pluginsDir, name: "crashinit.so")
        XCTAssertTrue(server.waitUntil { !server.isRunning }, "the hot reload's crash takes the server down")

        let check = { try CommandRun.layeron(["check", "--config", self.server.configPath, "--database", self.server.databasePath, "--env", "test"],
                                             environment: ["STRIPE_WEBHOOK_SECRET": self.secret]) }
        let refused = try check()
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("\(crashing): the server stopped while its init ran"), refused.stderr)

        // A new modification time, as `touch` gives: a new identity, so check tries it, crashes, and
        // said which file it was loading.
        let later = Date().addingTimeInterval(5)
        try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: crashing)
        let crashed = try check()
        XCTAssertEqual(crashed.status, SIGSEGV, crashed.stdout + crashed.stderr)
        XCTAssertEqual(crashed.stdout.split(separator: "\n").last.map(String.init), "loading plugin file \(crashing)", crashed.stdout)
        let again = try check()
        XCTAssertEqual(again.status, 1, again.stdout + again.stderr)
        XCTAssertTrue(again.stderr.contains("\(crashing): layeron check stopped while its init ran"), again.stderr)

        try server.start()
        try assertServesWithCrashingFileRefused(by: "layeron check", 2)
    }

    /// `check` often runs before the first `serve` has made the data folder (a fresh checkout, CI):
    /// it makes the folder (private, as `serve` does) to record its own crash, so the next check
    /// refuses the file instead of crashing again.
    func testACheckThatCrashesBeforeTheDataFolderExistsIsRecordedAndTheNextCheckRefusesTheFile() throws {
        try PluginBuilder.landByRename(try buildCrashing(), into: server.pluginsDir, name: "crashinit.so")
        let folder = server.path("fresh/data")
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.path("fresh")))
        let check = { try CommandRun.layeron(["check", "--config", self.server.configPath, "--database", "\(folder)/layeron.db", "--env", "test"],
                                             environment: ["STRIPE_WEBHOOK_SECRET": self.secret]) }
        let crashed = try check()
        XCTAssertEqual(crashed.status, SIGSEGV, crashed.stdout + crashed.stderr)
        let again = try check()
        XCTAssertEqual(again.status, 1, again.stdout + again.stderr)
        XCTAssertTrue(again.stderr.contains("\(crashing): layeron check stopped while its init ran"), again.stderr)
        for made in [server.path("fresh"), folder, "\(folder)/plugin-loads"] {
            let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: made)[.posixPermissions] as? Int, made)
            XCTAssertEqual(mode & 0o777, 0o700, made)
        }
    }
}
