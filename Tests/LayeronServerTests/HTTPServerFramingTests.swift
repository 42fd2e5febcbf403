@testable import LayeronHTTP
import Synchronization
import XCTest

/// The listener answers what it can from a request's head, before a body is read or a handler runs,
/// on raw requests against a real libmicrohttpd daemon.
final class HTTPServerFramingTests: XCTestCase {
    private let limit = 1000
    private var server: HTTPServer!
    private let handled = HandledPaths()

    override func setUpWithError() throws {
        let handled = self.handled
        server = HTTPServer(host: "127.0.0.1", port: 0,
                            limits: HTTPServerLimits(maxBodyBytes: limit, connectionTimeoutSeconds: 10, requestTimeout: .seconds(60), threads: 2)) { request in
            handled.paths.withLock { $0.append(request.path) }
            return .now(.json(200, "{}"))
        }
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private var handledPaths: [String] { handled.paths.withLock { $0 } }

    /// Sends `request` on a fresh connection and reads for up to `seconds`.
    private func exchange(_ request: String, seconds: Double = 3) throws -> (text: String, closed: Bool) {
        let connection = try RawHTTPConnection(port: server.port)
        try connection.send(request)
        return connection.receive(seconds: seconds)
    }

    /// `request` is answered `status` with `message` at once, the connection is closed and no
    /// handler ran.
    private func assertRefused(_ request: String, _ status: Int, _ message: String, line: UInt = #line) throws {
        let answer = try exchange(request)
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 \(status)"), answer.text, line: line)
        XCTAssertTrue(answer.text.contains(message), answer.text, line: line)
        XCTAssertFalse(answer.text.contains("100 Continue"), answer.text, line: line)
        let statusLines = answer.text.components(separatedBy: "\r\n").filter { $0.hasPrefix("HTTP/1.") }
        XCTAssertEqual(statusLines.count, 1, "not one answer: \(answer.text)", line: line)
        XCTAssertTrue(answer.closed, "the connection stayed open: \(answer.text)", line: line)
        XCTAssertEqual(handledPaths, [], line: line)
    }

    func testABodyDeclaredOverTheLimitIsRefusedBeforeItIsSent() throws {
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n", 413, "exceeds the limit of 1000 bytes")
    }

    /// Lengths past what an Int holds are over any limit. libmicrohttpd reads 2^64-1 as "length
    /// unknown" and would read the body until the connection closed, answering nothing meanwhile.
    /// (Longer ones it refuses itself, before the server sees the request, with its 413 twice.)
    func testALengthTooLargeToCountIsRefusedBeforeItIsSent() throws {
        for length in ["18446744073709551615", "9223372036854775808"] {
            try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: \(length)\r\n\r\n", 413, "exceeds the limit of 1000 bytes")
        }
    }

    func testExpectContinueOverTheLimitGetsNoContinue() throws {
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 20000\r\nExpect: 100-continue\r\n\r\n", 413,
                          "exceeds the limit of 1000 bytes")
    }

