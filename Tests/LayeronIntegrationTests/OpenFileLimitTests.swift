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
}
