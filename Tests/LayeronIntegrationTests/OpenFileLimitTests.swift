import Foundation
import XCTest

/// `serve` raises its soft limit on open descriptors to the hard limit: Debian's default soft limit
/// (1024) is what the listener's connections alone can reach.
final class OpenFileLimitTests: XCTestCase {
    func testServeRaisesTheSoftLimitToTheHardOne() throws {
        let secret = "whsec_open_files"
        let server = try TestServer.stripeOnly(secret: secret)
        let run = try CommandRun.bash("""
            ulimit -Sn 256
            echo "hard $(ulimit -Hn)"
            "$LAYERON" serve --config "$CONFIG" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --database "$DATABASE" > out 2> err &
            pid=$!
            for _ in $(seq 1 100); do grep -q '^admin listening' out && break; sleep 0.1; done
            grep -q '^admin listening' out || { cat err; exit 1; }
            awk '/^Max open files/ { print "soft " $4 }' /proc/$pid/limits
            kill $pid
            wait $pid
            """, environment: ["LAYERON": TestServer.binaryPath, "CONFIG": server.configPath, "DATABASE": server.databasePath,
                               "STRIPE_WEBHOOK_SECRET": secret, "LAYERON_ADMIN_TOKEN": server.adminToken],
            directory: server.directory.path)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let values = Dictionary(uniqueKeysWithValues: run.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let words = line.split(separator: " ")
            return words.count == 2 ? (String(words[0]), String(words[1])) : nil
        })
        let hard = try XCTUnwrap(values["hard"], run.stdout)
        XCTAssertNotEqual(hard, "256", "the hard limit must be above the lowered soft one for this test to mean anything")
        XCTAssertEqual(values["soft"], hard == "unlimited" ? "unlimited" : hard, run.stdout)
    }

    /// A hard limit below what the server may hold is said at start, with the numbers and the fix.
    /// (What a folder watch that finds no descriptor says is `FolderWatcherTests`'s: the window of
    /// limits at which the server starts and its watches do not is a few descriptors wide.)
    func testServeWarnsWhenTheOpenFileLimitCannotCoverItsConnections() throws {
        let run = try serveLog(openFileLimit: 64)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("the open-file limit (64) is below what the server may hold: limits.maxConnections 1024 "
                                          + "+ 32 for the admin listener's probes and tools + "), run.stdout)
        XCTAssertTrue(run.stdout.contains("raise the hard limit to "), run.stdout)
    }

    /// A hard limit of 2048 holds the public listener's 1024 connections and the rest: no warning.
    /// The admin listener's 1024 counted in full asked for about 2,200 and warned on such hosts.
    func testServeDoesNotWarnWhenTheLimitCoversThePublicConnections() throws {
        let run = try serveLog(openFileLimit: 2048)
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        XCTAssertFalse(run.stdout.contains("open-file limit"), run.stdout)
    }

    /// Starts `serve` under `ulimit -n openFileLimit`, stops it once the admin listener listens (the
    /// run fails if it never does), and returns its log (standard error) as the run's output.
    private func serveLog(openFileLimit: Int) throws -> CommandRun {
        let secret = "whsec_few_files"
        let server = try TestServer.stripeOnly(secret: secret)
        return try CommandRun.bash("""
            ulimit -n \(openFileLimit)
            "$LAYERON" serve --config "$CONFIG" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --database "$DATABASE" --log-format text > out 2> err &
            pid=$!
            for _ in $(seq 1 100); do grep -q '^admin listening' out && break; sleep 0.1; done
            grep -q '^admin listening' out || { cat err; exit 1; }
            kill $pid
            wait $pid
            cat err
            """, environment: ["LAYERON": TestServer.binaryPath, "CONFIG": server.configPath, "DATABASE": server.databasePath,
                               "STRIPE_WEBHOOK_SECRET": secret, "LAYERON_ADMIN_TOKEN": server.adminToken],
            directory: server.directory.path)
    }

    /// Out of descriptors, the accept thread says so once, as its own line (it was tagged as
    /// libmicrohttpd's), and the server serves again once connections close.
    func testRunningOutOfDescriptorsIsReportedOnceByTheAcceptThread() throws {
        let secret = "whsec_out_of_files"
        let server = try TestServer.stripeOnly(secret: secret)
        try server.start()
        defer { server.stop() }
        let pid = try XCTUnwrap(server.processIdentifier)
        var held = try exhaustDescriptors(of: server, pid: pid)
        defer { held.forEach { close($0) } }
        let lines = server.logs.split(separator: "\n").filter { $0.contains("Failed to accept a connection") }
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines.first?.contains(#""source":"accept""#) == true, "\(lines)")
        held.forEach { close($0) }
        held = []
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=1024:"])
        XCTAssertTrue(server.waitUntil(timeout: 10) { (try? server.postStripe(type: "invoice.paid", providerID: "evt_fds", secret: secret).status) == 200 })
    }

    /// A plugin landing while the server is out of descriptors is refused for a temporary reason and
    /// tried again: the retry's timer was libdispatch's first, whose event loop could not get its
    /// descriptor then, and the process died of SIGILL within half a second.
    func testAPluginLandingWhileOutOfDescriptorsIsRetriedAndTheServerLivesOn() throws {
        let secret = "whsec_plugin_out_of_files"
        let server = try TestServer.stripeOnly(secret: secret)
        let staged = server.path("late.so")
        try PluginBuilder.buildC(text: GatedInitPlugin.source(name: "late", version: "1", handlers: ["go"], waitsAtGate: false), output: staged)
        try server.start()
        defer { server.stop() }
        let pid = try XCTUnwrap(server.processIdentifier)
        var held = try exhaustDescriptors(of: server, pid: pid)
        defer { held.forEach { close($0) } }
        XCTAssertEqual(rename(staged, "\(server.pluginsDir)/late.so"), 0)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("plugin load will be tried again") }, server.logs)
        Thread.sleep(forTimeInterval: 1)
        XCTAssertTrue(server.isRunning, "out of descriptors, the retry's timer ended the process: \(server.logs.suffix(1500))")
        held.forEach { close($0) }
        held = []
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=1024:"])
        XCTAssertTrue(server.waitUntil(timeout: 20) { (try? server.activeVersion(of: "late")) == "1" }, server.logs)
    }

    /// Lowers the running server's open-file limit to four above what it holds, then opens
    /// connections until its accept thread says it is out of descriptors; returns them, held.
    private func exhaustDescriptors(of server: TestServer, pid: Int32) throws -> [Int32] {
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
        _ = try PluginBuilder.run(["prlimit", "--pid", String(pid), "--nofile=\(open + 4):"])
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        var held: [Int32] = []
        for _ in 0..<12 { held.append(try LoopbackSocket.connect(port: port)) }
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("Failed to accept a connection: Too many open files") }, server.logs)
        return held
    }
}
