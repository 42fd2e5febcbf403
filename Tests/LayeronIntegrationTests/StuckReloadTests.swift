import Foundation
import XCTest

/// A reload can wait for a plugin's `init` for as long as that takes (a changed `plugins.config` starts
/// a new version). Stop signals are still taken meanwhile: the first waits for the reload, a second
/// exits at once. The SIGHUP's reload used to run on the signal thread, which then took nothing else.
final class StuckReloadTests: XCTestCase {
    let secret = "stuck-reload-secret"

    func testASecondStopSignalExitsWhileAReloadWaitsForAPluginsInit() throws {
        let server = try TestServer(environment: ["HOOK_SECRET": secret])
        let gate = server.path("gate")
        defer {
            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            server.stop()
        }
        try PluginBuilder.buildC(text: Self.slowInit, output: "\(server.pluginsDir)/slowinit.so")
        try writeConfig(server, pluginConfig: #"{"round": 1}"#)
        try server.start()

        try writeConfig(server, pluginConfig: #"{"round": 2, "gate": "\#(gate)"}"#)
        server.hangUp()
        XCTAssertTrue(server.waitUntil(timeout: 10) { FileManager.default.fileExists(atPath: gate + ".waiting") },
                      "the new version's init waits for its gate: \(server.logs)")
        server.send(SIGTERM)
        usleep(400_000)
        XCTAssertTrue(server.isRunning, "the first stop waits for the reload")
        server.send(SIGTERM)
        XCTAssertTrue(server.waitUntil(timeout: 5) { !server.isRunning }, "a second stop signal exits at once: \(server.logs)")
        XCTAssertTrue(server.logs.contains("second signal"), server.logs)
        XCTAssertFalse(FileManager.default.fileExists(atPath: gate), "the init was still waiting")
    }

    private func writeConfig(_ server: TestServer, pluginConfig: String) throws {
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "slowinit": \(pluginConfig) } },
              "webhooks": [ { "name": "hook", "provider": "custom", "handler": "slowinit.go",
                "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
                "event": {"id": "body.id", "type": "body.type"} } ]
            }
            """)
    }

    /// With `"gate": PATH` in its config, `init` creates PATH.waiting and waits until PATH exists.
    static let slowInit = """
        #include <layeron/plugin.h>
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        static layeron_status go(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)host; (void)error; (void)out;
            char text[4096] = { 0 };
            memcpy(text, config.ptr, config.len < sizeof text - 1 ? config.len : sizeof text - 1);
            const char *key = strstr(text, "\\"gate\\"");
            if (!key) return LAYERON_OK;
            const char *open = strchr(key + 6, '"');
            const char *close = open ? strchr(open + 1, '"') : NULL;
            if (!close) return LAYERON_OK;
            char gate[1024] = { 0 }, waiting[1100];
            memcpy(gate, open + 1, (size_t)(close - open - 1));
            snprintf(waiting, sizeof waiting, "%s.waiting", gate);
            FILE *f = fopen(waiting, "w");
            if (f) fclose(f);
            while (access(gate, F_OK) != 0) usleep(10000);
            return LAYERON_OK;
        }
        static const layeron_handler handlers[] = { { "go", go, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "slowinit", .version = "1.0.0", .handler_count = 1, .handlers = handlers, .init = start };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
}