    func testContentLengthsThatDifferAreRefusedAndTheConnectionClosed() throws {
        let body = #"{"id":"clx"}"#
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nContent-Length: 2\r\n\r\n\(body)", 400,
                          "Content-Length headers with different values")
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\nContent-Length: 12\r\n\r\n\(body)", 400,
                          "Content-Length headers with different values")
        // libmicrohttpd closes by itself after an early answer to POST and PUT only.
        try assertRefused("GET /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 12\r\n\r\n\(body)", 400,
                          "Content-Length headers with different values")
    }

    func testTheSameContentLengthTwiceIsOneLength() throws {
        let answer = try exchange("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 200"), answer.text)
        XCTAssertEqual(handledPaths, ["/hook"])
    }

    func testHTTP11NeedsExactlyOneHost() throws {
        try assertRefused("POST /hook HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 400, "an HTTP/1.1 request needs a Host header")
        try assertRefused("POST /hook HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nContent-Length: 2\r\n\r\n{}", 400,
                          "more than one Host header")
        let http10 = try exchange("POST /hook HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertTrue(http10.text.hasPrefix("HTTP/1.0 200") || http10.text.hasPrefix("HTTP/1.1 200"), http10.text)
        XCTAssertEqual(handledPaths, ["/hook"])
    }

    /// Both framings at once is the other desync a proxy in front could read differently; a coding
    /// other than chunked cannot be read and used to wait out the idle timeout. A chunked body alone
    /// is fine.
    func testTransferEncodingIsChunkedAloneOrRefused() throws {
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400,
                          "both Transfer-Encoding and Content-Length")
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 501,
                          "the only transfer coding accepted is chunked")
        let chunked = try exchange("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        XCTAssertTrue(chunked.text.hasPrefix("HTTP/1.1 200"), chunked.text)
        XCTAssertEqual(handledPaths, ["/hook"])
    }

    func testAnEncodedNULInThePathIsRefused() throws {
        try assertRefused("POST /webhooks/v%00/anything/here HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 400,
                          "encoded NUL (%00)")
        // `%2500` is an encoded `%` then `00`, and `%00` in the query is not the path's.
        let answer = try exchange("POST /a%2500?b=%00 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 200"), answer.text)
        XCTAssertEqual(handledPaths, ["/a%00"])
    }

    /// libmicrohttpd builds the answer's header in the pool the head used: a head that fitted but
    /// left too little room was handled and then closed without an answer. Every size up to and past
    /// the pool's end, with one long header or many, gets the handler's 200 or a 431 that no handler
    /// saw. (The admin listener is an `HTTPServer` too.)
    func testEveryHeadSizeIsAnsweredOrRefusedBeforeTheHandler() throws {
        var outcomes: [String: Int] = [:]
        for others in [0, 40] {
            let start = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n"
                + (0..<others).map { "X-H\($0): v\r\n" }.joined() + "X-Big: "
            let headers = 3 + others + 1
            // What the head takes of the pool with an empty X-Big value (`HeadRoom.poolBytes`).
            let base = start.utf8.count + headers * HeadRoom.bytesPerHeader
            for cost in stride(from: HeadRoom.limit - 64, through: HTTPServer.poolBytes + 64, by: 8) {
                let before = handledPaths.count
                let answer = try exchange(start + String(repeating: "a", count: cost - base) + "\r\n\r\n{}")
                let status = String(answer.text.prefix(12))
                outcomes[status, default: 0] += 1
                switch status {
                case "HTTP/1.1 200": XCTAssertEqual(handledPaths.count, before + 1, "pool bytes \(cost)")
                case "HTTP/1.1 431": XCTAssertEqual(handledPaths.count, before, "handled and refused at pool bytes \(cost)")
                default: XCTFail("pool bytes \(cost), \(others) other headers: \(answer.text.isEmpty ? "no answer" : answer.text)")
                }
                if cost <= HeadRoom.limit { XCTAssertEqual(status, "HTTP/1.1 200", "pool bytes \(cost)") }
                if cost > HeadRoom.limit, cost < HTTPServer.poolBytes - 512 {
                    XCTAssertTrue(answer.text.contains("exceed the limit of \(HeadRoom.limit) bytes"), answer.text)
                }
            }
        }
        XCTAssertEqual(Set(outcomes.keys), ["HTTP/1.1 200", "HTTP/1.1 431"], "\(outcomes)")
    }

    /// Cookies and query arguments take pool room too (an entry each, and a copy of the Cookie
    /// value): a head with them is never handled and then left unanswered. (Past the pool, splitting
    /// the cookies fails inside libmicrohttpd, which closes without an answer and without calling
    /// the handler: nothing recorded, and the sender retries.)
    func testHeadsWithCookiesOrQueryArgumentsAreNeverHandledWithoutAnAnswer() throws {
        let cookie = "Cookie: session=" + String(repeating: "c", count: 4_000) + "; theme=dark\r\n"
        let query = (0..<50).map { "k\($0)=v" }.joined(separator: "&")
        for (target, extra) in [("/hook", cookie), ("/hook?" + query, "")] {
            var answered: [String: Int] = [:]
            for fill in stride(from: 0, through: HTTPServer.poolBytes, by: 16) {
                let before = handledPaths.count
                let request = "POST \(target) HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\(extra)"
                    + "X-Big: \(String(repeating: "a", count: fill))\r\n\r\n{}"
                let answer = try exchange(request)
                let status = String(answer.text.prefix(12))
                answered[status, default: 0] += 1
                switch status {
                case "HTTP/1.1 200": XCTAssertEqual(handledPaths.count, before + 1, "fill \(fill)")
                case "HTTP/1.1 431", "": XCTAssertEqual(handledPaths.count, before, "\(target.prefix(8)), fill \(fill): handled, then \(status.isEmpty ? "no answer" : status)")
                default: XCTFail("\(target.prefix(8)), fill \(fill): \(answer.text)")
                }
            }
            XCTAssertGreaterThan(answered["HTTP/1.1 200"] ?? 0, 0, "\(answered)")
            XCTAssertGreaterThan(answered["HTTP/1.1 431"] ?? 0, 0, "\(answered)")
        }
    }

    /// RFC 9112 §5.1: whitespace before the colon must be refused; libmicrohttpd keeps it in the name,
    /// so `Content-Length : N` framed nothing and the body was read as the next request.
    func testWhitespaceBeforeAHeaderColonIsRefused() throws {
        let inner = "POST /inner HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length : \(inner.utf8.count)\r\n\r\n\(inner)", 400,
                          "whitespace before its colon")
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\nContent-Length: 2\r\n\r\n{}", 400,
                          "whitespace before its colon")
    }

    /// OWS after `chunked` is not part of the value, but libmicrohttpd 0.9.75 compares the whole value
    /// and would not read the body as chunked: refused with a message that says so, not as another coding.
    func testChunkedWithTrailingWhitespaceIsRefusedAsSuch() throws {
        try assertRefused("POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400,
                          "whitespace after chunked")
    }

    func testABodyAtTheLimitIsHandled() throws {
        let body = String(repeating: "a", count: limit)
        let answer = try exchange("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: \(limit)\r\nConnection: close\r\n\r\n\(body)")
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 200"), answer.text)
        XCTAssertEqual(handledPaths, ["/hook"])
    }
}

/// The paths of the requests that reached the handler, in order.
private final class HandledPaths: Sendable {
    let paths = Mutex<[String]>([])
}
