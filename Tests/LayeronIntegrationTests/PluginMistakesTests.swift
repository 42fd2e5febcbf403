import Foundation
import LayeronCore
import XCTest

/// Mistakes a plugin author makes that the ABI forbids or that silently do nothing: the server
/// survives them and tells the operator which plugin did what.
final class PluginMistakesTests: XCTestCase {
    let secret = "mistakes-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.fixturePath("mistakes"), into: server.pluginsDir, name: "mistakes.so")
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "serial.so",
                                  defines: ["BEHAVIOURS_SERIAL"])
        try server.writeConfig(config(lateHandler: "mistakes.late"))
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private var output: String { server.path("handled.log") }

    private func config(lateHandler: String) -> String {
        func hook(_ name: String, _ handler: String, _ extra: String = "") -> String {
            """
            {"name": "\(name)", "provider": "custom", "handler": "\(handler)", "respond": "after-handler",\(extra)
             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
             "event": {"id": "body.id", "type": "body.type"}}
            """
        }
        return """
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "workers": 4,
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "serial": { "output": "\(output)", "sleep_ms": 1000 } } },
              "webhooks": [ \(hook("late", lateHandler)), \(hook("answer", "mistakes.answer_then_retry")),
                            \(hook("slow", "serial.slow", #" "timeout": "300ms","#)), \(hook("headers", "mistakes.many_headers")) ]
            }
            """
    }

    /// A plugin that keeps its `layeron_result` and sets it from its own thread after the call
    /// returned (here 300 ms later, for 50 events, and for its init's error result) once corrupted
    /// the heap: the server died seconds later in a worker thread, naming no plugin. Now each such
    /// call is ignored, the server runs on, every event's outcome is its own, and one warning line
    /// (rate-limited) names the plugin and the function.
    func testResultCallsAfterTheCallReturnedAreIgnoredAndReported() throws {
        for i in 0..<50 {
            let reply = try server.postSigned("late", #"{"id": "late-\#(i)", "type": "t"}"#, secret: secret)
            XCTAssertEqual(reply.status, 200, reply.body)
            XCTAssertFalse(reply.body.contains("late body"), reply.body)
        }
        let warning = "plugin mistakes called result_set_message outside its call (after it returned, or from another thread); ignored"
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains(warning) }, server.logs)
        usleep(3_000_000)
        XCTAssertTrue(server.isRunning, server.logs)
        let after = try server.postSigned("late", #"{"id": "late-after", "type": "t"}"#, secret: secret)
        XCTAssertEqual(after.status, 200, after.body)
        XCTAssertEqual(server.logs.components(separatedBy: "called result_").count - 1, 1,
                       "at most one line a minute per plugin: \(server.logs)")
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == 51 })
        let attempts = try store.rows("SELECT outcome, error FROM attempts")
        XCTAssertEqual(attempts.filter { $0 == ["ok", nil] }.count, 51, "\(attempts)")
    }

    /// The answer a handler sets is used only when it returns LAYERON_OK; one that sets it and asks
    /// for a retry sees the server's own answer reach the provider. The log says why, once per
    /// plugin version however many events do it.
    func testAnAnswerSetBeforeARetryIsReportedOncePerPluginVersion() throws {
        for i in 0..<3 {
            let reply = try server.postSigned("answer", #"{"id": "answer-\#(i)", "type": "t"}"#, secret: secret)
            XCTAssertEqual(reply.status, 503, reply.body)
            XCTAssertFalse(reply.body.contains(#"{"ok":false}"#), reply.body)
        }
        let line = "handler mistakes.answer_then_retry set an HTTP answer (status, headers or body) and returned LAYERON_RETRY: "
            + "that answer is used only when a handler returns LAYERON_OK"
        XCTAssertTrue(server.waitUntil { server.logs.contains(line) }, server.logs)
        XCTAssertEqual(server.logs.components(separatedBy: line).count - 1, 1, server.logs)
    }

    /// libmicrohttpd builds an answer's header in the pool the request's head fills; a handler that
    /// added 12 KB of headers to the answer of a 14 KB head was recorded and handled, and the
    /// provider got no answer at all (and retried for ever). The headers past the host's budget are
    /// left out, the answer goes out, and the log says why once per plugin version.
    func testResponseHeadersPastTheBudgetAreLeftOutAndTheAnswerStillGoesOut() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        for i in 0..<2 {
            let body = Array(#"{"id": "headers-\#(i)", "type": "t"}"#.utf8)
            let head = "POST /webhooks/headers HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: \(body.count)\r\n"
                + "x-sig: \(Signing.hmacHex(body: body, secret: secret))\r\nX-Pad: \(String(repeating: "p", count: 14_000))\r\n\r\n"
            let answer = try RawConnection.exchange(port: port, bytes: Array(head.utf8) + body)
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), String(answer.prefix(300)))
            XCTAssertTrue(answer.hasSuffix(#"{"headers":200}"#), String(answer.suffix(300)))
            XCTAssertTrue(answer.contains("x-h000: "), String(answer.prefix(600)))
            XCTAssertFalse(answer.contains("x-h199: "), String(answer.prefix(600)))
        }
        let line = "handler mistakes.many_headers added a response header that was left out of its answer: "
            + "the answer's headers would pass 512 bytes"
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains(line) }, server.logs)
        XCTAssertEqual(server.logs.components(separatedBy: line).count - 1, 1, server.logs)
    }

    /// A reload whose handler reference names a handler the loaded plugin lacks is warned about, as
    /// at start, listing what the plugin provides; so does the answer of an event sent to it.
    func testAReloadNamingAHandlerThePluginLacksListsWhatItProvides() throws {
        try server.writeConfig(config(lateHandler: "mistakes.lat"))
        let provides = "plugin mistakes does not provide it (plugin mistakes provides: late, answer_then_retry, many_headers)"
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains("handler mistakes.lat cannot run: \(provides)") }, server.logs)
        let reply = try server.postSigned("late", #"{"id": "typo", "type": "t"}"#, secret: secret)
        XCTAssertEqual(reply.status, 503, reply.body)
        XCTAssertTrue(reply.body.contains("handler mistakes.lat did not run: \(provides)"), reply.body)
    }

    /// After-handler answers that time out behind a plugin taking one call at a time are reported
    /// to the operator with the likely fix, at most once a minute per plugin; whether a plugin is
    /// concurrent shows in the admin API and in `layeron plugins list`.
    func testTimeoutsBehindASerialPluginAreReportedAndConcurrencyIsListed() throws {
        for i in 0..<3 {
            XCTAssertEqual(try server.postSigned("slow", #"{"id": "slow-\#(i)", "type": "t"}"#, secret: secret).status, 503)
        }
        let line = "an after-handler answer timed out after 300ms behind plugin serial, which takes one call at a time"
        XCTAssertTrue(server.waitUntil { server.logs.contains(line) }, server.logs)
        XCTAssertTrue(server.logs.contains("declare LAYERON_PLUGIN_CONCURRENT in its descriptor's flags"), server.logs)
        XCTAssertEqual(server.logs.components(separatedBy: line).count - 1, 1, server.logs)

        guard case let .array(plugins)? = try server.admin("GET", "/admin/plugins").json["plugins"] else { return XCTFail("no plugins") }
        let concurrent = Dictionary(uniqueKeysWithValues: plugins.compactMap { p in p["name"]?.stringValue.map { ($0, p["concurrent"]) } })
        XCTAssertEqual(concurrent["serial"], .bool(false))
        XCTAssertEqual(concurrent["mistakes"], .bool(true))
        let listed = try server.runCLI(["plugins", "list"])
        XCTAssertEqual(listed.status, 0, listed.output)
        let rows = listed.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(rows.first?[3], "CONCURRENT", listed.output)
        XCTAssertEqual(rows.first { $0.first == "serial" }?[3], "false", listed.output)
        XCTAssertEqual(rows.first { $0.first == "mistakes" }?[3], "true", listed.output)
    }
}
