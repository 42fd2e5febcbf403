import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// Descriptors a plugin author gets wrong in ways C compilers do not warn about: a count past the
/// end of an array, a wild pointer, garbage in reserved fields. Each must be a refusal that says
/// what to fix, never a crash of the host.
final class DescriptorValidationTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-descriptor-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Builds `source` (with `ok`, a handler that returns LAYERON_OK, and `guarded(bytes)`, which
    /// returns the last `bytes` of a readable page followed by an unreadable one) as `name`, loads it
    /// and returns the refusal, or "loaded".
    private func refusal(_ source: String, name: String = "p.so",
                         config: @escaping (String) -> JSONValue? = { _ in nil }) throws -> String {
        let file = "\(directory!)/\(name)"
        try CPluginSource.build("""
            #include <string.h>
            #include <sys/mman.h>
            #include <unistd.h>
            #include <layeron/plugin.h>
            static layeron_status ok(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
            static uint8_t *guarded(long bytes) {
                long page = sysconf(_SC_PAGESIZE);
                uint8_t *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (p == MAP_FAILED || mprotect(p + page, page, PROT_NONE) != 0) return NULL;
                return p + page - bytes;
            }
            \(source)
            """, to: file)
        do {
            _ = try LoadedPlugin.load(file: file, privateDirectory: "\(directory!)/private", config: config,
                                      logger: .discard, emitter: nil)
            return "loaded"
        } catch {
            return error.description
        }
    }

    /// A descriptor named "p" with `fields` after the name, returned by the entry function.
    private func descriptor(_ fields: String, handlers: String = #"{ { "ok", ok, { 0 } } }"#) -> String {
        """
        static const layeron_handler handlers[] = \(handlers);
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "p", .handlers = handlers, \(fields) };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
    }

    private var file: String { "\(directory!)/p.so" }

    func testAHandlerCountPastTheArrayIsRefusedNotACrash() throws {
        // What a newcomer wrote: the count says 2, the array holds 1, and the bytes after it are the
        // descriptor itself (kept adjacent here by a struct), whose first word makes a wild "name".
        XCTAssertEqual(try refusal("""
            static const struct { layeron_handler handlers[1]; layeron_plugin_descriptor d; } all = {
                { { "ok", ok, { 0 } } },
                { .struct_size = sizeof(layeron_plugin_descriptor), .abi_version = LAYERON_PLUGIN_ABI_VERSION, .name = "p",
                  .handler_count = 2, .handlers = all.handlers } };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &all.d; }
            """), "\(file): invalid plugin descriptor: handler 2 of 2's name points to 0x0000000100000080, which is not readable memory or holds no NUL within 256 bytes: is handler_count larger than the handlers array?")
        // The array ends where readable memory ends.
        XCTAssertEqual(try refusal("""
            static layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION, .name = "p", .handler_count = 2 };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v; (void)h;
                layeron_handler *list = (layeron_handler *)guarded(sizeof(layeron_handler));
                list[0].name = "ok"; list[0].handle = ok;
                d.handlers = list;
                return &d;
            }
            """), "\(file): invalid plugin descriptor: handler 2 of 2 is not readable memory: is handler_count larger than the handlers array?")
    }

    func testWildStringPointersAreRefusedNamingTheField() throws {
        XCTAssertEqual(try refusal("""
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION, .name = (const char *)16 };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """), "\(file): invalid plugin descriptor: name points to 0x0000000000000010, which is not readable memory or holds no NUL within 256 bytes")
        XCTAssertEqual(try refusal(descriptor(".handler_count = 1, .version = (const char *)4096")),
                       "\(file): invalid plugin descriptor: version points to 0x0000000000001000, which is not readable memory or holds no NUL within 4096 bytes")
        // A description that runs into unreadable memory without its NUL.
        XCTAssertTrue(try refusal("""
            static layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION, .name = "p" };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v; (void)h;
                char *text = (char *)guarded(3);
                memcpy(text, "abc", 3);
                d.description = text;
                return &d;
            }
            """).hasPrefix("\(file): invalid plugin descriptor: description points to 0x"))
        XCTAssertEqual(try refusal("""
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v; (void)h; return (const layeron_plugin_descriptor *)16;
            }
            """), "\(file): layeron_plugin_entry returned 0x0000000000000010, which is not readable memory (return the address of a descriptor that lives as long as the library)")
    }

    func testHeapDescriptorsAsTheSwiftKitAndRustBuildThemLoad() throws {
        XCTAssertEqual(try refusal("""
            #include <stdlib.h>
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) {
                (void)v; (void)h;
                layeron_handler *list = calloc(1, sizeof *list);
                layeron_plugin_descriptor *d = calloc(1, sizeof *d);
                char *name = malloc(3); memcpy(name, "ok", 3);
                list[0].name = name; list[0].handle = ok;
                d->struct_size = sizeof *d; d->abi_version = LAYERON_PLUGIN_ABI_VERSION;
                d->name = "p"; d->handler_count = 1; d->handlers = list;
                return d;
            }
            """), "loaded")
    }

    func testNonZeroReservedFieldsAreRefusedNamingTheField() throws {
        XCTAssertEqual(try refusal(descriptor(".handler_count = 1, .reserved = { 0, 0, (void *)0x2a }")),
                       "\(file): invalid plugin descriptor: reserved[2] is 0x2a; reserved fields must be zero (NULL) in ABI v1: initialise the whole struct, e.g. with designated initialisers")
        XCTAssertEqual(try refusal(descriptor(".handler_count = 1", handlers: #"{ { "ok", ok, { 0, (void *)1 } } }"#)),
                       "\(file): invalid plugin descriptor: handler 1 of 1 (ok): reserved[1] is 0x1; reserved fields must be zero (NULL) in ABI v1: initialise the whole struct, e.g. with designated initialisers")
    }

    func testRefusalMessagesPointAtTheFix() throws {
        XCTAssertEqual(try refusal("""
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .name = "p" };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """), "\(file): abi_version is 0: set it to LAYERON_PLUGIN_ABI_VERSION (this host speaks version 1)")

        let failingInit = descriptor(".handler_count = 1, .init = start").replacingOccurrences(of: "static const layeron_handler", with: """
            static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
                (void)out; const char *m = config.len == 2 ? "got {}" : "got config";
                layeron_bytes b = { (const uint8_t *)m, strlen(m) }; host->result_set_message(error, b); return LAYERON_ERROR;
            }
            static const layeron_handler
            """)
        XCTAssertEqual(try refusal(failingInit),
                       "\(file): plugin p failed to initialise: got {}; its config would be plugins.config.p, which is absent or not an object, so init got {}")
        XCTAssertEqual(try refusal(failingInit, config: { _ in .object([("x", .number(1))]) }),
                       "\(file): plugin p failed to initialise: got config; its config is plugins.config.p")

        // Not an ELF file: dlopen names the private copy, the user knows the file by its own name.
        let junk = "\(directory!)/junk.so"
        try Data("junk\n".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try LoadedPlugin.load(file: junk, privateDirectory: "\(directory!)/private", config: { _ in nil },
                                                   logger: .discard, emitter: nil)) { error in
            XCTAssertEqual("\(error)", "\(junk): not a loadable shared library: file too short")
        }
    }

    func testARefusedFileShowsWhatWasReadOfIt() throws {
        let plugins = "\(directory!)/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try CPluginSource.build("""
            #include <layeron/plugin.h>
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = 2, .name = "future" };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, to: "\(plugins)/future.so")
        try CPluginSource.build("""
            #include <layeron/plugin.h>
            static const layeron_handler handlers[] = { { "Bad", 0, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "named", .handler_count = 1, .handlers = handlers };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, to: "\(plugins)/named.so")
        let registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: .discard, config: { _ in nil })
        registry.loadDirectory(plugins)
        let statuses = registry.statuses()
        XCTAssertEqual(statuses.map(\.state), [.failed, .failed])
        XCTAssertEqual(statuses.map(\.name), [nil, "named"])
        XCTAssertEqual(statuses.map(\.abiVersion), [2, 1])
    }
}
