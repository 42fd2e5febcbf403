import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// The `make bench` harness works: it loads a real plugin built here and measures both paths.
final class HandlerCallBenchmarkTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testHandlerCallBenchmarkMeasuresBothPaths() throws {
        try CPluginSource.build("""
            #include <layeron/plugin.h>
            static layeron_status noop(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)r; return e->attempt == 1 ? LAYERON_OK : LAYERON_ERROR; }
            static const layeron_handler handlers[] = { { "noop", noop, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "noop", .version = "1", .flags = LAYERON_PLUGIN_CONCURRENT, .handler_count = 1, .handlers = handlers };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, to: "\(directory!)/noop.so")

        let plugin = try LoadedPlugin.load(file: "\(directory!)/noop.so", privateDirectory: "\(directory!)/private",
                                           config: { _ in nil }, logger: .discard, emitter: nil)
        let event = HandlerEvent(id: "whevt_x", webhook: "w", provider: "custom", type: "t", providerEventID: "",
                                 headers: [("a", "b")], body: [1, 2, 3], receivedAtMilliseconds: 0, attempt: 1, replay: false)
        XCTAssertEqual(plugin.call("noop", event)?.verdict, .ok, "the ABI path really reaches the handler")
        // A handful of calls only: this checks the harness, it does not benchmark.
        let result = HandlerCallBenchmark.measure(plugin: plugin, handler: "noop", event: event, iterations: 5)
        XCTAssertGreaterThan(result.abiNanosecondsPerCall, 0)
        XCTAssertGreaterThan(result.directNanosecondsPerCall, 0)
    }
}
