import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// plugin.h declares `layeron_plugin_entry` inside its `extern "C"` block with LAYERON_PLUGIN_EXPORT,
/// so the entry a plugin defines keeps its C name in C++, stays exported under -fvisibility=hidden and
/// has a prototype under -Wmissing-prototypes; an entry that still ends up with a C++ name is refused
/// with that name and the fix.
final class PluginEntryDeclarationTests: XCTestCase {
    private var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-entry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private let strict = ["-Wall", "-Wextra", "-pedantic", "-Werror"]

    private let event = HandlerEvent(id: "whevt_x", webhook: "w", provider: "custom", type: "t", providerEventID: "",
                                     headers: [], body: [], receivedAtMilliseconds: 0, attempt: 1, replay: false)

    private func load(_ library: String, config: JSONValue? = nil) throws -> LoadedPlugin {
        try LoadedPlugin.load(file: library, privateDirectory: "\(directory!)/private", config: { _ in config },
                              logger: Logger(minimum: .error) { _, _, _ in }, emitter: nil)
    }

    /// A C++ source written as a C one would be: it includes the header and defines the entry with no
    /// `extern "C"` of its own, between `before` and `after`. C++17 has no designated initialisers, so
    /// the descriptor is positional.
    private func cxxPlugin(before: String = "", after: String = "") -> String {
        """
        #include <layeron/plugin.h>
        static layeron_status go(void *, const layeron_event *, layeron_result *) { return LAYERON_OK; }
        static const layeron_handler handlers[] = { { "go", go, { nullptr, nullptr } } };
        static const layeron_plugin_descriptor descriptor = { sizeof(layeron_plugin_descriptor), LAYERON_PLUGIN_ABI_VERSION,
            "cxx", "1.0", nullptr, 0, 1, handlers, nullptr, nullptr, {} };
        \(before)const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t, const layeron_host *) { return &descriptor; }\(after)
        """
    }

    func testACxxPluginThatIncludesTheHeaderExportsTheCNameAndLoads() throws {
        try XCTSkipUnless(CPluginSource.isInstalled("g++"), "g++ is not installed (apt-get install g++)")
        let source = "\(directory!)/cxx.cpp", library = "\(directory!)/cxx.so"
        try cxxPlugin().write(toFile: source, atomically: true, encoding: .utf8)
        try CPluginSource.compile(["g++", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden"] + strict
                                  + ["-I", CPluginSource.headerDirectory, "-o", library, source])
        let plugin = try load(library)
        XCTAssertEqual(plugin.name, "cxx")
        XCTAssertEqual(plugin.call("go", event)?.verdict, .ok)
    }

    /// An entry that is C++ by its namespace, not the header's declaration, is exported mangled; the
    /// refusal names that symbol and says what to change instead of "build it against plugin.h".
    func testAnEntryExportedUnderACxxNameIsRefusedWithThatNameAndTheFix() throws {
        try XCTSkipUnless(CPluginSource.isInstalled("g++"), "g++ is not installed (apt-get install g++)")
        let source = "\(directory!)/cxx.cpp", library = "\(directory!)/cxx.so"
        try cxxPlugin(before: "namespace acme { ", after: " }").write(toFile: source, atomically: true, encoding: .utf8)
        try CPluginSource.compile(["g++", "-std=c++17", "-shared", "-fPIC"] + strict + ["-I", CPluginSource.headerDirectory, "-o", library, source])
        XCTAssertThrowsError(try load(library)) { error in
            XCTAssertEqual(String(describing: error), "\(library): exports the C++ name _ZN4acme20layeron_plugin_entryEjPK12layeron_host, "
                           + #"not layeron_plugin_entry; declare it extern "C" (include layeron/plugin.h, which declares it)"#)
        }
    }

    /// Flags common in C projects: every symbol hidden unless marked, and every external function
    /// declared first. The shipped examples build with both, as errors, and still load.
    func testTheCExamplesBuildWithHiddenVisibilityAndMissingPrototypesAsErrorsAndLoad() throws {
        let flags = ["-shared", "-fPIC", "-fvisibility=hidden", "-Wmissing-prototypes", "-Wstrict-prototypes"] + strict
        for (name, config) in [("billing", JSONValue.object([("output", .string("\(directory!)/billing.log"))])), ("vendor", nil)] {
            let library = "\(directory!)/\(name).so"
            try CPluginSource.compile(["cc"] + flags + ["-I", CPluginSource.headerDirectory, "-o", library, CPluginSource.examplePath(name)])
            XCTAssertEqual(try load(library, config: config).name, name)
        }
    }

    /// The header alone, in every C and C++ standard a plugin might be written in, warning-free.
    func testTheHeaderCompilesWithoutWarningsInEveryCStandard() throws {
        let source = "\(directory!)/header.c"
        try "#include <layeron/plugin.h>\n".write(toFile: source, atomically: true, encoding: .utf8)
        for standard in ["c89", "c99", "c11", "c17"] {
            try CPluginSource.compile(["cc", "-std=\(standard)", "-fsyntax-only", "-Wmissing-prototypes", "-Wstrict-prototypes"] + strict
                                      + ["-I", CPluginSource.headerDirectory, source])
        }
    }

    func testTheHeaderCompilesWithoutWarningsInEveryCxxStandard() throws {
        try XCTSkipUnless(CPluginSource.isInstalled("g++"), "g++ is not installed (apt-get install g++)")
        let source = "\(directory!)/header.cpp"
        try "#include <layeron/plugin.h>\n".write(toFile: source, atomically: true, encoding: .utf8)
        for standard in ["c++98", "c++11", "c++14", "c++17", "c++20"] {
            try CPluginSource.compile(["g++", "-std=\(standard)", "-fsyntax-only", "-Wmissing-declarations"] + strict
                                      + ["-I", CPluginSource.headerDirectory, source])
        }
    }
}
