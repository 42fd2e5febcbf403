import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// A plugin loaded and called through the C ABI, and the host services it calls back, including
/// what a buggy plugin returns or passes.
final class PluginCallTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-call-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Collects what the host logs.
    final class LogLines: @unchecked Sendable {
        /// Guards `all`.
        private let lock = NSLock()
        private var all: [String] = []
        var logger: Logger { Logger(minimum: .debug) { [self] level, message, _ in lock.lock(); all.append("\(level.name): \(message)"); lock.unlock() } }
        var lines: [String] { lock.lock(); defer { lock.unlock() }; return all }
    }

    private let event = HandlerEvent(id: "whevt_x", webhook: "w", provider: "custom", type: "t", providerEventID: "",
                                     headers: [], body: [], receivedAtMilliseconds: 0, attempt: 1, replay: false)

    /// Builds a plugin named "probe" whose handler "run" has `body` (with `host`, `event` and `result`
    /// in scope, and `text(s)` making a `layeron_bytes` of a C string), loads it and calls it once.
    private func call(_ body: String, log: LogLines = LogLines()) throws -> HandlerOutcome {
        try CPluginSource.build("""
            #include <stdio.h>
            #include <string.h>
            #include <layeron/plugin.h>
            static const layeron_host *host;
            static layeron_bytes text(const char *s) { layeron_bytes b = { (const uint8_t *)s, strlen(s) }; return b; }
            static layeron_status run(void *i, const layeron_event *event, layeron_result *result) {
                (void)i; (void)event; (void)text;
                \(body)
            }
            static const layeron_handler handlers[] = { { "run", run, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "probe", .version = "1", .handler_count = 1, .handlers = handlers };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; host = h; return &d; }
            """, to: "\(directory!)/probe.so")
        let plugin = try LoadedPlugin.load(file: "\(directory!)/probe.so", privateDirectory: "\(directory!)/private",
                                           config: { _ in nil }, logger: log.logger, emitter: nil)
        return try XCTUnwrap(plugin.call("run", event))
    }

    func testALengthNoBufferCanHaveIsRejectedWithoutReadingIt() throws {
        let log = LogLines()
        let outcome = try call("""
            layeron_bytes huge = { (const uint8_t *)"abc", UINT64_MAX }, half = { (const uint8_t *)"abc", 1ull << 63 };
            host->log(host, LAYERON_LOG_INFO, huge);
            host->log(host, LAYERON_LOG_INFO, half);
            host->result_set_http_body(result, huge);
            host->result_add_http_header(result, text("x-a"), huge);
            host->result_set_message(result, huge);
            char codes[64];
            snprintf(codes, sizeof codes, "emit %d %d %d %d", host->emit(host, huge, text("t"), text("{}"), text("")),
                     host->emit(host, text("d"), huge, text("{}"), text("")), host->emit(host, text("d"), text("t"), half, text("")),
                     host->emit(host, text("d"), text("t"), text("{}"), huge));
            host->log(host, LAYERON_LOG_INFO, text(codes));
            return LAYERON_OK;
            """, log: log)
        XCTAssertEqual(outcome.verdict, .ok)
        XCTAssertNil(outcome.message)
        XCTAssertNil(outcome.httpBody)
        XCTAssertTrue(outcome.httpHeaders.isEmpty)
        let lines = log.lines.filter { !$0.contains("plugin loaded") }
        XCTAssertEqual(lines.filter { $0.hasPrefix("warn: log refused: message length") }.count, 2, "\(lines)")
        XCTAssertEqual(lines.filter { $0.hasPrefix("warn: emit refused: an argument's length is not a buffer's length") }.count, 4, "\(lines)")
        XCTAssertTrue(lines.contains("info: emit 4 4 4 4"), "\(lines)")
    }

    /// An answer's headers are bounded, valid and not the body's framing; the rest are left out,
    /// the first reason logged once per plugin version.
    func testResponseHeadersPastTheBudgetOrNotValidAreLeftOutAndReportedOnce() throws {
        let log = LogLines()
        let many = try call("""
            char name[16];
            for (int i = 0; i < 40; i++) {
                snprintf(name, sizeof name, "x-h%02d", i);
                host->result_add_http_header(result, text(name), text("0123456789abcdefghijklmnop"));
            }
            return LAYERON_OK;
            """, log: log)
        XCTAssertEqual(many.httpHeaders.map(\.name), (0..<14).map { String(format: "x-h%02d", $0) }, "35 bytes each, 512 in all")
        let budget = log.lines.filter { $0.contains("added a response header that was left out of its answer: the answer's headers would pass 512 bytes") }
        XCTAssertEqual(budget.count, 1, "\(log.lines)")

        let invalid = LogLines()
        let refused = try call("""
            host->result_add_http_header(result, text("bad name"), text("v"));
            host->result_add_http_header(result, text("x-split"), text("a\\r\\nx-injected: 1"));
            host->result_add_http_header(result, text("Content-Length"), text("1"));
            host->result_add_http_header(result, text("Transfer-Encoding"), text("chunked"));
            host->result_add_http_header(result, text("x-control"), text("a\\001b"));
            host->result_add_http_header(result, text("x-delete"), text("a\\177b"));
            host->result_add_http_header(result, text("x-fine"), text("yes\\tand tab"));
            return LAYERON_OK;
            """, log: invalid)
        XCTAssertEqual(refused.httpHeaders.map(\.name), ["x-fine"])
        XCTAssertTrue(invalid.lines.contains { $0.contains(#"left out of its answer: "bad name" is not a header name"#) }, "\(invalid.lines)")
    }

    /// A body over 1 MiB is left out (an earlier one stays) and reported once; a log line is cut to
    /// 8 KiB as a message is. A 200 MB body took the server to 1.27 GB and a 10 MB log line was written whole.
    func testABodyOver1MiBIsLeftOutAndALogLineIsCut() throws {
        let log = LogLines()
        let outcome = try call("""
            static uint8_t big[(1 << 20) + 1];
            memset(big, 'x', sizeof big);
            layeron_bytes over = { big, sizeof big };
            host->result_set_http_body(result, text("small"));
            host->result_add_http_header(result, text("bad name"), text("v"));
            host->result_set_http_body(result, over);
            host->log(host, LAYERON_LOG_INFO, over);
            return LAYERON_OK;
            """, log: log)
        XCTAssertEqual(outcome.httpBody, Array("small".utf8))
        XCTAssertEqual(log.lines.filter { $0.contains("set a response body of 1048577 bytes, over the 1048576 bytes an answer carries") }.count, 1,
                       "\(log.lines.map { $0.prefix(200) })")
        XCTAssertEqual(log.lines.filter { $0.contains(#"added a response header that was left out of its answer: "bad name""#) }.count, 1,
                       "each part left out is reported, not only the first: \(log.lines.map { $0.prefix(200) })")
        let line = try XCTUnwrap(log.lines.first { $0.hasPrefix("info: xxx") })
        XCTAssertEqual(line, "info: " + String(repeating: "x", count: 8192) + "… (truncated: 1048577 bytes in all)")
        let exact = try call("""
            static uint8_t big[1 << 20];
            memset(big, 'y', sizeof big);
            layeron_bytes at = { big, sizeof big };
            host->result_set_http_body(result, at);
            return LAYERON_OK;
            """)
        XCTAssertEqual(exact.httpBody?.count, 1 << 20)
    }

    /// plugin.h allows the entry function `log` only; an emit from it was accepted (and committed an
    /// outbound event for a plugin the host had not yet accepted).
    func testAnEmitFromTheEntryFunctionIsRefused() throws {
        try CPluginSource.build("""
            #include <stdio.h>
            #include <string.h>
            #include <layeron/plugin.h>
            static layeron_bytes text(const char *s) { layeron_bytes b = { (const uint8_t *)s, strlen(s) }; return b; }
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "early", .version = "1" };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v;
                char line[32];
                snprintf(line, sizeof line, "emit %d", h->emit(h, text("d"), text("t"), text("{}"), text("")));
                h->log(h, LAYERON_LOG_INFO, text(line));
                return &d;
            }
            """, to: "\(directory!)/early.so")
        let log = LogLines()
        _ = try LoadedPlugin.load(file: "\(directory!)/early.so", privateDirectory: "\(directory!)/private",
                                  config: { _ in nil }, logger: log.logger, emitter: nil)
        XCTAssertTrue(log.lines.contains("info: emit 4"), "LAYERON_INVALID: \(log.lines)")
        XCTAssertTrue(log.lines.contains { $0.hasPrefix("warn: emit refused: called from the entry function") }, "\(log.lines)")
    }

    func testAnUnknownStatusIsRecordedWithThePluginsMessage() throws {
        let outcome = try call(#"host->result_set_message(result, text("custom note")); return 7;"#)
        XCTAssertEqual(outcome.verdict, .error)
        XCTAssertEqual(outcome.message, "handler returned unknown status 7: custom note")
        let bare = try call("return -1;")
        XCTAssertEqual(bare.message, "handler returned unknown status -1")
    }

    /// Loads a plugin whose descriptor is `structSize` bytes (the two leading fields only) with
    /// `abiVersion`, placed at the very end of a readable page so that reading past it faults.
    private func loadShortDescriptor(structSize: Int, abiVersion: Int) throws -> String {
        try CPluginSource.build("""
            #include <sys/mman.h>
            #include <unistd.h>
            #include <layeron/plugin.h>
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v; (void)h;
                long page = sysconf(_SC_PAGESIZE);
                uint8_t *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED || mprotect(p + page, page, PROT_NONE) != 0) return NULL;
                uint32_t *fields = (uint32_t *)(p + page - 8);
                fields[0] = \(structSize); fields[1] = \(abiVersion);
                return (const layeron_plugin_descriptor *)fields;
            }
            """, to: "\(directory!)/short.so")
        do {
            _ = try LoadedPlugin.load(file: "\(directory!)/short.so", privateDirectory: "\(directory!)/private",
                                      config: { _ in nil }, logger: .discard, emitter: nil)
            return "loaded"
        } catch {
            return error.description
        }
    }

    func testTheABIVersionIsCheckedBeforeTheSizeAndNothingPastASmallDescriptorIsRead() throws {
        let file = "\(directory!)/short.so"
        XCTAssertEqual(try loadShortDescriptor(structSize: 8, abiVersion: 99),
                       "\(file): built for plugin ABI version 99, this host speaks version 1")
        XCTAssertEqual(try loadShortDescriptor(structSize: 8, abiVersion: 1),
                       "\(file): invalid plugin descriptor: struct_size 8 is smaller than the v1 descriptor (128)")
    }

    func testAResultMessageIsCutTo8KiBAtACharacterBoundaryAndMarked() throws {
        let outcome = try call("""
            static uint8_t big[2 << 20];
            memset(big, 'x', sizeof big);
            big[8191] = 0xC3; big[8192] = 0xA9; /* "é" across the limit */
            layeron_bytes message = { big, sizeof big };
            host->result_set_message(result, message);
            return LAYERON_ERROR;
            """)
        XCTAssertEqual(outcome.message, String(repeating: "x", count: 8191) + "… (truncated: 2097152 bytes in all)")
        XCTAssertEqual(try call(#"host->result_set_message(result, text("short")); return LAYERON_ERROR;"#).message, "short")
    }
}
