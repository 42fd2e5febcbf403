@testable import LayeronHTTP
import Synchronization
import XCTest

/// Stopping a listener: new connections are refused at once, and every request already received is
/// answered before the daemon stops, the suspended (`.later`) ones included.
final class HTTPServerStopTests: XCTestCase {
    /// A listener whose `/wait` requests are suspended until the test answers them (`answerWaiting`),
    /// whose `/slow` requests hold their thread for `slowSeconds`, and whose other requests are
    /// answered at once.
    private final class Listener: @unchecked Sendable {
        let server: HTTPServer
        /// The `respond` of each suspended `/wait` request, in arrival order.
        let waiting = WaitingReplies()
        let slowStarted = DispatchSemaphore(value: 0)

        init(threads: UInt32, slowSeconds: Double = 0) throws {
            let waiting = self.waiting
            let slowStarted = self.slowStarted
            server = HTTPServer(host: "127.0.0.1", port: 0,
                                limits: HTTPServerLimits(maxBodyBytes: 1000, connectionTimeoutSeconds: 10, requestTimeout: .seconds(60), threads: threads)) { request in
                switch request.path {
                case "/wait":
                    return .later { respond in waiting.list.withLock { $0.append(respond) } }
                case "/slow":
                    slowStarted.signal()
                    usleep(UInt32(slowSeconds * 1_000_000))
                    return .now(.json(200, #"{"slow":true}"#))
                default:
                    return .now(.json(200, "{}"))
                }
            }
            try server.start()
        }

        /// Waits until `count` `/wait` requests are suspended.
        func waitForSuspended(_ count: Int) -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if waiting.list.withLock({ $0.count }) >= count { return true }
                usleep(1_000)
            }
            return false
        }

        func answerWaiting(_ response: HTTPResponse) {
            for respond in waiting.list.withLock({ $0 }) { respond(response) }
        }

        /// Runs `stop` on a thread of its own; the semaphore is signalled once it returns.
        func stopInBackground() -> DispatchSemaphore {
            let stopped = DispatchSemaphore(value: 0)
            let server = self.server
            Thread.detachNewThread {
                server.stop()
                stopped.signal()
            }
            return stopped
        }
    }

    private final class WaitingReplies: Sendable {
        let list = Mutex<[@Sendable (HTTPResponse) -> Void]>([])
    }

    /// The errno of a connect to `port`, or nil when it connects.
    private func connectError(port: UInt16) -> Int32? {
        do {
            _ = try RawHTTPConnection(port: port)
            return nil
        } catch {
            return (error as? RawHTTPError)?.errno ?? -1
        }
    }

