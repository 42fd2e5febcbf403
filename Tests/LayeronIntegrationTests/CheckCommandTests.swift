import Foundation
import LayeronCrypto
import XCTest

/// `layeron check` names where each problem's fix goes and lists every problem in one run.
final class CheckCommandTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    private func check() throws -> CommandRun {
        try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", "test"],
                               environment: ["STRIPE_WEBHOOK_SECRET": "whsec_test", "LAYERON_MASTER_KEY": testMasterKey], removing: secretVariables,
                               directory: server.directory.path)
    }

    /// A refusal from `init` is caused by the plugin's config as often as by its file: the message
    /// names the config file and `plugins.config.NAME` too.
    func testInitRefusalNamesTheConfigKey() throws {
        try PluginBuilder.buildC(source: PluginBuilder.fixturePath("behaviours"), output: "\(server.pluginsDir)/behaviours.so")
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { "wrong": 1 } } } }
            """)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("\(server.pluginsDir)/behaviours.so: plugin behaviours failed to initialise: config needs output; its config is plugins.config.behaviours in \(server.configPath)"), run.stderr)
    }

    /// A plugin's refusal is text it chose: `check` prints it on one line without terminal control,
    /// as `plugins list` and the log do (an escape sequence reached the terminal raw).
    func testAPluginsRefusalIsPrintedWithoutTerminalControl() throws {
        let source = server.directory.appendingPathComponent("refuses.c").path
        try #"""
            #include <string.h>
            #include <layeron/plugin.h>
            static layeron_status init(const layeron_host *h, layeron_bytes c, layeron_result *e, void **o) {
                (void)c; (void)o;
                const char *m = "refusing: \x1b[31mred\nsecond line";
                layeron_bytes b = { (const uint8_t *)m, strlen(m) };
                h->result_set_message(e, b);
                return LAYERON_ERROR;
            }
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "refuses", .version = "1", .init = init };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """#.write(toFile: source, atomically: true, encoding: .utf8)
        try PluginBuilder.buildC(source: source, output: "\(server.pluginsDir)/refuses.so")
        try server.writeConfig(#"{ "plugins": { "dir": "\#(server.pluginsDir)" } }"#)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertFalse(run.stderr.contains("\u{1B}"), run.stderr)
        XCTAssertTrue(run.stderr.contains(#"refusing: \u{1b}[31mred\nsecond line"#), run.stderr)
    }

    /// `check` runs each plugin's `init` as `serve` does; what the plugin logs there (often why it
    /// refuses) reached nothing. Lines at info and above are printed on standard error, one line
    /// each with the plugin's name and level, without terminal control; debug lines are not.
    func testWhatAPluginLogsAsItStartsIsPrinted() throws {
        let source = server.directory.appendingPathComponent("talks.c").path
        try #"""
            #include <string.h>
            #include <layeron/plugin.h>
            static void say(const layeron_host *h, layeron_log_level level, const char *m) {
                layeron_bytes b = { (const uint8_t *)m, strlen(m) };
                h->log(h, level, b);
            }
            static layeron_status init(const layeron_host *h, layeron_bytes c, layeron_result *e, void **o) {
                (void)c; (void)e; (void)o;
                say(h, LAYERON_LOG_DEBUG, "debug detail");
                say(h, LAYERON_LOG_INFO, "queue at /var/spool/talks");
                say(h, LAYERON_LOG_WARN, "token \x1b[31mexpires\nsoon");
                return LAYERON_OK;
            }
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "talks", .version = "1", .init = init };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """#.write(toFile: source, atomically: true, encoding: .utf8)
        try PluginBuilder.buildC(source: source, output: "\(server.pluginsDir)/talks.so")
        try server.writeConfig(#"{ "plugins": { "dir": "\#(server.pluginsDir)" } }"#)
        let run = try check()
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("plugin talks (info): queue at /var/spool/talks"), run.stderr)
        XCTAssertTrue(lines.contains(#"plugin talks (warn): token \u{1b}[31mexpires\nsoon"#), run.stderr)
        XCTAssertFalse(run.stderr.contains("debug detail"), run.stderr)
        XCTAssertFalse(run.stderr.contains("\u{1B}"), run.stderr)
    }

    /// An `init` that emits gets what `serve` would answer (check sends nothing): accepted for a
    /// configured destination, refused for an unknown one. Every emit was refused as if no
    /// destination were configured, so an `init` that emits passed under `serve` and failed here.
    func testEmitsFromInitAreAnsweredAsServeWouldAndNotSent() throws {
        let source = server.directory.appendingPathComponent("emits.c").path
        try #"""
            #include <stdio.h>
            #include <string.h>
            #include <layeron/plugin.h>
            static layeron_bytes t(const char *s) { layeron_bytes b = { (const uint8_t *)s, strlen(s) }; return b; }
            static layeron_status init(const layeron_host *h, layeron_bytes c, layeron_result *e, void **o) {
                (void)c; (void)e; (void)o;
                char line[64];
                snprintf(line, sizeof line, "emits %d %d", h->emit(h, t("partner"), t("order.paid"), t("{}"), t("")),
                         h->emit(h, t("nobody"), t("order.paid"), t("{}"), t("")));
                h->log(h, LAYERON_LOG_INFO, t(line));
                return LAYERON_OK;
            }
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "emits", .version = "1", .init = init };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """#.write(toFile: source, atomically: true, encoding: .utf8)
        try PluginBuilder.buildC(source: source, output: "\(server.pluginsDir)/emits.so")
        // A destination that would take the delivery, had check sent it.
        let receiver = try ScriptedReceiver(replies: [])
        defer { receiver.stop() }
        try server.writeConfig(#"""
            { "plugins": { "dir": "\#(server.pluginsDir)" },
              "outbound": [{ "name": "partner", "url": "\#(receiver.url)", "allow_private": true, "secret": { "secret": "PARTNER_SECRET" } }] }
            """#)
        let run = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", "test"],
                                         environment: ["PARTNER_SECRET": "whsec_" + ByteEncoding.base64.encode(Array(repeating: 7, count: 32)),
                                                       "LAYERON_MASTER_KEY": testMasterKey], removing: secretVariables,
                                         directory: server.directory.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stderr.contains("plugin emits (info): emits 0 4"), "LAYERON_OK, LAYERON_INVALID: \(run.stderr)")
        XCTAssertTrue(run.stderr.contains(#"emit refused: no outbound destination "nobody"; configured: partner"#), run.stderr)
        // Answered LAYERON_OK, and still neither sent nor stored.
        usleep(300_000)
        XCTAssertEqual(receiver.connections, 0, "check delivered an emit from init")
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.databasePath), "check created the database, where an emit is stored")
    }

    /// A refused database (`:memory:`) is reported, and nothing is written for it: the load record
    /// folder was made in the current folder, beside a database that is no file.
    func testARefusedDatabaseIsReportedAndNothingIsWrittenForIt() throws {
        try PluginBuilder.buildC(source: PluginBuilder.fixturePath("behaviours"), output: "\(server.pluginsDir)/behaviours.so")
        try server.writeConfig(#"{ "database": ":memory:", "plugins": { "dir": "\#(server.pluginsDir)", "config": { "behaviours": { "output": "x.log" } } } }"#)
        let folder = server.directory.appendingPathComponent("cwd-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let run = try CommandRun.layeron(["check", "--config", server.configPath, "--env", "test"],
                                         environment: ["STRIPE_WEBHOOK_SECRET": "whsec_test", "LAYERON_MASTER_KEY": testMasterKey],
                                         removing: secretVariables, directory: folder)
        XCTAssertEqual(run.status, 1, run.stdout + run.stderr)
        XCTAssertTrue(run.stderr.contains(#"database: is ":memory:""#), run.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [])
    }

    /// A `plugins.config` entry for a name no plugin declares (a typo) is a problem, naming the key
    /// and the names the plugins do declare; a plugin that refused to start still declared its name.
    func testConfigForAPluginNoFileDeclaresIsAProblem() throws {
        try PluginBuilder.buildC(source: PluginBuilder.fixturePath("behaviours"), output: "\(server.pluginsDir)/behaviours.so")
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)",
                           "config": { "behaviour": { "output": "x.log" }, "behaviours": { "output": "\(server.path("out.log"))" } } } }
            """)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertEqual(run.stderr, "\(server.configPath): plugins.config.behaviour: no plugin in \(server.pluginsDir) is named behaviour (plugin names there: behaviours)\n")

        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { } } } }
            """)
        let refused = try check()
        // The entry names a plugin that is there, so the problem left is the plugin's own refusal.
        XCTAssertFalse(refused.stderr.contains("no plugin in"), refused.stderr)
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertEqual(refused.stderr, "\(server.pluginsDir)/behaviours.so: plugin behaviours failed to initialise: config needs output; "
                                       + "its config is plugins.config.behaviours in \(server.configPath)\n")
    }

    /// Config issues do not hide the rest: handlers no plugin provides and secrets that resolve
    /// nowhere are listed in the same run.
    func testConfigIssuesDoNotHideHandlersAndSecrets() throws {
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)" }, "workers": 0,
              "webhooks": [ { "name": "a", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" }, "handler": "nosuch.handle" },
                            { "name": "b", "path": "/b", "provider": "github", "secret": { "secret": "GITHUB_NOT_SET" } } ] }
            """)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): workers:"), run.stderr)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): webhooks[0] (a): handler nosuch.handle is not provided"), run.stderr)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): webhook b: secret GITHUB_NOT_SET is not set for environment test"), run.stderr)
    }

    /// The folder the plugins' private copies go to is removed when `check` ends (each run left
    /// one, empty, in the temporary folder).
    func testCheckLeavesNoPrivateFolderBehind() throws {
        try PluginBuilder.buildC(source: PluginBuilder.fixturePath("behaviours"), output: "\(server.pluginsDir)/behaviours.so")
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { "output": "\(server.path("out.log"))" } } } }
            """)
        let temporary = server.path("tmp")
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let run = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", "test"],
                                         environment: ["TMPDIR": temporary + "/", "LAYERON_MASTER_KEY": testMasterKey], removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("plugin behaviours"), run.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temporary), [])
    }

    /// A handler reference whose plugin is there but lacks the handler (a typo) lists what the
    /// plugin does provide.
    func testAHandlerThePluginLacksListsWhatItProvides() throws {
        try PluginBuilder.buildC(source: PluginBuilder.fixturePath("behaviours"), output: "\(server.pluginsDir)/behaviours.so")
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { "output": "\(server.path("out.log"))" } } },
              "webhooks": [ { "name": "a", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" }, "handler": "behaviours.okay" } ] }
            """)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): webhooks[0] (a): handler behaviours.okay is not provided: "
                                          + "plugin behaviours does not provide it (plugin behaviours provides: ok, flaky, "), run.stderr)
    }

    /// A webhook refused for its own mistake is not in the loaded list: the ones after it are still
    /// named by their place in the file.
    func testAHandlerProblemNamesTheWebhooksPlaceInTheFile() throws {
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "ok1", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } },
                            { "name": "bad", "path": "/bad", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "dedupe": { "key": "nope" } },
                            { "name": "e19", "path": "/e19", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "on": { "x": "billing.nope" } } ] }
            """)
        let run = try check()
        XCTAssertEqual(run.status, 1, run.stdout)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): webhooks[1].dedupe.key: "), run.stderr)
        XCTAssertTrue(run.stderr.contains("\(server.configPath): webhooks[2] (e19): handler billing.nope is not provided"), run.stderr)
    }
}
