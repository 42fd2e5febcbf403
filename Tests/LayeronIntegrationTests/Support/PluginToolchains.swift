import Foundation

/// Builds the Swift and Rust example plugins during the test, the way their READMEs say to.
extension PluginBuilder {
    /// The Swift example as the SwiftPM dynamic library product `AuditPlugin`, built once per test run
    /// in its own scratch folder (the package's own `.build` is locked by `swift test`).
    static func buildSwiftExample() throws -> String {
        try SwiftExampleBuild.shared.result.get()
    }

    /// The Rust example with plain `rustc`; nil when rustc is not installed.
    static func buildRustExample(output: String) throws -> Bool {
        guard (try? run(["rustc", "--version"])) != nil else { return false }
        let source = TestServer.packageRoot.appendingPathComponent("plugins/examples/ledger/ledger.rs").path
        try run(["rustc", "--edition", "2021", "--crate-type", "cdylib", "-O", "-o", output, source])
        return true
    }

    /// Builds C `text` (a test's own plugin source) into `output`.
    static func buildC(text: String, output: String) throws {
        let source = output + ".c"
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        try buildC(source: source, output: output)
    }

    /// Lands `file` in the plugins folder as `name` by writing a hidden temporary and renaming it in.
    static func landByRename(_ file: String, into directory: String, name: String) throws {
        let temporary = "\(directory)/.\(name).tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: file, toPath: temporary)
        guard rename(temporary, "\(directory)/\(name)") == 0 else { throw TestFailure("rename into \(directory) failed") }
    }

    /// Lands `file` the careless way: `cp` over the existing file, in place, same inode.
    static func landByCopyInPlace(_ file: String, into directory: String, name: String) throws {
        try run(["cp", file, "\(directory)/\(name)"])
    }
}

private final class SwiftExampleBuild: Sendable {
    static let shared = SwiftExampleBuild()
    let result: Result<String, TestFailure>

    private init() {
        let root = TestServer.packageRoot
        let scratch = root.appendingPathComponent(".build/plugin-tests").path
        do {
            try PluginBuilder.run(["swift", "build", "--product", "AuditPlugin", "--scratch-path", scratch], in: root)
            let bin = try PluginBuilder.run(["swift", "build", "--product", "AuditPlugin", "--scratch-path", scratch, "--show-bin-path"], in: root)
            result = .success(bin.trimmingCharacters(in: .whitespacesAndNewlines) + "/libAuditPlugin.so")
        } catch {
            result = .failure(TestFailure("swift build --product AuditPlugin failed: \(error)"))
        }
    }
}
