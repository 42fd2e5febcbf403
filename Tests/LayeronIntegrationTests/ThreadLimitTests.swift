import Foundation
import XCTest

/// A server that cannot create its threads refuses to start, naming the thread and the limit, instead
/// of printing the listening lines without them (or spinning in libdispatch, deaf to SIGTERM).
final class ThreadLimitTests: XCTestCase {
    /// RLIMIT_NPROC is not enforced for root, so the server runs as nobody; a test run that is not
    /// root cannot switch to it.
    func testServeRefusesToStartWhenAThreadCannotBeCreated() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run the server as nobody, where `ulimit -u` applies") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { throw XCTSkip("needs setpriv (util-linux)") }
        let secret = "whsec_thread_limit"
        let server = try TestServer.stripeOnly(secret: secret)
        _ = try PluginBuilder.run(["chown", "-R", "nobody", server.directory.path])
        // Twelve threads for the user: enough for bash to exec the server, far from the ~25 it starts.
        let run = try CommandRun.bash("""
            status=0
            timeout -s KILL 20 setpriv --reuid=nobody --regid=nogroup --clear-groups bash -c 'ulimit -u 12; exec "$0" "$@"' \
              "$LAYERON" serve --config "$CONFIG" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --database "$DATABASE" \
              --log-format json || status=$?
            echo "status $status"
            """, environment: ["LAYERON": TestServer.binaryPath, "CONFIG": server.configPath, "DATABASE": server.databasePath,
                               "STRIPE_WEBHOOK_SECRET": secret, "LAYERON_ADMIN_TOKEN": server.adminToken],
            directory: server.directory.path)
        XCTAssertTrue(run.stdout.hasSuffix("status 1\n"), "expected exit status 1 (137: still running after 20 s, and killed)\n" + run.stdout + run.stderr)
        XCTAssertFalse(run.stdout.contains("listening on"), run.stdout)
        // Which thread the limit refuses first moves with timing: one of the server's own (named,
        // with the limits to raise), or one of libmicrohttpd's pool, which says so in its own words.
        if let line = run.stderr.split(separator: "\n").first(where: { $0.hasPrefix("layeron: cannot start the ") }) {
            for limit in ["ulimit -u", "pids.max", "TasksMax"] { XCTAssertTrue(line.contains(limit), String(line)) }
        } else {
            XCTAssertTrue(run.stderr.contains("cannot listen on 127.0.0.1:0: Failed to create a new pool thread because it would have "
                                              + "exceeded the system limit on the number of threads"), run.stderr)
        }
    }
}
