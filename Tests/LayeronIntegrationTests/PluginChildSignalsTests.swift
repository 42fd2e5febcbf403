import Foundation
import XCTest

/// Processes a plugin starts (from `init` and from handlers, by `posix_spawn`, `system` or a bare
/// `fork`) begin with no signal blocked and SIGPIPE not ignored, and stop on SIGTERM, and a forked
/// child's SIGTERM does not reach the server: `serve` blocks the signals it handles in its own
/// threads, which a child started from one of them would inherit.
final class PluginChildSignalsTests: XCTestCase {
    let secret = "spawner-secret"
    var server: TestServer!
    var pidFile: String { server.path("children") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        server.environment["SPAWNER_PIDS"] = pidFile
        server.environment["SPAWNER_CUTS"] = server.path("cuts")
        try PluginBuilder.buildC(text: Self.spawner, output: "\(server.pluginsDir)/spawner.so")
        try server.writeBehavioursConfig(plugin: "{}", webhooks: [
            ("spawn", #""handler": "spawner.spawn""#), ("fork", #""handler": "spawner.fork""#),
            ("system", #""handler": "spawner.system""#), ("plain", #""handler": "spawner.nothing""#),
            ("nap", #""handler": "spawner.nap""#)])
        try server.start()
    }

    override func tearDown() {
        // Children that ignored their SIGTERM (the failure this test looks for) would outlive the test.
        for child in children() { kill(child.pid, SIGKILL) }
        server.stop()
        server = nil
    }

    func testChildrenOfPluginCodeStartWithNoSignalBlockedAndStopOnSIGTERM() throws {
        for hook in ["spawn", "fork", "system"] {
            XCTAssertEqual(try server.postSigned(hook, #"{"id": "\#(hook)", "type": "t"}"#, secret: secret).status, 200)
        }
        XCTAssertTrue(server.waitUntil { Set(children().map(\.how)) == ["init-spawn", "handler-spawn", "handler-fork", "system"] },
                      "every child noted: \(children()) \(server.logs)")
        let stopSignals: [(name: String, number: Int32)] = [("SIGTERM", SIGTERM), ("SIGINT", SIGINT), ("SIGHUP", SIGHUP)]
        for child in children() {
            let blocked = try XCTUnwrap(Self.signalMask("SigBlk", of: child.pid), "no status for \(child)")
            for signal in stopSignals {
                XCTAssertEqual(blocked & (UInt64(1) << (signal.number - 1)), 0, "\(child.how) child starts with \(signal.name) blocked")
            }
            // The server discards SIGPIPE; a program it runs must not inherit that as an ignored SIGPIPE
            // (`cmd | head` would leave `cmd` writing into a closed pipe). The forked child runs no new program.
            if child.how != "handler-fork" {
                let ignored = try XCTUnwrap(Self.signalMask("SigIgn", of: child.pid), "no status for \(child)")
                XCTAssertEqual(ignored & (UInt64(1) << (SIGPIPE - 1)), 0, "\(child.how) child starts with SIGPIPE ignored")
            }
        }
        for child in children() { kill(child.pid, SIGTERM) }
        for child in children() {
            XCTAssertTrue(server.waitUntil(timeout: 5) { !Self.isLive(child.pid) }, "the \(child.how) child ignored SIGTERM")
        }

        // The forked child ran the server's handler with its SIGTERM: the server must not have taken it as its own.
        usleep(300_000)
        XCTAssertTrue(server.isRunning)
        XCTAssertFalse(server.logs.contains(#""draining""#), server.logs)
        XCTAssertEqual(try server.postSigned("plain", #"{"id": "after", "type": "t"}"#, secret: secret).status, 200)
    }

    /// Plugin code runs with the server's signals unblocked, but the main thread takes them: a storm
    /// of SIGHUPs (each a reload) while handlers sleep cuts no sleep short, loses no event and stops
    /// nothing.
    func testASignalStormWhileHandlersRunLosesNothing() throws {
        let events = 40
        let server: TestServer = self.server
        let storm = Thread {
            for _ in 0..<300 {
                server.hangUp()
                usleep(5_000)
            }
        }
        storm.start()
        for i in 0..<events {
            XCTAssertEqual(try server.postSigned("nap", #"{"id": "n\#(i)", "type": "t"}"#, secret: secret).status, 200)
        }
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == events },
                      "\((try? store.rows("SELECT status, COUNT(*) FROM events GROUP BY status")) ?? [])")
        while !storm.isFinished { usleep(10_000) }
        XCTAssertTrue(server.isRunning)
        XCTAssertFalse(server.logs.contains(#""draining""#), server.logs)
        XCTAssertTrue(server.logs.contains("config reloaded"), "the SIGHUPs were taken as reloads")
        // The main thread takes the server's signals: the handlers' sleeps were not cut short.
        XCTAssertEqual(TestServer.handledLines(server.path("cuts")), [])
        XCTAssertEqual(try server.postSigned("plain", #"{"id": "after-storm", "type": "t"}"#, secret: secret).status, 200)
    }

    /// The lock that keeps a second server off the database goes with the server's process: a child a
    /// plugin forked (and left running) does not hold it after the server dies.
    func testAForkedChildDoesNotKeepADeadServersDatabaseLocked() throws {
        XCTAssertEqual(try server.postSigned("fork", #"{"id": "fork-lock", "type": "t"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil { children().contains { $0.how == "handler-fork" } }, server.logs)
        // Not `server.kill()`: Foundation waits for every process holding the server's output pipes,
        // the child among them.
        let pid = try XCTUnwrap(server.processIdentifier)
        server.send(SIGKILL)
        XCTAssertTrue(server.waitUntil(timeout: 10) { !Self.isLive(pid) }, "the server died")
        let child = try XCTUnwrap(children().first { $0.how == "handler-fork" })
        XCTAssertTrue(Self.isLive(child.pid), "the forked child outlives the server")
        try server.start()
        XCTAssertTrue(Self.isLive(child.pid), "the forked child was still alive when the next server started")
        XCTAssertEqual(try server.postSigned("plain", #"{"id": "after-restart", "type": "t"}"#, secret: secret).status, 200)
    }

    private func children() -> [(how: String, pid: Int32)] {
        let text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard words.count == 2, let pid = Int32(words[1]), pid > 0 else { return nil }
            return (String(words[0]), pid)
        }
    }

    /// A signal mask of `/proc/PID/status` (`SigBlk` blocked, `SigIgn` ignored): bit N-1 for signal N.
    private static func signalMask(_ field: String, of pid: Int32) -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(field):") }) else { return nil }
        return UInt64(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
    }

    /// Still running: neither gone nor a zombie its parent (the server, which reaps no plugin's children) has not reaped.
    private static func isLive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Notes each child as `how pid` in the file named by SPAWNER_PIDS.
    static let spawner = """
        #include <layeron/plugin.h>
        #include <spawn.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <unistd.h>
        extern char **environ;
        static void note(const char *how, pid_t pid) {
            FILE *f = fopen(getenv("SPAWNER_PIDS"), "a");
            if (f) { fprintf(f, "%s %d\\n", how, (int)pid); fclose(f); }
        }
        static pid_t sleeper(void) {
            char *argv[] = { "sleep", "60", NULL };
            pid_t pid = -1;
            return posix_spawnp(&pid, "sleep", NULL, NULL, argv, environ) == 0 ? pid : -1;
        }
        static layeron_status spawn(void *i, const layeron_event *e, layeron_result *r) {
            (void)i; (void)e; (void)r; note("handler-spawn", sleeper()); return LAYERON_OK;
        }
        static layeron_status forked(void *i, const layeron_event *e, layeron_result *r) {
            (void)i; (void)e; (void)r;
            pid_t pid = fork();
            if (pid == 0) { alarm(60); for (;;) pause(); }
            note("handler-fork", pid);
            return LAYERON_OK;
        }
        static layeron_status shell(void *i, const layeron_event *e, layeron_result *r) {
            (void)i; (void)e; (void)r;
            return system("sleep 60 & echo system $! >> \\"$SPAWNER_PIDS\\"") == 0 ? LAYERON_OK : LAYERON_ERROR;
        }
        static layeron_status nothing(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        /* Sleeps 50 ms; a sleep a signal cut short is noted in the file named by SPAWNER_CUTS. */
        static layeron_status nap(void *i, const layeron_event *e, layeron_result *r) {
            (void)i; (void)e; (void)r;
            struct timespec t = { 0, 50 * 1000 * 1000 }, before, after;
            clock_gettime(CLOCK_MONOTONIC, &before);
            int slept = nanosleep(&t, NULL);
            clock_gettime(CLOCK_MONOTONIC, &after);
            long ms = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000;
            if (slept != 0) {
                FILE *f = fopen(getenv("SPAWNER_CUTS"), "a");
                if (f) { fprintf(f, "cut after %ld ms\\n", ms); fclose(f); }
            }
            return LAYERON_OK;
        }
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)host; (void)config; (void)error; (void)out;
            note("init-spawn", sleeper());
            return LAYERON_OK;
        }
        static const layeron_handler handlers[] = {
            { "spawn", spawn, { 0 } }, { "fork", forked, { 0 } }, { "system", shell, { 0 } }, { "nothing", nothing, { 0 } },
            { "nap", nap, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "spawner", .version = "1.0.0", .handler_count = 5, .handlers = handlers, .init = start,
            .flags = LAYERON_PLUGIN_CONCURRENT };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
}
