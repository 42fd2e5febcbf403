import Foundation
import LayeronCore
import XCTest

/// A plugin that crashes the server leaves a crash report on standard error, which goes wherever the
/// log goes. It must name the code that crashed without printing the memory the registers point at:
/// with the Swift runtime's defaults, a handler holding the event's body in a register put the
/// body's bytes on standard error, hex and text.
final class CrashReportTests: XCTestCase {
    let secret = "crash-report-secret"
    let body = #"{"object_kind":"push","id":"crash-report-1","type":"t"}"#
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        // As an operator starts it: the backtracer's settings are whatever the server chooses.
        server.removedVariables = ["SWIFT_BACKTRACE"]
        try PluginBuilder.buildC(text: """
            #include <layeron/plugin.h>
            /* Reads through a null pointer with the body's address in a register (its argument). */
            __attribute__((noinline)) int crash_holding_body(const uint8_t *body) {
                const uint8_t *volatile nowhere = 0;
                return nowhere[0] + body[0];
            }
            static layeron_status handle(void *i, const layeron_event *e, layeron_result *r) {
                (void)i; (void)r;
                return crash_holding_body(e->body.ptr) ? LAYERON_OK : LAYERON_RETRY;
            }
            static const layeron_handler handlers[] = { { "go", handle, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "crashbody", .version = "1.0.0", .handler_count = 1, .handlers = handlers };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, output: "\(server.pluginsDir)/crashbody.so")
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ {"name": "crash", "provider": "custom", "handler": "crashbody.go",
                             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
                             "event": {"id": "body.id", "type": "body.type"}} ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    func testACrashReportShowsTheBacktraceButNoMemoryTheRegistersPointAt() throws {
        _ = try? server.postSigned("crash", body, secret: secret)
        XCTAssertTrue(server.waitUntil { !server.isRunning }, "the handler's crash takes the server down")
        let report = server.logs
        XCTAssertTrue(report.contains("crashed"), report)
        // The private copy is unlinked once loaded, so its frames are not symbolicated, but they name it.
        XCTAssertTrue(report.contains("-crashbody.so (deleted)"), "the crashed thread's first frame names the plugin's file: \(report)")
        XCTAssertTrue(report.contains(#"Thread 0 "layeron""#), "the process keeps its name: \(report)")
        let hex = Array(body.utf8.prefix(8)).map { String(format: "%02x", $0) }.joined(separator: " ")
        XCTAssertFalse(report.contains(hex), "the body's bytes as a memory dump: \(report)")
        XCTAssertFalse(report.contains(#"{"object_kind":""#), "the body's text: \(report)")
    }
}
