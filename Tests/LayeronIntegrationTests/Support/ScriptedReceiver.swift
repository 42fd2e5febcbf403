import Foundation

/// A tiny HTTP receiver on loopback with scripted answers (test code only, written on POSIX sockets):
/// request `i` gets `replies[i]`, later ones get `then`. Each connection serves one request and closes,
/// unless `keepAlive`: then it serves requests until the sender closes it, and `connections` tells
/// how many the sender opened.
final class ScriptedReceiver: @unchecked Sendable {
    struct Reply {
        var status: Int
        var headers: [(String, String)] = []
        /// Waits this long before answering (to make the sender time out).
        var delayMilliseconds: UInt32 = 0
        /// Waits this long between the head and the body (a body slower than the sender's timeout).
        var bodyDelayMilliseconds: UInt32 = 0
        /// Waits this long between the status line and the headers (a head slower than the timeout).
        var headersDelayMilliseconds: UInt32 = 0
        /// Echoes the request's header of this name back, as debug receivers and error pages do: in a
        /// response header `X-Echoed-<name>` and at the end of the body.
        var echoedHeader: String?
        /// The body instead of `scripted answer STATUS` (and any echo).
        var body: String?
    }

    struct Received {
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var at: Date

        func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    }

    let port: Int
    private let listener: Int32
    private let replies: [Reply]
    private let then: Reply
    /// Guards `requests` and `stopping`.
    private let lock = NSLock()
    private var requests: [Received] = []
    private var accepted = 0
    private var stopping = false
    private let keepAlive: Bool
    private let acceptorDone = DispatchSemaphore(value: 0)

    init(replies: [Reply], then: Reply = Reply(status: 200), keepAlive: Bool = false) throws {
        self.replies = replies
        self.then = then
        self.keepAlive = keepAlive
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 64) == 0 else {
            close(listener)
            throw TestFailure("cannot listen on loopback")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    var received: [Received] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    /// TCP connections accepted so far.
    var connections: Int {
        lock.lock()
        defer { lock.unlock() }
        return accepted
    }

    func stop() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        if already { return }
        acceptorDone.wait()
        close(listener)
    }

    private func acceptLoop() {
        defer { acceptorDone.signal() }
        while true {
            lock.lock()
            let stop = stopping
            lock.unlock()
            if stop { return }
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            lock.lock()
            accepted += 1
            lock.unlock()
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        while answerOne(connection, &data), keepAlive {}
    }

    /// Reads one request (starting with what `data` holds from the last one), answers it and leaves
    /// any bytes past it in `data`. False when the connection ended first.
    private func answerOne(_ connection: Int32, _ data: inout [UInt8]) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while data.count < 4 << 20 {
            if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            if let end = headerEnd, data.count >= end + contentLength { break }
            let n = recv(connection, &buffer, buffer.count, 0)
            guard n > 0 else { return false }
            data += buffer[0..<n]
        }
        guard let end = headerEnd else { return false }
        let headers: [(name: String, value: String)] = String(decoding: data[0..<(end - 4)], as: UTF8.self)
            .split(separator: "\r\n").dropFirst().compactMap { line in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
        let request = Received(headers: headers, body: Array(data[end..<min(data.count, end + contentLength)]), at: Date())
        lock.lock()
        requests.append(request)
        let reply = requests.count <= replies.count ? replies[requests.count - 1] : then
        lock.unlock()
        data.removeFirst(min(data.count, end + contentLength))
        if reply.delayMilliseconds > 0 { usleep(reply.delayMilliseconds * 1000) }
        var text = "HTTP/1.1 \(reply.status) Scripted\r\nContent-Type: text/plain\r\n\(keepAlive ? "" : "Connection: close\r\n")"
        var echo = ""
        if let name = reply.echoedHeader, let value = request.header(name) {
            text += "X-Echoed-\(name): \(value)\r\n"
            echo = "; you sent \(name): \(value)"
        }
        for (name, value) in reply.headers { text += "\(name): \(value)\r\n" }
        let body = Array((reply.body ?? "scripted answer \(reply.status)\(echo)").utf8)
        text += "Content-Length: \(body.count)\r\n\r\n"
        func write(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
        }
        let head = Array(text.utf8)
        let statusLineEnd = (Self.find([13, 10], in: head) ?? 0) + 2
        guard write(Array(head[..<statusLineEnd])) else { return false }
        if reply.headersDelayMilliseconds > 0 { usleep(reply.headersDelayMilliseconds * 1000) }
        guard write(Array(head[statusLineEnd...])) else { return false }
        if reply.bodyDelayMilliseconds > 0 { usleep(reply.bodyDelayMilliseconds * 1000) }
        return write(body)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
            return i
        }
        return nil
    }

    /// A loopback port that was free a moment ago, for a server whose own URL must be in its config.
    static func freePort() throws -> Int {
        let probe = try ScriptedReceiver(replies: [])
        let port = probe.port
        probe.stop()
        return port
    }
}
