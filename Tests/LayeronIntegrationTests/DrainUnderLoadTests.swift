import Foundation
import XCTest

/// SIGTERM while clients keep sending on kept-alive connections: the drain ends with exit 0 every
/// time. libmicrohttpd used to abort the process now and then ("Fatal error in GNU libmicrohttpd"):
/// its quiesce raced its own epoll workers, and a request arriving on a kept-alive connection just
/// as the stop went ahead was suspended under it.
final class DrainUnderLoadTests: XCTestCase {
    let secret = "load-secret"

    func testSIGTERMUnderLoadDrainsAndExitsZero() throws {
        for round in 1...4 {
            let server = try TestServer(environment: ["HOOK_SECRET": secret])
            defer { server.kill() }
            try server.installBehaviours()
            try server.writeBehavioursConfig(plugin: #"{ "output": "\#(server.path("handled.log"))", "sleep_ms": 20 }"#, webhooks: [
                ("load", #""respond": "after-handler", "timeout": "2s", "handler": "behaviours.slow""#),
            ])
            try server.start()
            let port = Int(server.publicURL.split(separator: ":").last ?? "") ?? 0
            let clients = (0..<8).map { KeptAliveClient(port: port, secret: secret, name: "r\(round)c\($0)") }
            clients.forEach { $0.start() }
            // Under way: every client has been answered at least once.
            XCTAssertTrue(server.waitUntil(timeout: 10) { clients.allSatisfy { $0.answered > 0 } }, "round \(round): no load")
            usleep(UInt32.random(in: 0...100_000))
            server.send(SIGTERM)
            XCTAssertTrue(server.waitUntil(timeout: 15) { !server.isRunning }, "round \(round): no exit")
            clients.forEach { $0.finish() }
            XCTAssertFalse(server.logs.contains("Fatal error"), "round \(round): \(server.logs)")
            let exit = server.exit
            XCTAssertEqual(exit?.reason, .exit, "round \(round): \(server.logs)")
            XCTAssertEqual(exit?.status, 0, "round \(round): \(server.logs)")
        }
    }
}

/// Posts signed events on one kept-alive connection after another until the server refuses to
/// connect or `finish` is called.
private final class KeptAliveClient: @unchecked Sendable {
    private let port: Int
    private let secret: String
    private let name: String
    /// Guards `count` and `done`.
    private let lock = NSLock()
    private var count = 0
    private var done = false
    private let ended = DispatchSemaphore(value: 0)

    init(port: Int, secret: String, name: String) {
        self.port = port
        self.secret = secret
        self.name = name
    }

    var answered: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    private var isDone: Bool {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    func start() {
        Thread.detachNewThread { [self] in
            run()
            ended.signal()
        }
    }

    func finish() {
        lock.lock()
        done = true
        lock.unlock()
        _ = ended.wait(timeout: .now() + 5)
    }

    private func run() {
        var sequence = 0
        while !isDone {
            guard let fd = try? LoopbackSocket.connect(port: port) else { return }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            while !isDone {
                sequence += 1
                let body = Array(#"{"id":"evt_\#(name)_\#(sequence)","type":"t"}"#.utf8)
                let head = "POST /webhooks/load HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.count)\r\n"
                    + "x-sig: \(Signing.hmacHex(body: body, secret: secret))\r\n\r\n"
                let request = Array(head.utf8) + body
                guard write(fd, request, request.count) == request.count, let response = readResponse(fd) else { break }
                lock.lock()
                count += 1
                lock.unlock()
                if response.lowercased().contains("connection: close") { break }
            }
            close(fd)
        }
    }

    /// One response's head and body, or nil when the connection ends first.
    private func readResponse(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: bytes, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let length = text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) + length <= bytes.count { return text }
            }
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            bytes += buffer[0..<n]
        }
    }
}
