import Foundation

/// C plugins for the host's own tests, compiled with `cc` against the ABI header as a user would.
enum CPluginSource {
    static var headerDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/CLayeronPlugin/include").path
    }

    /// Compiles `text` into the shared library `output`; throws with the compiler's output.
    static func build(_ text: String, to output: String) throws {
        let source = output + ".c"
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        try compile(["cc", "-shared", "-fPIC", "-I", headerDirectory, "-o", output, source])
    }

    /// Runs the compiler command `arguments` (found on PATH); throws with its output when it fails.
    static func compile(_ arguments: [String]) throws {
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = arguments
        let errors = Pipe()
        cc.standardError = errors
        try cc.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cc.waitUntilExit()
        guard cc.terminationStatus == 0 else { throw CompileFailure(description: "\(arguments.joined(separator: " ")) failed: \(message)") }
    }

    /// Whether `tool` is on PATH (g++ is optional: Debian's gcc package does not bring it).
    static func isInstalled(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains { directory in
            FileManager.default.isExecutableFile(atPath: "\(directory)/\(tool)")
        }
    }

    /// The example plugin source `plugins/examples/NAME/NAME.c`.
    static func examplePath(_ name: String) -> String {
        URL(fileURLWithPath: headerDirectory).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("plugins/examples/\(name)/\(name).c").path
    }

    struct CompileFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// A plugin called `name` at `version` whose one handler, "ok", returns `LAYERON_OK`.
    static func named(_ name: String, version: String = "1") -> String {
        """
        #include <layeron/plugin.h>
        static layeron_status ok(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        static const layeron_handler handlers[] = { { "ok", ok, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "\(name)", .version = "\(version)", .flags = LAYERON_PLUGIN_CONCURRENT, .handler_count = 1, .handlers = handlers };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
    }

    /// A plugin called `name` at `version` whose `init` creates `gate`.waiting, then waits until `gate` exists.
    static func gated(name: String, version: String = "1", gate: String) -> String {
        """
        #include <layeron/plugin.h>
        #include <stdio.h>
        #include <unistd.h>
        static layeron_status ok(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)host; (void)config; (void)error; (void)out;
            FILE *f = fopen("\(gate).waiting", "w");
            if (f) fclose(f);
            while (access("\(gate)", F_OK) != 0) usleep(10000);
            return LAYERON_OK;
        }
        static const layeron_handler handlers[] = { { "ok", ok, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "\(name)", .version = "\(version)", .handler_count = 1, .handlers = handlers, .init = start };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
    }
}
