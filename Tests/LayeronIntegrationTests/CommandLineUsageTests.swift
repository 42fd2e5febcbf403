import Foundation
import XCTest

/// A mistyped flag is named for what it is: an option the command does not have is unknown wherever
/// it stands, and only a flag the command has is said to need a value when none follows it.
final class CommandLineUsageTests: XCTestCase {
    func testAnUnknownLastFlagIsUnknownAndAKnownOneWithoutAValueNeedsOne() throws {
        let cases: [(words: [String], message: String)] = [
            (["serve", "--bogus"], "unknown option --bogus"),
            (["check", "--json"], "unknown option --json"),
            (["events", "list", "--limit"], "--limit needs a value"),
            (["serve", "--config"], "--config needs a value"),
            (["serve", "--bogus", "x", "--config"], "unknown option --bogus"),
        ]
        for (words, message) in cases {
            let run = try CommandRun.layeron(words)
            XCTAssertEqual(run.status, 2, "\(words): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(words): \(run.stderr)")
        }
    }
}