    func testStoppingRefusesNewConnectionsWhileASuspendedRequestIsStillAnswered() throws {
        let listener = try Listener(threads: 2)
        let port = listener.server.port
        let waiter = try RawHTTPConnection(port: port)
        try waiter.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(listener.waitForSuspended(1))

        let stopped = listener.stopInBackground()
        // Refused, not left to complete a handshake nothing serves.
        var refused = false
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, !refused {
            refused = connectError(port: port) == ECONNREFUSED
            if !refused { usleep(10_000) }
        }
        XCTAssertTrue(refused, "a new connection was not refused while the listener stops")
        XCTAssertEqual(stopped.wait(timeout: .now() + 0.3), .timedOut, "the stop did not wait for the suspended request")

        listener.answerWaiting(.json(503, #"{"error":"retry later"}"#))
        let answer = waiter.receive(seconds: 5)
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 503"), "the suspended request was not answered: \(answer.text)")
        XCTAssertTrue(answer.text.lowercased().contains("connection: close"), answer.text)
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(connectError(port: port), ECONNREFUSED)
    }

    /// A suspended request answered while the only thread is busy with another request: the resumed
    /// connection is sent its response only once that thread is free. A stop that went ahead as soon
    /// as the answer was handed over closed the connection with nothing sent.
    func testARequestAnsweredJustBeforeTheStopIsSentItsAnswer() throws {
        for round in 1...3 {
            let listener = try Listener(threads: 1, slowSeconds: 0.4)
            let port = listener.server.port
            let waiter = try RawHTTPConnection(port: port)
            try waiter.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertTrue(listener.waitForSuspended(1))
            let busy = try RawHTTPConnection(port: port)
            try busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertEqual(listener.slowStarted.wait(timeout: .now() + 5), .success)

            let stopped = listener.stopInBackground()
            usleep(50_000)
            listener.answerWaiting(.json(503, #"{"error":"timed out"}"#))

            let answer = waiter.receive(seconds: 5)
            XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 503"), "round \(round): the waiting request got no answer: \(answer.text)")
            let slow = busy.receive(seconds: 5)
            XCTAssertTrue(slow.text.hasPrefix("HTTP/1.1 200"), "round \(round): the busy request got no answer: \(slow.text)")
            XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        }
    }

    /// A kept-alive connection that sends a request whose answer would wait once the stop has begun:
    /// it is answered 503 at once, never suspended. Suspended, it could reach libmicrohttpd after the
    /// stop saw no request left, and libmicrohttpd aborts the process when stopped with a suspended
    /// connection ("MHD_stop_daemon() called while we have suspended connections").
    func testARequestThatWouldWaitArrivingAfterTheStopBeganIsAnswered503AtOnce() throws {
        let listener = try Listener(threads: 2)
        let port = listener.server.port
        let kept = try RawHTTPConnection(port: port)
        try kept.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(kept.receive(seconds: 0.3).text.hasPrefix("HTTP/1.1 200"))
        let waiter = try RawHTTPConnection(port: port)
        try waiter.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(listener.waitForSuspended(1))

        let stopped = listener.stopInBackground()
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline, connectError(port: port) != ECONNREFUSED { usleep(10_000) }
        try kept.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        let answer = kept.receive(seconds: 3)
        XCTAssertTrue(answer.text.hasPrefix("HTTP/1.1 503"), "the late request was not answered at once: \(answer.text)")
        XCTAssertTrue(answer.text.lowercased().contains("retry-after: 5"), answer.text)
        XCTAssertTrue(answer.text.lowercased().contains("connection: close"), answer.text)
        XCTAssertTrue(answer.closed, "the late request's connection stays open")
        XCTAssertEqual(listener.waiting.list.withLock { $0.count }, 1, "the late request was suspended")

        listener.answerWaiting(.json(200, "{}"))
        XCTAssertTrue(waiter.receive(seconds: 5).text.hasPrefix("HTTP/1.1 200"))
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
    }

    /// A request whose body is still arriving when the stop comes is not waited for (it would hold the
    /// stop until its request timeout, a minute here): the stop closes its connection.
    func testARequestStillArrivingDoesNotHoldTheStop() throws {
        let listener = try Listener(threads: 2)
        let trickling = try RawHTTPConnection(port: listener.server.port)
        try trickling.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        // Its head read, the request begun.
        usleep(200_000)
        let stopped = listener.stopInBackground()
        XCTAssertEqual(stopped.wait(timeout: .now() + 3), .success, "the stop waits for a request still arriving")
        XCTAssertTrue(trickling.receive(seconds: 2).closed)
    }

    /// libmicrohttpd 0.9.75's quiesce, which the stop used to start with, raced its own epoll
    /// workers for the listening socket and aborted the process ("Failed to remove listen FD from
    /// epoll set") when a busy worker woke at that moment. Stops under kept-alive load on many
    /// workers, for a few seconds: the process must live through every one.
    func testStoppingUnderKeptAliveLoadNeverAbortsTheProcess() throws {
        let started = Date()
        var rounds = 0
        while rounds < 5 || Date().timeIntervalSince(started) < 3 {
            rounds += 1
            let listener = try Listener(threads: 8)
            let answers = Atomic<Int>(0)
            let clients = DispatchGroup()
            for _ in 0..<8 {
                clients.enter()
                let port = listener.server.port
                Thread.detachNewThread {
                    defer { clients.leave() }
                    guard let connection = try? RawHTTPConnection(port: port) else { return }
                    while connection.ask("GET /x HTTP/1.1\r\nHost: x\r\n\r\n") {
                        answers.add(1, ordering: .relaxed)
                    }
                }
            }
            let deadline = Date().addingTimeInterval(5)
            while answers.load(ordering: .relaxed) < 200, Date() < deadline { usleep(1_000) }
            XCTAssertGreaterThanOrEqual(answers.load(ordering: .relaxed), 200, "round \(rounds): the load never got going")
            listener.server.stop()
            XCTAssertEqual(clients.wait(timeout: .now() + 5), .success, "round \(rounds): a client's connection outlived the stop")
        }
    }
}
