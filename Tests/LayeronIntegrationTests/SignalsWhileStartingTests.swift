import Foundation
import XCTest

/// Signals that come while the server starts and a plugin present at start is in its `init`. The
/// start ran those loads on its main thread, the thread the kernel hands the process's signals to:
/// a stop waited for an `init` that may never return, and a signal cut the `init`'s sleeps and
/// waits short (EINTR).
final class SignalsWhileStartingTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer()
    }

    override func tearDown() {
        server.kill()
        server = nil
    }

    /// The stop waited for the hung `init` for ever; only a second SIGTERM ended the process, with
    /// status 1. Now it waits 10 s, names the plugin, exits 0 without listening, and the next start
    /// refuses the unchanged file as one whose `init` the last stop gave up on.
    func testAStopWhileAPluginPresentAtStartHangsInInitEndsTheStartInBoundedTime() throws {
        let started = server.path("started"), shutdown = server.path("shutdown")
        let file = "\(server.pluginsDir)/slowstop.so"
        try writeConfig(#"{"slowstop": {"hang": "yes", "started": "\#(started)", "shutdown": "\#(shutdown)"}}"#)
        try PluginBuilder.buildC(text: PluginStopDuringLoadTests.source(version: "1"), output: file)
        let stop = sendOnceExists(started, SIGTERM, killingAfter: 25)
        XCTAssertThrowsError(try server.start(timeout: 40), "the server does not start listening")
        let stoppedAt = Date()
        let signalledAt = try XCTUnwrap(stop.value, "init started and the stop was sent: \(server.logs)")
        XCTAssertLessThan(stoppedAt.timeIntervalSince(signalledAt), 13, "the stop waits for the hung init 10 s: \(server.logs)")
        XCTAssertGreaterThan(stoppedAt.timeIntervalSince(signalledAt), 5, "the stop waited for the init a while first")
        XCTAssertEqual(server.exit?.status, 0, server.logs)
        XCTAssertFalse(server.output.contains("listening on"), server.output)
        XCTAssertTrue(server.logs.contains("stopping without waiting any longer for the load of \(file): plugin slowstop's init has not returned"),
                      server.logs)
        XCTAssertEqual(lines(shutdown), [], "no version was installed, so none was shut down: \(server.logs)")

        try server.start()
        let refusal = try XCTUnwrap(try server.failure(for: file), "the file whose init the stop gave up on is refused: \(server.logs)")
        XCTAssertTrue(refusal.hasPrefix("\(file): the last stop of the server gave up waiting for plugin slowstop's init after its load had run "),
                      refusal)
    }

    /// A SIGHUP 1 s into an `init` that sleeps 3 s (and fails when its sleep is cut short) landed on
    /// the main thread, inside that `init`: the plugin was refused for good. Now the `init` sleeps
    /// undisturbed, and the SIGHUP is taken once the server has started.
    func testAHangUpWhileAPluginPresentAtStartIsInInitDoesNotInterruptIt() throws {
        let started = server.path("started"), record = server.path("record")
        server.environment["NAPPER_STARTED"] = started
        server.environment["NAPPER_RECORD"] = record
        try writeConfig("{}")
        try PluginBuilder.buildC(text: Self.napper, output: "\(server.pluginsDir)/napper.so")
        let hangUp = sendOnceExists(started, SIGHUP, after: 1)
        try server.start(timeout: 30)
        XCTAssertNotNil(hangUp.value, "the SIGHUP was sent while init slept: \(server.logs)")
        XCTAssertEqual(lines(record), ["slept"], "init's sleep was not cut short: \(server.logs)")
        XCTAssertEqual(try server.activeVersion(of: "napper"), "1", server.logs)
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.contains("SIGHUP: rescanning the plugins folder") },
                      "the SIGHUP is taken once the server runs: \(server.logs)")
    }

    /// On a thread of its own, sends `signal` to the server `after` seconds once `path` exists
    /// (within 30 s); the box holds when it was sent. With `killingAfter`, a server still running
    /// that long after the signal is killed, so that a start that never ends fails the test rather
    /// than hanging it (`TestServer.start` waits for output or the process's end).
    private func sendOnceExists(_ path: String, _ signal: Int32, after delay: TimeInterval = 0.2,
                                killingAfter limit: TimeInterval? = nil) -> SentAt {
        let sent = SentAt()
        let server: TestServer = self.server
        Thread.detachNewThread {
            let deadline = Date().addingTimeInterval(30)
            while !FileManager.default.fileExists(atPath: path), Date() < deadline { usleep(10_000) }
            guard FileManager.default.fileExists(atPath: path) else { return }
            Thread.sleep(forTimeInterval: delay)
            sent.value = Date()
            server.send(signal)
            guard let limit else { return }
            let killAt = Date().addingTimeInterval(limit)
            while server.isRunning, Date() < killAt { usleep(50_000) }
            server.send(SIGKILL)
        }
        return sent
    }

    /// When a signal was sent, from the thread that sent it.
    private final class SentAt: @unchecked Sendable {
        private let lock = NSLock()
        private var at: Date?
        var value: Date? {
            get { lock.withLock { at } }
            set { lock.withLock { at = newValue } }
        }
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    private func writeConfig(_ pluginConfig: String) throws {
        try server.writeConfig("""
            { "plugins": { "dir": "\(server.pluginsDir)", "config": \(pluginConfig) }, "webhooks": [] }
            """)
    }

    /// A plugin whose `init` creates the file `NAPPER_STARTED` names, sleeps 3 s and appends
    /// `slept` to the file `NAPPER_RECORD` names; a sleep cut short appends `interrupted` and
    /// refuses to start, as a plugin that does not retry on EINTR would.
    static let napper = """
        #include <layeron/plugin.h>
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        static layeron_status nothing(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
        static void note(const char *path, const char *line) {
            FILE *f = fopen(path, "a");
            if (f) { fprintf(f, "%s\\n", line); fclose(f); }
        }
        static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
            (void)config; (void)out;
            const char *started = getenv("NAPPER_STARTED"), *record = getenv("NAPPER_RECORD");
            if (!started || !record) return LAYERON_OK;
            note(started, "started");
            struct timespec nap = { 3, 0 };
            if (nanosleep(&nap, NULL) != 0 && errno == EINTR) {
                note(record, "interrupted");
                const char *message = "nanosleep interrupted";
                host->result_set_message(error, (layeron_bytes){ (const uint8_t *)message, strlen(message) });
                return LAYERON_ERROR;
            }
            note(record, "slept");
            return LAYERON_OK;
        }
        static const layeron_handler handlers[] = { { "nothing", nothing, { 0 } } };
        static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
            .name = "napper", .version = "1", .handler_count = 1, .handlers = handlers, .init = start };
        const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
        """
}
