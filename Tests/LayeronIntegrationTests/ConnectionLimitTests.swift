import Foundation
import LayeronCore
import XCTest

/// `limits.maxConnections` and `limits.maxConnectionsPerAddress` against the real server: a client
/// holding idle connections fills the listener, which libmicrohttpd does without a word; the server
/// counts it, shows its open connections and warns, and can cap what one address holds.
final class ConnectionLimitTests: XCTestCase {
    var server: TestServer!
    var port: Int!
    /// Idle connections the test holds; closed in `tearDown`.
    var held: [Int32] = []

    private func start(limits: String) throws {
        server = try TestServer(environment: ["HOOK_SECRET": "connection-limit-secret"])
        try server.installBehaviours()
        try server.writeBehavioursConfig(plugin: "{}", limits: limits, webhooks: [("recorded", #""handler": "behaviours.ok""#)])
        try server.start()
        port = try XCTUnwrap(URL(string: server.publicURL)?.port)
    }

    override func tearDown() {
        held.forEach { close($0) }
        held = []
        server?.stop()
        server = nil
    }

    /// Writes a request on `fd` and returns what the server sent within `seconds`: empty when the
    /// connection was closed without an answer, nil when nothing came at all.
    private func ask(_ fd: Int32, within seconds: Int) -> String? {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("GET /webhooks/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = send(fd, request, request.count, Int32(MSG_NOSIGNAL))
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        if n < 0 { return errno == EAGAIN || errno == EWOULDBLOCK ? nil : "" }
        return String(decoding: buffer[0..<n], as: UTF8.self)
    }

    /// The metrics page, empty when it cannot be read.
    private func metrics() -> String {
        (try? server.admin("GET", "/metrics").text) ?? ""
    }

    private func warnLine(containing text: String) throws -> JSONValue? {
        try server.logs.split(separator: "\n").first { $0.contains(text) }.map { try JSONParser.parse(Array($0.utf8)) }
    }

    func testAFullListenerIsCountedShownAndWarnedOf() throws {
        try start(limits: #"{ "maxConnections": 4 }"#)
        for _ in 0..<4 { held.append(try LoopbackSocket.connect(port: port)) }
        XCTAssertTrue(server.waitUntil(timeout: 10) {
            metrics().contains(#"layeron_http_connections_open{listener="public"} 4"#)
        }, metrics())

        // The kernel completes the handshake; libmicrohttpd no longer accepts.
        let waiting = try LoopbackSocket.connect(port: port)
        held.append(waiting)
        XCTAssertNil(ask(waiting, within: 2), "a client past the limit gets nothing while the listener is full")

        let text = metrics()
        XCTAssertTrue(text.contains(#"layeron_http_connection_limit_reached_total{listener="public"} 1"#), text)
        let message = "the public listener holds all of its 4 connections"
        let line = try XCTUnwrap(try warnLine(containing: message), server.logs)
        XCTAssertEqual(line["level"], .string("warn"))
        XCTAssertEqual(line["listener"], .string("public"))
        XCTAssertEqual(line["limit"], .string("4"))
        XCTAssertTrue(line["msg"]?.stringValue?.contains("limits.maxConnections") == true, "\(line)")
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        XCTAssertTrue(line["msg"]?.stringValue?.contains("sport = :\(port) )") == true, "the command names the listener's port: \(line)")
        XCTAssertEqual(try HTTPClientShortcut.get(server.adminURL + "/healthz"), 200, "the admin listener has its own connections")

        // A slot freed: the waiting client is served, and filling the listener again is counted again.
        close(held.removeFirst())
        let answer = try XCTUnwrap(ask(waiting, within: 10))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 404"), answer)
        XCTAssertTrue(server.waitUntil(timeout: 10) {
            metrics().contains(#"layeron_http_connection_limit_reached_total{listener="public"} 2"#)
        }, metrics())
        XCTAssertEqual(server.logs.components(separatedBy: message).count - 1, 1, "at most one line a minute: \(server.logs)")
    }

    func testAnAddressPastItsCapIsClosedAndCounted() throws {
        try start(limits: #"{ "maxConnectionsPerAddress": 2 }"#)
        for _ in 0..<2 { held.append(try LoopbackSocket.connect(port: port)) }
        for _ in 0..<3 {
            let refused = try LoopbackSocket.connect(port: port)
            XCTAssertEqual(ask(refused, within: 10), "", "closed without an answer")
            close(refused)
        }
        XCTAssertTrue(server.waitUntil(timeout: 10) {
            metrics().contains(#"layeron_http_connections_refused_total{listener="public",reason="per_address_limit"} 3"#)
        }, metrics())
        XCTAssertTrue(metrics().contains(#"layeron_http_connections_open{listener="public"} 2"#), metrics())
        XCTAssertFalse(metrics().contains("layeron_http_connection_limit_reached_total{"), "the listener itself never filled")

        let message = "a client address holds limits.maxConnectionsPerAddress (2) connections on the public listener"
        let line = try XCTUnwrap(try warnLine(containing: message), server.logs)
        XCTAssertEqual(line["level"], .string("warn"))
        XCTAssertEqual(server.logs.components(separatedBy: message).count - 1, 1, "one line for the three: \(server.logs)")
        XCTAssertFalse(server.logs.contains("Server reached connection limit"), "libmicrohttpd's line is not repeated per connection")

        // The held connections are served as before.
        let answer = try XCTUnwrap(ask(held[0], within: 10))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 404"), answer)
    }

    /// A connection the address's cap closes is not held: it does not fill the listener, even when
    /// it is the one that would have reached `maxConnections`.
    func testAConnectionClosedForItsAddressDoesNotFillTheListener() throws {
        try start(limits: #"{ "maxConnections": 3, "maxConnectionsPerAddress": 2 }"#)
        for _ in 0..<2 { held.append(try LoopbackSocket.connect(port: port)) }
        let refused = try LoopbackSocket.connect(port: port)
        XCTAssertEqual(ask(refused, within: 10), "", "closed without an answer")
        close(refused)
        XCTAssertTrue(server.waitUntil(timeout: 10) {
            metrics().contains(#"layeron_http_connections_refused_total{listener="public",reason="per_address_limit"} 1"#)
        }, metrics())
        XCTAssertTrue(metrics().contains(#"layeron_http_connections_open{listener="public"} 2"#), metrics())
        XCTAssertFalse(metrics().contains("layeron_http_connection_limit_reached_total{"), "the listener never held 3: \(metrics())")
        XCTAssertFalse(server.logs.contains("holds all of its"), server.logs)
        let answer = try XCTUnwrap(ask(held[0], within: 10))
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 404"), answer)
    }
}
