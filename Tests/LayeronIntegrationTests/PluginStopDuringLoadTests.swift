import Foundation
import XCTest

/// A stop that comes while a plugin's `init` runs: a slow one is waited for and its version shut
/// down, a hung one is waited for only so long, and neither holds up newer builds of the plugin.
final class PluginStopDuringLoadTests: XCTestCase {
    let secret = "stop-during-load-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
    }

    override func tearDown() {
        server.kill()
        server = nil
    }

    /// The load finished after the stop's shutdown pass and installed its version, whose `shutdown`
    /// then never ran (the process exited under the `init`, or after it, with the version live).
    func testAStopDuringASlowInitShutsTheNewVersionDown() throws {
        let started = server.path("started"), shutdown = server.path("shutdown")
        try writeConfig(#"{"sleep_ms": "2000", "started": "\#(started)", "shutdown": "\#(shutdown)"}"#)
        try server.start()
        try land(version: "1")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: started) }, "init started: \(server.logs)")
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 20) { !server.isRunning }, "the stop ends once the init returns: \(server.logs)")
        XCTAssertEqual(lines(shutdown), ["1"], "the version whose init returned during the stop was shut down: \(server.logs)")
        XCTAssertTrue(server.logs.contains("plugin load finished after the stop began"), server.logs)
        XCTAssertEqual(server.exit?.status, 0, server.logs)
    }

    /// A changed `plugins.config` entry starts a new version on the config watcher's thread; its
    /// `init` never returns. The stop waited for that thread for ever. The next start refuses the
    /// unchanged file, as it would one whose load crashed, but said it was refused because loading
    /// it again "would stop this process too", which a stop that gave up waiting never showed.
    func testAStopWhileAReloadsInitHangsEndsInBoundedTimeNamingThePlugin() throws {
        let started = server.path("started"), shutdown = server.path("shutdown")
        try writeConfig(#"{"shutdown": "\#(shutdown)"}"#)
        try PluginBuilder.buildC(text: Self.source(version: "1"), output: "\(server.pluginsDir)/slowstop.so")
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "slowstop"), "1")
        try writeConfig(#"{"hang": "yes", "started": "\#(started)", "shutdown": "\#(shutdown)"}"#)
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: started) }, "the new init hangs: \(server.logs)")
        let stopAt = Date()
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 30) { !server.isRunning }, "the stop waits for a hung init only so long: \(server.logs)")
        XCTAssertGreaterThan(Date().timeIntervalSince(stopAt), 5, "the stop waited for the init a while first")
        XCTAssertTrue(server.logs.contains("stopping without waiting any longer for the load of \(server.pluginsDir)/slowstop.so: plugin slowstop's init has not returned"),
                      server.logs)
        XCTAssertEqual(lines(shutdown), ["1"], "the serving version was shut down: \(server.logs)")

        try server.start()
        let file = "\(server.pluginsDir)/slowstop.so"
        let refusal = try XCTUnwrap(try server.failure(for: file), "the file whose init the stop gave up on is refused: \(server.logs)")
        XCTAssertTrue(refusal.hasPrefix("\(file): the last stop of the server gave up waiting for plugin slowstop's init after its load had run "),
                      refusal)
        XCTAssertTrue(refusal.hasSuffix("; refused until the file changes, since it may hang again (fix it, or touch the file to try this build again)"),
                      refusal)
    }

    /// A dropped build whose `init` hangs: a newer build still loads and serves, the log names the
    /// plugin whose `init` runs long, and the stop ends in bounded time.
    func testANewerBuildServesWhileAnOlderInitHangsAndTheLogNamesIt() throws {
        let started = server.path("started"), shutdown = server.path("shutdown")
        try writeConfig(#"{"hang": "yes", "started": "\#(started)", "shutdown": "\#(shutdown)"}"#)
        try server.start()
        try land(version: "1")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: started) }, "init hangs: \(server.logs)")
        try land(version: "2", waits: false)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try server.activeVersion(of: "slowstop") == "2" }, "the newer build serves: \(server.logs)")
        XCTAssertTrue(server.waitUntil(timeout: 20) { server.logs.contains("plugin slowstop's init has run for 10s and not returned") },
                      "a long init is named: \(server.logs)")
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 30) { !server.isRunning }, "the stop waits for a hung init only so long: \(server.logs)")
        XCTAssertTrue(server.logs.contains("plugin slowstop's init has not returned"), server.logs)
        XCTAssertEqual(lines(shutdown), ["2"], "the serving version was shut down: \(server.logs)")
    }

    /// The stop's wait for loads was counted from the signal, so a drain longer than it (a handler
    /// running on) left a load still in `init` no wait at all: the process left under it, its version
    /// was never shut down, and its load marker made the next start refuse the unchanged file.
    func testADrainLongerThanTheStopWaitLeavesALoadItsWait() throws {
        let handlerGate = server.path("handler-gate"), initGate = server.path("init-gate"), shutdown = server.path("shutdown")
        try writeConfig(#"{"handler_gate": "\#(handlerGate)", "gate": "\#(initGate)", "shutdown": "\#(shutdown)"}"#)
        try PluginBuilder.buildC(text: Self.source(version: "1", waits: false), output: "\(server.pluginsDir)/slowstop.so")
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "slowstop"), "1")
        XCTAssertEqual(try server.postSigned("hook", #"{"id": "long", "type": "t"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: handlerGate + ".waiting") },
                      "the handler runs: \(server.logs)")
        try land(version: "2")
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: initGate + ".waiting") },
                      "the new build's init runs: \(server.logs)")

        server.send(SIGTERM)
        // The drain outlasts the stop's wait for plugins' code, then the init returns a moment later.
        Thread.sleep(forTimeInterval: 11)
        XCTAssertTrue(server.isRunning, "the drain waits for the running handler: \(server.logs)")
        XCTAssertTrue(FileManager.default.createFile(atPath: handlerGate, contents: nil))
        _ = server.waitUntil(timeout: 1) { !server.isRunning }
        XCTAssertTrue(FileManager.default.createFile(atPath: initGate, contents: nil))
        XCTAssertTrue(server.waitUntil(timeout: 15) { !server.isRunning }, "the stop ends once the init returns: \(server.logs)")
        XCTAssertEqual(lines(shutdown), ["1", "2"], "the version whose init returned after the drain was shut down: \(server.logs)")
        XCTAssertFalse(server.logs.contains("stopping without waiting any longer"), server.logs)
        XCTAssertEqual(server.exit?.status, 0, server.logs)

        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "slowstop"), "2", "the next start loads the unchanged file: \(server.logs)")
    }

    /// Removing the file that holds a name loads the file refused for wanting it; that `init` never
    /// returns. The load ran on the plugins folder watch's own thread, and the stop waited for the
    /// watch for ever; then only so long, still naming the watch as stuck. It runs on a load thread
    /// now: the watch stops at once, and the stop waits for the load only so long.
    func testAStopWhileALoadARemovalStartedHangsEndsInBoundedTime() throws {
        let started = server.path("started"), shutdown = server.path("shutdown")
        let holder = "\(server.pluginsDir)/a.so", waiter = "\(server.pluginsDir)/b.so"
        try writeConfig(#"{"hang": "yes", "started": "\#(started)", "shutdown": "\#(shutdown)"}"#)
        try PluginBuilder.buildC(text: Self.source(version: "1", waits: false), output: holder)
        try PluginBuilder.buildC(text: Self.source(version: "2"), output: waiter)
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "slowstop"), "1")
        XCTAssertNotNil(try server.failure(for: waiter), "b.so waits for the name a.so holds: \(server.logs)")
        try FileManager.default.removeItem(atPath: started)
        try FileManager.default.removeItem(atPath: holder)
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: started) }, "b.so's init hangs: \(server.logs)")
        let stopAt = Date()
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 30) { !server.isRunning }, "the stop waits for the load only so long: \(server.logs)")
        XCTAssertGreaterThan(Date().timeIntervalSince(stopAt), 5, "the stop waited for the init a while first")
        XCTAssertFalse(server.logs.contains("stopped waiting for the watch of"), "the watch is not held by the load: \(server.logs)")
        XCTAssertTrue(server.logs.contains("stopping without waiting any longer for the load of \(waiter): plugin slowstop's init has not returned"),
                      server.logs)
        XCTAssertEqual(lines(shutdown), ["1"], "the removed file's version was shut down: \(server.logs)")
        XCTAssertEqual(server.exit?.status, 0, server.logs)
    }

    private func land(version: String, waits: Bool = true) throws {
        let staged = server.path("slowstop-\(version).so")
        try PluginBuilder.buildC(text: Self.source(version: version, waits: waits), output: staged)
        try PluginBuilder.landByRename(staged, into: server.pluginsDir, name: "slowstop.so")
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    private func writeConfig(_ pluginConfig: String) throws {
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "slowstop": \(pluginConfig) } },
              "webhooks": [ { "name": "hook", "provider": "custom", "handler": "slowstop.go",
                "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
                "event": {"id": "body.id", "type": "body.type"} } ]
            }
            """)
    }

    /// A plugin whose `init` creates the file `"started"` names, then sleeps `"sleep_ms"`, waits
    /// until the file `"gate"` names exists (creating it with `.waiting` appended first) or, with
    /// `"hang"`, never returns (unless built with `waits` false); its `shutdown` appends its version
    /// to the file `"shutdown"` names. Its handler waits likewise for the file `"handler_gate"` names.
    static func source(version: String, waits: Bool = true) -> String {
        """
        #include <layeron/plugin.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        static char shutdown_marker[1024], handler_gate[1024];
        static void wait_at(const char *gate) {
            char waiting[1100];
            snprintf(waiting, sizeof waiting, "%s.waiting", gate);
            FILE *f = fopen(waiting, "w");
            if (f) fclose(f);
            while (access(gate, F_OK) != 0) usleep(10000);
        }
        static layeron_status go(void *i, const layeron_event *e, layeron_result *r) {
            (void)i; (void)e; (void)r;
            if (handler_gate[0]) wait_at(handler_gate);
            return LAYERON_OK;
        }
        \(GatedInitPlugin.stringOf)
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)host; (void)error; (void)out;
            char text[4096] = { 0 }, value[1024];
            memcpy(text, config.ptr, config.len < sizeof text - 1 ? config.len : sizeof text - 1);
            string_of(text, "\\"shutdown\\"", shutdown_marker, sizeof shutdown_marker);
            string_of(text, "\\"handler_gate\\"", handler_gate, sizeof handler_gate);
            if (string_of(text, "\\"started\\"", value, sizeof value)) { FILE *f = fopen(value, "w"); if (f) fclose(f); }
            if (!\(waits ? 1 : 0)) return LAYERON_OK;
            if (string_of(text, "\\"sleep_ms\\"", value, sizeof value)) usleep((useconds_t)atoi(value) * 1000);
            if (string_of(text, "\\"gate\\"", value, sizeof value)) wait_at(value);
            if (string_of(text, "\\"hang\\"", value, sizeof value)) for (;;) sleep(1);
            return LAYERON_OK;
        }
        static void stop(void *instance) {
            (void)instance;
            FILE *f = shutdown_marker[0] ? fopen(shutdown_marker, "a") : NULL;
            if (f) { fputs("\(version)\\n", f); fclose(f); }
        }
        static const layeron_handler handlers[] = { { "go", go, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "slowstop", .version = "\(version)", .handler_count = 1, .handlers = handlers, .init = start, .shutdown = stop };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
    }
}
