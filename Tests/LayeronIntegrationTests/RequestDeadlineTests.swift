import Foundation
import LayeronCore
import XCTest

/// `limits.requestTimeout` against the real server: a client has that long to send a whole request,
/// however steadily it trickles it (the idle timeout, 10 s here, starts again with every byte), and
/// neither the wait for its answer nor the wait for a kept-alive connection's next request counts.
final class RequestDeadlineTests: XCTestCase {
    let secret = "request-deadline-secret"
    var server: TestServer!
    var port: Int!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: #"{ "output": "\#(server.path("handled.log"))", "sleep_ms": 3000 }"#,
                                         limits: #"{ "requestTimeout": "2s", "connectionTimeout": "10s" }"#, webhooks: [
            ("recorded", #""handler": "behaviours.ok""#),
            ("waited", #""respond": "after-handler", "timeout": "10s", "handler": "behaviours.slow""#),
        ])
        try server.start()
        port = try XCTUnwrap(URL(string: server.publicURL)?.port)
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// A whole signed request for `webhook`, kept alive.
    private func request(_ webhook: String, id: String) -> String {
        let body = #"{"id":"\#(id)","type":"deadline.test"}"#
        return head(webhook, body: body) + body
    }

    private func head(_ webhook: String, body: String) -> String {
        "POST /webhooks/\(webhook) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "x-sig: \(Signing.hmacHex(body: Array(body.utf8), secret: secret))\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
    }

    /// Whole JSON answers in `text`.
    private func answers(_ text: String) -> Int {
        text.components(separatedBy: "HTTP/1.1 ").dropFirst().filter { $0.hasSuffix("}") }.count
    }

    private func events() throws -> Int {
        try StoreReader(path: server.databasePath).count("SELECT count(*) FROM events")
    }

    /// Trickles a request's head on `connection`, a byte every 500 ms, and expects it closed about
    /// 2 s after its first byte (the sweeper looks once a second), without an answer.
    private func assertTrickledHeadIsCut(on connection: TricklingConnection, line: UInt = #line) {
        let start = connection.elapsed
        connection.trickle(Array("POST /webhooks/recorded HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "p", count: 40))\r\n".utf8),
                           every: 0.5, for: 8)
        guard let closed = connection.closedAfter else {
            return XCTFail("still open after trickling for \(connection.elapsed - start) s", line: line)
        }
        XCTAssertGreaterThan(closed - start, 1.5, line: line)
        XCTAssertLessThan(closed - start, 4.5, line: line)
    }

    /// (a) A slowloris: one header byte every 500 ms keeps the idle timeout from ever firing.
    func testAConnectionTricklingItsHeadersIsClosedAtTheDeadline() throws {
        let connection = try TricklingConnection(port: port)
        assertTrickledHeadIsCut(on: connection)
        XCTAssertEqual(connection.text, "", "only a close is possible before the head is whole")

        let message = "request not complete within 2s; connection closed"
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains(message) }, server.logs)
        let line = try XCTUnwrap(server.logs.split(separator: "\n").first { $0.contains(message) })
        let json = try JSONParser.parse(Array(line.utf8))
        XCTAssertEqual(json["level"], .string("info"), String(line))
        XCTAssertEqual(json["listener"], .string("public"), String(line))
        XCTAssertTrue(json["peer"]?.stringValue?.hasPrefix("127.0.0.1:") == true, String(line))
        XCTAssertFalse(line.contains("webhooks/recorded") || line.contains("X-Padding"), "no request data: \(line)")
        // Counted on the sweeper's thread as the line is logged: looked for until it shows.
        XCTAssertTrue(try server.waitUntil(timeout: 5) {
            try server.admin("GET", "/metrics").text.contains(#"layeron_http_request_timeouts_total{listener="public"} 1"#)
        })
    }

    /// (b) A body trickled past the deadline is answered 408 (when a piece arrives past it) or cut
    /// (when the sweeper gets there first), and never recorded.
    func testABodyTrickledPastTheDeadlineIsRefusedAndNotRecorded() throws {
        let body = #"{"id":"evt_trickled","type":"deadline.test","padding":"0123456789"}"#
        let connection = try TricklingConnection(port: port)
        try connection.send(head("recorded", body: body))
        connection.trickle(Array(body.utf8), every: 0.5, for: 8)
        let closed = try XCTUnwrap(connection.closedAfter, "still open after \(connection.elapsed) s")
        XCTAssertGreaterThan(closed, 1.5)
        XCTAssertLessThan(closed, 4.5)
        if !connection.text.isEmpty {
            XCTAssertTrue(connection.text.hasPrefix("HTTP/1.1 408"), connection.text)
            XCTAssertTrue(connection.text.contains("Connection: close"), connection.text)
            XCTAssertTrue(connection.text.contains(#"{"error":"the request was not complete within 2s"}"#), connection.text)
        }
        XCTAssertEqual(try events(), 0)
        XCTAssertEqual(try server.postSigned("recorded", #"{"id":"evt_whole","type":"deadline.test"}"#, secret: secret).status, 200,
                       "the listener serves on")
        XCTAssertEqual(try events(), 1)
    }

    /// (c) On a kept-alive connection the wait for the next request is the idle timeout's; the next
    /// request's own trickle is timed from its first byte.
    func testAKeptAliveConnectionWaitingForItsNextRequestIsLeftToTheIdleTimeout() throws {
        let connection = try TricklingConnection(port: port)
        try connection.send(request("recorded", id: "evt_first"))
        connection.read(for: 5, until: { answers($0) == 1 })
        XCTAssertTrue(connection.text.hasPrefix("HTTP/1.1 200"), connection.text)

        connection.read(for: 3.5)
        XCTAssertNil(connection.closedAfter, "closed while waiting for its next request")
        try connection.send(request("recorded", id: "evt_second"))
        connection.read(for: 5, until: { answers($0) == 2 })
        XCTAssertEqual(connection.text.components(separatedBy: "HTTP/1.1 200").count, 3, connection.text)

        assertTrickledHeadIsCut(on: connection)
    }

    /// (c) The deadline stops once the request is whole: an after-handler answer that takes longer
    /// than the deadline still arrives, and the clock runs again for the next request.
    func testTheWaitForAnAfterHandlerAnswerDoesNotCount() throws {
        let connection = try TricklingConnection(port: port)
        try connection.send(request("waited", id: "evt_waited"))
        connection.read(for: 8, until: { answers($0) == 1 })
        XCTAssertTrue(connection.text.hasPrefix("HTTP/1.1 200"), connection.text)
        XCTAssertGreaterThan(connection.elapsed, 2.9, "the handler sleeps 3 s")
        XCTAssertNil(connection.closedAfter)

        assertTrickledHeadIsCut(on: connection)
    }
}
