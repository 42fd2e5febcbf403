import Foundation

/// Compiles plugin sources with `cc` during the test, as a user would.
enum PluginBuilder {
    static var headerDirectory: String {
        TestServer.packageRoot.appendingPathComponent("Sources/CLayeronPlugin/include").path
    }

    static func examplePath(_ name: String) -> String {
        TestServer.packageRoot.appendingPathComponent("plugins/examples/\(name)/\(name).c").path
    }

    /// Builds C `source` into `output` with `-D` `defines`; throws with the compiler's output.
    static func buildC(source: String, output: String, defines: [String] = []) throws {
        try run(["cc", "-shared", "-fPIC", "-O1", "-I", headerDirectory] + defines.map { "-D\($0)" } + ["-o", output, source])
    }

    /// Runs a tool found on PATH; returns its standard output, throws with all its output on failure.
    @discardableResult
    static func run(_ arguments: [String], in directory: URL? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("\(arguments.joined(separator: " ")) failed: \(text)\(errorText)")
        }
        return text
    }

    /// Builds to a temporary name and renames into place, as a careful deploy would.
    static func install(source: String, into directory: String, name: String, defines: [String] = []) throws {
        let temporary = "\(directory)/.\(name).tmp"
        try buildC(source: source, output: temporary, defines: defines)
        guard rename(temporary, "\(directory)/\(name)") == 0 else { throw TestFailure("rename failed") }
    }
}

extension PluginBuilder {
    /// A test-only plugin source under `Tests/Fixtures/plugins/`.
    static func fixturePath(_ name: String) -> String {
        TestServer.packageRoot.appendingPathComponent("Tests/Fixtures/plugins/\(name).c").path
    }
}
