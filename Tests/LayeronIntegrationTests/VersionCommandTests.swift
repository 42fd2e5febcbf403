import Foundation
import XCTest

/// `layeron version` tells a plugin author which plugin ABI this binary speaks and which Swift built
/// it, so a Swift plugin can be built with the same toolchain.
final class VersionCommandTests: XCTestCase {
    func testVersionPrintsTheProductTheABIAndTheSwiftThatBuiltIt() throws {
        // The tests are built by the toolchain that built the binary: its `swift --version` is the one to match.
        let toolchain = try PluginBuilder.run(["swift", "--version"])
        let release = try XCTUnwrap(toolchain.firstMatch(of: /Swift version (\d+)\.(\d+)/), toolchain)
        for words in [["version"], ["--version"]] {
            let run = try CommandRun.layeron(words)
            XCTAssertEqual(run.status, 0, run.stderr)
            let lines = run.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, run.stdout)
            XCTAssertNotNil(lines.first?.wholeMatch(of: /layeron \d+\.\d+\.\d+/), run.stdout)
            XCTAssertEqual(lines.dropFirst().first, "plugin ABI version 1")
            XCTAssertEqual(lines.last, "built with Swift \(release.1).\(release.2) (language mode 6); build Swift plugins with the same toolchain")
        }
        XCTAssertTrue(try CommandRun.layeron(["help"]).stdout.contains("\n  layeron version "))
        XCTAssertEqual(try CommandRun.layeron(["version", "extra"]).status, 2)
    }

    /// Run through the dynamic loader (as from a noexec mount), the crash-report start-again would
    /// have started the loader with layeron's arguments: `version` was taken for a program.
    func testACommandRunThroughTheDynamicLoaderRuns() throws {
        let loader = "/lib64/ld-linux-x86-64.so.2"
        guard FileManager.default.fileExists(atPath: loader) else { throw XCTSkip("no \(loader) on this machine") }
        let output = try PluginBuilder.run([loader, TestServer.binaryPath, "version"])
        XCTAssertTrue(output.hasPrefix("layeron "), output)
    }
}
