import CSQLite
import Foundation
import LayeronCore
import XCTest

/// libmicrohttpd's own messages (a client's malformed request, a port already taken) reach the
/// server's log as its own lines, or the error a failed start prints, never raw on standard error.
final class ListenerMessagesTests: RunningStripeServerTestCase {

    func testMalformedRequestsAreLoggedAsJSONLinesAtInfo() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let badLength = try RawConnection.exchange(port: port, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        XCTAssertTrue(badLength.hasPrefix("HTTP/1.1 400"), badLength)
        let badChunk = try RawConnection.exchange(port: port, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        XCTAssertTrue(badChunk.hasPrefix("HTTP/1.1 400"), badChunk)
        let padding = String(repeating: "h", count: 20_000)
        let tooLarge = try RawConnection.exchange(port: port, "POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nX-Padding: \(padding)\r\n\r\n")
        XCTAssertTrue(tooLarge.hasPrefix("HTTP/1.1 431"), tooLarge)

        let expected = ["Content-Length", "chunked", "431"]
        let deadline = Date().addingTimeInterval(30)
        var library: [JSONValue] = []
        var messages: [String] = []
        repeat {
            usleep(100_000)
            library = server.logs.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
                .filter { $0["source"] == .string("libmicrohttpd") }
            messages = library.compactMap { $0["msg"]?.stringValue }
        } while !expected.allSatisfy({ word in messages.contains { $0.contains(word) } }) && Date() < deadline
        for word in expected {
            XCTAssertTrue(messages.contains { $0.contains(word) }, "no message with \(word): \(messages)")
        }
        for line in library {
            XCTAssertEqual(line["level"], .string("info"), "\(line)")
            XCTAssertEqual(line["listener"], .string("public"), "\(line)")
        }
        for line in server.logs.split(separator: "\n") where !line.isEmpty {
            XCTAssertNotNil(try? JSONParser.parse(Array(line.utf8)), "not a JSON log line: \(line)")
        }
        XCTAssertEqual(try HTTPClientShortcut.get(server.adminURL + "/healthz"), 200)
    }

    func testAPortInUseIsRefusedWithTheSystemsReason() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let run = try server.serveAnother(listen: "127.0.0.1:\(port)", database: server.path("second.db"), stripeSecret: secret)
        XCTAssertEqual(run.status, 1, "a failed start exits 1, it does not crash: \(run.stderr)")
        XCTAssertTrue(run.stderr.contains("cannot listen on 127.0.0.1:\(port): Address already in use"), run.stderr)
        XCTAssertFalse(run.stderr.contains("port 0"), run.stderr)
    }

    /// Flags that put both listeners on one address are refused as the config file would be, naming
    /// the setting, before anything binds: a bind error suggested another process held the port.
    func testOneAddressForBothListenersIsRefusedBeforeBinding() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let run = try server.serveAnother(listen: "127.0.0.1:\(port)", admin: "0.0.0.0:\(port)", database: server.path("fifth.db"), stripeSecret: secret)
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("admin.listen: 0.0.0.0:\(port) takes the public listener's address (listen, 127.0.0.1:\(port)) too; give the two listeners different ports"), run.stderr)
    }

    /// A start whose listener cannot bind has loaded the plugins already: each one's `shutdown` runs
    /// before the process exits, as after a drain.
    func testAFailedListenShutsThePluginsDown() throws {
        let lifecycle = server.path("lifecycle.log")
        try PluginBuilder.buildC(text: """
            #include <layeron/plugin.h>
            #include <stdio.h>
            #include <stdlib.h>
            static void note(const char *what) {
                const char *path = getenv("LIFECYCLE_LOG");
                FILE *f = path ? fopen(path, "a") : NULL;
                if (f) { fprintf(f, "%s\\n", what); fclose(f); }
            }
            static layeron_status handle(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
            static layeron_status start(const layeron_host *host, layeron_bytes config, layeron_result *error, void **out) {
                (void)host; (void)config; (void)error; (void)out; note("init"); return LAYERON_OK;
            }
            static void stop(void *instance) { (void)instance; note("shutdown"); }
            static const layeron_handler handlers[] = { { "go", handle, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "lifecycle", .version = "1.0.0", .handler_count = 1, .handlers = handlers, .init = start, .shutdown = stop };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, output: "\(server.pluginsDir)/lifecycle.so")
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let run = try server.serveAnother(listen: "127.0.0.1:\(port)", database: server.path("fourth.db"), stripeSecret: secret,
                                          environment: ["LIFECYCLE_LOG": lifecycle])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertEqual(TestServer.handledLines(lifecycle), ["init", "shutdown"], run.stderr)
    }

    /// Every start that fails after the secrets store is open (the admin port taken, a database a newer
    /// build wrote, a folder given as the database) says why and exits 1: these used to end in a crash report (SIGILL from libdispatch,
    /// releasing the secrets watcher's timer that never ran).
    func testStartsThatFailLateExitWithStatusOneAndNoCrash() throws {
        let adminPort = try XCTUnwrap(URL(string: server.adminURL)?.port)
        let admin = try server.serveAnother(admin: "127.0.0.1:\(adminPort)", database: server.path("third.db"), stripeSecret: secret)
        XCTAssertEqual(admin.status, 1, admin.stderr)
        XCTAssertTrue(admin.stderr.contains("cannot listen on 127.0.0.1:\(adminPort): Address already in use"), admin.stderr)

        let newer = server.path("newer.db")
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(newer, &db), SQLITE_OK)
        XCTAssertEqual(sqlite3_exec(db, "PRAGMA user_version = 999; CREATE TABLE t(x)", nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)
        let schema = try server.serveAnother(database: newer, stripeSecret: secret)
        XCTAssertEqual(schema.status, 1, schema.stderr)
        XCTAssertTrue(schema.stderr.contains("its schema version is 999, newer than this build knows"), schema.stderr)
        let folder = server.path("folder.db")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let notAFile = try server.serveAnother(database: folder, stripeSecret: secret)
        XCTAssertEqual(notAFile.status, 1, notAFile.stderr)
        XCTAssertTrue(notAFile.stderr.contains("cannot open the database \(folder): it is a folder, not a database file"), notAFile.stderr)
        for run in [admin, schema, notAFile] {
            XCTAssertFalse(run.stderr.contains("crashed"), run.stderr)
        }
    }

    /// Threads carry the names docs/architecture.md lists, as `top -H` and /proc show them: the
    /// accept threads showed as `layeron`.
    func testTheListenersThreadsAreNamedForTheOperator() throws {
        let pid = try XCTUnwrap(server.processIdentifier)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(names.filter { $0 == "http-accept" }.count, 2, "one per listener: \(names.sorted())")
        XCTAssertTrue(names.contains("store-writer"), "\(names.sorted())")
    }
}
