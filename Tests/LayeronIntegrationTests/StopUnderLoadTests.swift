import Foundation
import XCTest

/// SIGTERM while clients keep requests coming on kept-alive connections. libmicrohttpd 0.9.75's
/// quiesce raced its own worker threads for the listening socket in their epoll sets and aborted
/// the process ("Fatal error in GNU libmicrohttpd daemon.c:5531: Failed to remove listen FD from
/// epoll set.") about once in 17 stops under load; the listener now accepts on a thread of its own
/// and libmicrohttpd never holds a listening socket.
final class StopUnderLoadTests: XCTestCase {
    /// Clients, each on one kept-alive connection, so every worker thread is woken all the time.
    private let clients = 6

    func testSIGTERMUnderKeepAliveLoadExitsCleanlyEveryTime() throws {
        let secret = "whsec_stop_under_load"
        let started = Date()
        var rounds = 0
        // Several stops, bounded in time: each is a fresh chance for the race.
        while rounds < 3 || (rounds < 12 && Date().timeIntervalSince(started) < 6) {
            rounds += 1
            let server = try TestServer.stripeOnly(secret: secret)
            try server.start()
            let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
            let load = KeptAliveLoad(port: port, clients: clients)
            XCTAssertTrue(load.waitForAnswers(clients * 20), "round \(rounds): the load never got going: \(server.logs)")

            server.send(SIGTERM)
            XCTAssertTrue(server.waitUntil(timeout: 15) { !server.isRunning }, "round \(rounds): still running \(server.logs)")
            load.finish()
            let exit = try XCTUnwrap(server.exit)
            XCTAssertEqual(exit.reason, .exit, "round \(rounds): ended by signal \(exit.status): \(server.logs)")
            XCTAssertEqual(exit.status, 0, "round \(rounds): \(server.logs)")
            XCTAssertFalse(server.logs.contains("Fatal error"), "round \(rounds): \(server.logs)")
            if exit.reason != .exit || exit.status != 0 { break }
        }
    }
}

/// Clients that each send request after request on one connection until it is closed.
private final class KeptAliveLoad: @unchecked Sendable {
    /// Guards `answers`.
    private let lock = NSLock()
    private var answers = 0
    private let done = DispatchGroup()

    init(port: Int, clients: Int) {
        for _ in 0..<clients {
            done.enter()
            Thread.detachNewThread { [self] in
                defer { done.leave() }
                guard let fd = try? LoopbackSocket.connect(port: port) else { return }
                defer { close(fd) }
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let request = Array("GET /webhooks/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
                var buffer = [UInt8](repeating: 0, count: 4096)
                while send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count, read(fd, &buffer, buffer.count) > 0 {
                    lock.lock()
                    answers += 1
                    lock.unlock()
                }
            }
        }
    }

    /// Waits up to 10 s until the clients have had `count` answers between them.
    func waitForAnswers(_ count: Int) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            lock.lock()
            let seen = answers
            lock.unlock()
            if seen >= count { return true }
            usleep(5_000)
        }
        return false
    }

    /// Waits for every client to see its connection closed.
    func finish() {
        _ = done.wait(timeout: .now() + 10)
    }
}
