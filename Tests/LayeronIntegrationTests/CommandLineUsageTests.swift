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
            // Before the store opens or a plugin loads, as the config's own addresses are.
            (["serve", "--config", "none.json", "--admin-listen", "example.com:1"], "--admin-listen takes HOST:PORT with an IP address"),
            (["serve", "--config", "none.json", "--listen", "example.com:1"], "--listen takes HOST:PORT with an IP address"),
            // A port out of range is named as such (the message spoke of host names).
            (["serve", "--config", "none.json", "--listen", "127.0.0.1:65536"], "--listen takes HOST:PORT with an IP address and a port from 0 to 65535"),
        ]
        for (words, message) in cases {
            let run = try CommandRun.layeron(words)
            XCTAssertEqual(run.status, 2, "\(words): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(words): \(run.stderr)")
        }
    }

    /// `serve` and `check` check the environment's name as `secrets` does, and an empty `LAYERON_ENV` or
    /// `LAYERON_CONFIG` (an unset variable in a compose file) is the default, as an empty
    /// `LAYERON_MASTER_KEY` already was.
    func testEnvironmentNamesAreCheckedAndEmptyVariablesAreTheDefaults() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-env-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/config", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"plugins": {"dir": "config"}}"#.write(toFile: directory + "/config/layeron.json", atomically: true, encoding: .utf8)
        for (words, variables, message) in [(["check", "--env", "bad env"], [:], "layeron: --env takes letters, digits, - and _"),
                                            (["serve", "--env", ""], [:], "layeron: --env takes letters, digits, - and _"),
                                            (["serve"], ["LAYERON_ENV": "bad env"], "layeron: LAYERON_ENV takes letters, digits, - and _")] {
            let run = try CommandRun.layeron(words, environment: variables, removing: secretVariables, directory: directory)
            XCTAssertEqual(run.status, 2, "\(words): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(words): \(run.stderr)")
        }
        let run = try CommandRun.layeron(["check"], environment: ["LAYERON_ENV": "", "LAYERON_CONFIG": ""], removing: secretVariables, directory: directory)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "config/layeron.json: ok (environment development)\n")
    }

    /// An empty `LAYERON_LOG_LEVEL` is the default level and an empty `LAYERON_ADMIN_URL` leaves the
    /// address to the config's `admin.listen`: compose files write an unset variable as an empty one.
    func testAnEmptyLogLevelOrAdminURLCountsAsUnset() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-emptyvars-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"admin": {"listen": "127.0.0.1:1"}}"#.write(toFile: directory + "/c.json", atomically: true, encoding: .utf8)
        let serve = try CommandRun.layeron(["serve", "--config", "none.json"], environment: ["LAYERON_LOG_LEVEL": ""], directory: directory)
        XCTAssertEqual(serve.status, 1, serve.stderr)
        XCTAssertTrue(serve.stderr.contains("none.json: cannot read the config"), serve.stderr)
        let list = try CommandRun.layeron(["events", "list", "--config", "c.json"], environment: ["LAYERON_ADMIN_URL": "", "LAYERON_ADMIN_TOKEN": "t"],
                                          directory: directory)
        XCTAssertEqual(list.status, 3, list.stderr)
        XCTAssertTrue(list.stderr.contains("cannot reach the admin API: http://127.0.0.1:1/admin/events"), list.stderr)
    }

    /// `--database ''` is SQLite's private temporary database, `:memory:` its in-memory one: a server
    /// on either acknowledged events that no reader saw and a restart lost. Refused before anything
    /// is read or opened.
    func testAnEmptyDatabaseIsAUsageError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-emptydb-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let refusals = [("", "layeron: --database is empty; SQLite would keep the events in a temporary database"),
                        (":memory:", "layeron: --database is \":memory:\"; SQLite would keep the events in memory, lost at every stop")]
        for words in [["serve", "--config", "none.json"], ["check", "--config", "none.json"], ["secrets", "list"], ["events", "list"]] {
            for (database, message) in refusals {
                let run = try CommandRun.layeron(words + ["--database", database], directory: directory)
                XCTAssertEqual(run.status, 2, "\(words): \(run.stderr)")
                XCTAssertTrue(run.stderr.contains(message), "\(words): \(run.stderr)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// `secrets` commands find the database of a config with an error elsewhere (fixing that error
    /// may need the secret) and say what the error is; a config that does not read, or whose
    /// `database` is the error, is refused with the config's own message, not "does not load".
    func testSecretsCommandsNameTheConfigsErrorAndUseItsDatabaseWhenThatIsFine() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-secretsconfig-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try #"{"database": "store/events.db", "workers": "x"}"#.write(toFile: directory + "/bad.json", atomically: true, encoding: .utf8)
        let empty = try CommandRun.layeron(["secrets", "list", "--config", "bad.json"], removing: secretVariables, directory: directory)
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertEqual(empty.stderr.components(separatedBy: "using its database").count, 2, "the warning once: \(empty.stderr)")
        XCTAssertTrue(empty.stderr.contains("there is no secrets store at store/secrets.db yet"), empty.stderr)
        let set = try CommandRun.layeron(["secrets", "set", "SOME_SECRET", "--config", "bad.json"], stdin: "value",
                                         removing: secretVariables, directory: directory)
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertTrue(set.stderr.contains("bad.json: workers: expected a whole number from 1 to 256"), set.stderr)
        XCTAssertTrue(set.stderr.contains("using its database store/events.db"), set.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/store/secrets.db"))
        let list = try CommandRun.layeron(["secrets", "list", "--config", "bad.json"], removing: secretVariables, directory: directory)
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("SOME_SECRET"), list.stdout)

        try #"{"database": ":memory:"}"#.write(toFile: directory + "/memory.json", atomically: true, encoding: .utf8)
        try #"{"database": "#.write(toFile: directory + "/broken.json", atomically: true, encoding: .utf8)
        for (file, message) in [("memory.json", "memory.json: database:"), ("broken.json", "broken.json"), ("none.json", "none.json: cannot read the config")] {
            let run = try CommandRun.layeron(["secrets", "list", "--config", file], removing: secretVariables, directory: directory)
            XCTAssertEqual(run.status, 2, "\(file): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("cannot find the database: \(message)"), "\(file): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("fix the config or give --database FILE"), "\(file): \(run.stderr)")
        }
    }
}
