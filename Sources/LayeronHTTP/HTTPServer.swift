import CMicroHTTPD
import CShims
import Foundation
import LayeronCore
import Synchronization

/// Why a listener could not start.
public enum HTTPServerError: Error, CustomStringConvertible {
    case invalidAddress(String)
    /// The system's reason when libmicrohttpd gave one (e.g. "Address already in use").
    case startFailed(String, reason: String?)

    public var description: String {
        switch self {
        case let .invalidAddress(a): return "cannot listen on \(a): not an IPv4 or IPv6 address"
        case let .startFailed(a, reason?): return "cannot listen on \(a): \(reason)"
        case let .startFailed(a, nil): return "cannot listen on \(a): the address is in use or not available"
        }
    }
}

/// Limits every listener enforces, so no client can hold memory or threads for long.
public struct HTTPServerLimits: Sendable {
    /// Worker threads for a listener unless configured: one per core, at least two (so one slow
    /// synchronous answer, such as an admin query on the mount, cannot stall the listener). Requests
    /// that wait for the store or a handler are suspended and hold no thread, so more threads than
    /// cores only add context switches: on two cores, 8 threads cost about a quarter more CPU per
    /// request in the libmicrohttpd threads than 2 (docs/performance.md).
    public static var defaultThreads: UInt32 { UInt32(max(2, ProcessInfo.processInfo.activeProcessorCount)) }

    public var maxBodyBytes: Int
    /// How long a connection may be idle; every byte received starts it again.
    public var connectionTimeoutSeconds: UInt32
    /// How long a client has to send a whole request (`ConnectionDeadline`), however steadily it sends.
    public var requestTimeout: TimeSpan
    public var threads: UInt32
    public var maxConnections: UInt32
    /// Connections one client address may hold open at once, 0 for no cap; one past it is closed
    /// as soon as it is accepted.
    public var maxConnectionsPerAddress: UInt32

    public init(maxBodyBytes: Int, connectionTimeoutSeconds: UInt32, requestTimeout: TimeSpan, threads: UInt32,
                maxConnections: UInt32 = 1024, maxConnectionsPerAddress: UInt32 = 0) {
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeoutSeconds = connectionTimeoutSeconds
        self.requestTimeout = requestTimeout
        self.threads = threads
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }
}

/// One libmicrohttpd daemon (its own worker threads, each with an epoll loop) answering with `handler`
/// the connections its listening socket's accept thread hands it (`ListeningSocket`).
public final class HTTPServer: @unchecked Sendable {
    public let host: String
    public private(set) var port: UInt16
    fileprivate let limits: HTTPServerLimits
    /// Headers every answer the listener gives itself carries (a refused framing, 413, 408, 503 while
    /// stopping), so a client can tell them from another server's as it tells its handler's answers.
    fileprivate let refusalHeaders: [(name: String, value: String)]
    fileprivate let handler: HTTPRequestHandler
    private var daemon: OpaquePointer?
    /// The listening socket and its accept thread, which hands connections to `daemon`; nil before
    /// `start` and once `stopAccepting` has closed it.
    private var listener: ListeningSocket?
    /// Counts requests from the moment they are whole (handed to `handler`) to their completion;
    /// stopping waits for none to be left. One still arriving (a head or a body trickling in) is not
    /// counted, so it cannot hold the stop until its request timeout: the stop closes it. A request
    /// suspended for a `.later` reply stays counted until its response has been sent, not merely
    /// handed over: libmicrohttpd must not be stopped with suspended connections, and one resumed
    /// but not yet sent when it stops is closed without its answer.
    fileprivate let inFlight = InFlightCount()
    /// Set by `stopAccepting`: every response from then on says `Connection: close`, so a client
    /// with a kept-alive connection opens a new one, which is refused, instead of sending its next
    /// request on a connection that the stop closes; and a request that would be suspended is
    /// answered 503 at once instead (`RequestRefusal.stopping`). Sequentially consistent, as are
    /// `inFlight`'s increment and the load `stop` waits on: a request counts itself, then reads this
    /// flag, while `stop` sets it, then reads the count, so either `stop` sees the request counted
    /// and waits for it, or the request sees the flag and is not suspended. (On x86 these cost what
    /// relaxed ones do: the increment is a locked add either way.)
    fileprivate let closing = Atomic<Bool>(false)
    /// Set by `stop` once no request is left, just before libmicrohttpd stops: a request whose body
    /// completes after that is answered 503 without reaching the handler, since the stop would cut
    /// off its answer (a mounted replay would then be committed unanswered, and run twice on the
    /// client's retry). Ordered against `inFlight` as `closing` is.
    fileprivate let stopped = Atomic<Bool>(false)
    fileprivate let onMessage: @Sendable (HTTPServerMessage) -> Void
    fileprivate let onRefusal: @Sendable (String) -> Void
    /// Called with what was reached and the listener's port (for the operator's `ss` command).
    fileprivate let onConnectionLimit: @Sendable (ConnectionLimitReached, UInt16) -> Void
    fileprivate let deadlines: RequestDeadlines
    fileprivate let connections: ConnectionCount
    /// Messages held while `start` runs: a failed start gives libmicrohttpd's reason in its error
    /// (whose "Failed to bind to port 0" names the port it was passed, not the one asked for).
    fileprivate let heldMessages = Mutex<[HTTPServerMessage]?>(nil)
    /// Handed to libmicrohttpd as its logger's context, so it needs an address that outlives the daemon.
    private let logTarget = UnsafeMutablePointer<layeron_mhd_log_target>.allocate(capacity: 1)

    /// `onMessage` receives libmicrohttpd's own messages, on its threads, instead of standard error;
    /// `onRequestTimeout` each connection closed for missing its request deadline; `onRefusal` the
    /// name (`RequestRefusal.label`) of each other request the listener answers itself;
    /// `onConnectionLimit` each time the listener fills, and each connection closed for its
    /// address's cap (on libmicrohttpd's threads, so it must not block).
    public init(host: String, port: UInt16, limits: HTTPServerLimits,
                onMessage: @escaping @Sendable (HTTPServerMessage) -> Void = { _ in },
                onRequestTimeout: @escaping @Sendable (RequestTimeout) -> Void = { _ in },
                onRefusal: @escaping @Sendable (String) -> Void = { _ in },
                onConnectionLimit: @escaping @Sendable (ConnectionLimitReached, UInt16) -> Void = { _, _ in },
                refusalHeaders: [(name: String, value: String)] = [],
                handler: @escaping HTTPRequestHandler) {
        self.host = host
        self.port = port
        self.limits = limits
        self.refusalHeaders = refusalHeaders
        self.onMessage = onMessage
        self.onRefusal = onRefusal
        self.onConnectionLimit = onConnectionLimit
        connections = ConnectionCount(limit: Int(limits.maxConnections))
        deadlines = RequestDeadlines(limit: limits.requestTimeout, onTimeout: onRequestTimeout)
        self.handler = handler
    }

    deinit {
        stop()
        logTarget.deallocate()
    }

    /// Binds and starts serving; afterwards `port` is the bound port (port 0 resolved).
    public func start() throws(HTTPServerError) {
        let display = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var storage = sockaddr_storage()
        let isIPv6 = host.contains(":")
        if isIPv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &a.sin6_addr) == 1 else { throw .invalidAddress(display) }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw .invalidAddress(display) }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
        }
        let listening = try withUnsafePointer(to: &storage) { (pointer) throws(HTTPServerError) -> ListeningSocket in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(HTTPServerError) -> ListeningSocket in
                try ListeningSocket(address: address, length: socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size),
                                    display: display)
            }
        }
        let cls = Unmanaged.passUnretained(self).toOpaque()
        logTarget.initialize(to: layeron_mhd_log_target(callback: logCallback, cls: cls))
        heldMessages.withLock { $0 = [] }
        let threads = max(1, limits.threads)
        // The accept thread holds the listener to its limit (`ListeningSocket.startAccepting`).
        // libmicrohttpd splits its own limit evenly between the workers and hands an added
        // connection to one whose count, which leaves out connections still queued to it, is under
        // its share: with a share of the whole limit each, no worker refuses one the accept thread let in.
        let (workerLimits, overflow) = limits.maxConnections.multipliedReportingOverflow(by: threads)
        var options = layeron_mhd_options(
            thread_pool_size: threads, connection_timeout_s: limits.connectionTimeoutSeconds,
            connection_memory_limit: Self.poolBytes, connection_limit: overflow ? UInt32.max : workerLimits,
            per_address_limit: limits.maxConnectionsPerAddress)
        let started = layeron_mhd_start(&options, cls, uriCallback, accessCallback, completedCallback, connectionCallback, logTarget)
        let held = heldMessages.withLock { held in
            defer { held = nil }
            return held ?? []
        }
        guard let started else {
            listening.stop()
            let cause = held.last { $0.concern == .server }
            throw .startFailed(display, reason: cause.map { $0.systemReason ?? $0.text })
        }
        held.forEach(onMessage)
        daemon = started
        port = listening.port
        listener = listening
        deadlines.start()
        listening.startAccepting(connections: connections, onMessage: onMessage) { [self] client, address, length in
            hand(client, address: address, length: length)
        }
    }

    /// Stops accepting: new connections are refused (ECONNREFUSED) from now on, and those that
    /// completed their handshake but were not yet accepted are reset; connections already accepted
    /// are served on. The listening socket is the listener's own, not libmicrohttpd's
    /// (`ListeningSocket`): its accept thread has ended and it is closed when this returns. Call
    /// `stop` afterwards; calling this more than once does nothing.
    public func stopAccepting() {
        guard daemon != nil, let listener else { return }
        closing.store(true, ordering: .sequentiallyConsistent)
        listener.stop()
        self.listener = nil
    }

    /// Stops accepting (`stopAccepting`), waits until every request already received has been
    /// answered (the `.later` ones included, however long their reply takes), then stops the
    /// worker threads, which closes the idle connections and those whose request is still
    /// arriving. Deadlines are enforced until the daemon has stopped: while the drain waits, the
    /// connections it has are still served.
    public func stop() {
        guard let daemon else { return }
        stopAccepting()
        inFlight.waitForZero()
        stopped.store(true, ordering: .sequentiallyConsistent)
        // One that counted itself before it could see `stopped` runs to its answer.
        inFlight.waitForZero()
        MHD_stop_daemon(daemon)
        deadlines.stop()
        self.daemon = nil
    }

    /// Gives an accepted connection to libmicrohttpd, which picks a worker and wakes it; counted
    /// here, before any worker knows of it, so the accept thread never lets in more than the limit.
    /// libmicrohttpd closes the socket when it refuses one (the address's cap, out of memory), and
    /// refuses it before it returns: only a connection it keeps can be the one that fills the
    /// listener, or a client past its address's cap would be reported as a full listener.
    private func hand(_ client: Int32, address: UnsafePointer<sockaddr>, length: socklen_t) {
        let fills = connections.opened()
        if MHD_add_connection(daemon, client, address, length) != .YES {
            connections.closed()
        } else if fills {
            onConnectionLimit(.listener(limit: connections.limit), port)
        }
    }

    /// Each connection's libmicrohttpd memory pool, which holds the request head and the response's
    /// header. libmicrohttpd zeroes the whole pool after every request (about 1.5 times its size, with
    /// the read buffer's shrink), so it is the smallest that holds generous headers: 15 KB of request
    /// line and headers, counting 64 bytes for each header, with room left for the answer
    /// (`HeadRoom`), about twice nginx's default for one header line (431 beyond).
    static let poolBytes = RequestHeadLimit.bytes + HeadRoom.reserve

    /// True once `stopAccepting` ran: responses close their connections, and no request is suspended.
    fileprivate var isClosing: Bool { closing.load(ordering: .sequentiallyConsistent) }

    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Connections open now, idle ones included.
    public var openConnections: Int { connections.open }

    /// libmicrohttpd 0.9.75's words for a connection it closed as soon as it was handed it, past its
    /// address's cap.
    private static let limitMessage = "Server reached connection limit"

    /// Whether libmicrohttpd's `message` is a connection closed for its address's cap, which it
    /// reports in the same words as a full listener's; the listener's own limit is kept by the
    /// accept thread before libmicrohttpd sees a connection, so the words mean the cap. Told to
    /// `onConnectionLimit` instead of logged, since a client can cause one on every connect.
    fileprivate func isPerAddressRefusal(_ message: String) -> Bool {
        limits.maxConnectionsPerAddress > 0 && message.hasPrefix(Self.limitMessage)
    }
}

/// Per-request state libmicrohttpd keeps for us between the calls of one request.
private final class RequestState: @unchecked Sendable {
    /// The query string as sent (without `?`), cut from the raw URI before libmicrohttpd decodes it.
    let rawQuery: String
    /// The path as sent when it holds percent-encoding; nil for nearly every request.
    let encodedPath: String?
    /// The path as sent holds `%00`.
    let encodedNUL: Bool
    /// The bytes of scheme and authority before the path of a target in absolute-form, or 0.
    let absoluteFormPrefix: Int
    /// The authority of a target in absolute-form, the request's `Host` (RFC 9112 3.2.2).
    let authority: String?
    /// The connection's, shared by the requests on it.
    let deadline: ConnectionDeadline
    // Touched by one libmicrohttpd thread at a time, so these skip Swift's runtime exclusivity check
    // (docs/performance.md, item 52).
    @exclusivity(unchecked) var started = false
    @exclusivity(unchecked) var body: [UInt8] = []
    @exclusivity(unchecked) var tooLarge = false
    @exclusivity(unchecked) var deferred = false
    /// Counted in `HTTPServer.inFlight`: the request reached the handler.
    @exclusivity(unchecked) var counted = false
    /// Answered from its head straight on the socket (`HeadRoom`): the rest of the request is dropped.
    @exclusivity(unchecked) var answeredOnSocket = false
    /// Guards the response a handler's thread hands over while the connection is suspended.
    private let ready = Mutex<HTTPResponse?>(nil)
    init(target: RequestTarget, deadline: ConnectionDeadline) {
        rawQuery = target.rawQuery
        encodedPath = target.encodedPath
        encodedNUL = target.encodedNUL
        absoluteFormPrefix = target.absoluteFormPrefix
        authority = target.authority
        self.deadline = deadline
    }

    func fulfil(_ response: HTTPResponse) {
        ready.withLock { $0 = response }
    }

    func takeReady() -> HTTPResponse? {
        ready.withLock { ready in
            defer { ready = nil }
            return ready
        }
    }
}

/// A connection handle passed to the thread that resumes it; libmicrohttpd allows resuming from any thread.
private struct ConnectionHandle: @unchecked Sendable {
    let pointer: OpaquePointer?
}

/// Requests between their handing to the handler and their completion (`completedCallback`).
/// Counted on every request by libmicrohttpd's threads, so an atomic rather than a lock; only `stop`
/// waits for zero, and it polls. The increment and the wait's load are sequentially consistent, to
/// order them against `HTTPServer.closing`.
final class InFlightCount: Sendable {
    private let count = Atomic<Int>(0)

    func increment() {
        count.add(1, ordering: .sequentiallyConsistent)
    }

    func decrement() {
        count.subtract(1, ordering: .releasing)
    }

    func waitForZero() {
        while count.load(ordering: .sequentiallyConsistent) > 0 { usleep(1_000) }
    }
}

/// Collects one kind of connection value (headers or query arguments) in arrival order. Header names
/// are lower-cased while they are copied, so each name costs one string, not two. A value that is not
/// valid UTF-8 is repaired with U+FFFD in `pairs` and its bytes are kept in `invalidUTF8`, by position:
/// a valid value, nearly every one, is validated and copied once, as before.
private func collect(_ connection: OpaquePointer?, kind: MHD_ValueKind,
                     lowercase: Bool) -> (pairs: [(name: String, value: String)], invalidUTF8: [Int: [UInt8]]) {
    // Counted first (a walk of libmicrohttpd's list, no copies) so that the array is allocated once
    // at its size, and not at all for the usual empty query.
    let count = Int(MHD_get_connection_values(connection, kind, nil, nil))
    guard count > 0 else { return ([], [:]) }
    typealias Collector = (pairs: [(name: String, value: String)], invalidUTF8: [Int: [UInt8]], lowercase: Bool)
    var collector: Collector = ([], [:], lowercase)
    collector.pairs.reserveCapacity(count)
    withUnsafeMutablePointer(to: &collector) { pointer in
        _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
            guard let cls, let key else { return .YES }
            let c = cls.assumingMemoryBound(to: Collector.self)
            let name = c.pointee.lowercase ? lowercasedName(key) : String(cString: key)
            var text = ""
            if let value {
                if let valid = String(validatingCString: value) {
                    text = valid
                } else {
                    c.pointee.invalidUTF8[c.pointee.pairs.count] = Array(UnsafeRawBufferPointer(start: value, count: strlen(value)))
                    text = String(cString: value)
                }
            }
            c.pointee.pairs.append((name, text))
            return .YES
        }, pointer)
    }
    return (collector.pairs, collector.invalidUTF8)
}

/// A header name lower-cased: ASCII letters byte by byte (header names are ASCII tokens), anything
/// else through the full Unicode mapping, as before.
private func lowercasedName(_ key: UnsafePointer<CChar>) -> String {
    let count = strlen(key)
    let bytes = UnsafeRawPointer(key).assumingMemoryBound(to: UInt8.self)
    var seen: UInt8 = 0
    let name = String(unsafeUninitializedCapacity: count) { out in
        for i in 0..<count {
            let byte = bytes[i]
            seen |= byte
            out[i] = byte &- 65 < 26 ? byte | 0x20 : byte
        }
        return count
    }
    return seen < 0x80 ? name : name.lowercased()
}

/// What a request's raw URI says that libmicrohttpd's decoded one no longer does.
private struct RequestTarget {
    /// `a=1&b=2` for `/path?a=1&b=2`, empty when there is none.
    var rawQuery = ""
    /// The path as sent, only when it holds a `%`: the rest of the time it is the decoded path, and
    /// a copy would be one more allocation on every request.
    var encodedPath: String?
    /// libmicrohttpd decodes `%00` to a NUL, and the C string it hands on ends there:
    /// `/webhooks/a%00/b` would be routed as `/webhooks/a`. (`%00` is the only way to a NUL: a raw
    /// one ends the request line.)
    var encodedNUL = false
    /// `AbsoluteForm.prefixLength`: the path starts after it.
    var absoluteFormPrefix = 0
    /// An absolute-form target's authority, which replaces the `Host` header; nil for the origin-form.
    var authority: String?
}

/// A raw URI as sent, read in one pass before libmicrohttpd decodes it in place.
private func readTarget(_ uri: UnsafePointer<CChar>?) -> RequestTarget {
    var target = RequestTarget()
    guard let uri else { return target }
    let bytes = UnsafeRawPointer(uri).assumingMemoryBound(to: UInt8.self)
    target.absoluteFormPrefix = AbsoluteForm.prefixLength(bytes)
    if target.absoluteFormPrefix > 0 { target.authority = AbsoluteForm.authority(bytes, prefixLength: target.absoluteFormPrefix) }
    var i = target.absoluteFormPrefix
    var encoded = false
    while bytes[i] != 0, bytes[i] != UInt8(ascii: "?") {
        if bytes[i] == UInt8(ascii: "%") {
            encoded = true
            // `&&` stops at the terminator, so this reads no further than it.
            if bytes[i + 1] == UInt8(ascii: "0") && bytes[i + 2] == UInt8(ascii: "0") { target.encodedNUL = true }
        }
        i += 1
    }
    if encoded {
        let path = UnsafeBufferPointer(start: bytes + target.absoluteFormPrefix, count: i - target.absoluteFormPrefix)
        target.encodedPath = String(decoding: path, as: UTF8.self)
    }
    if bytes[i] != 0 { target.rawQuery = String(cString: uri + i + 1) }
    return target
}

/// Queues `response` on `connection`; `closing` (the server is stopping) closes the connection after it.
private func send(_ response: HTTPResponse, on connection: OpaquePointer?, closing: Bool) -> MHD_Result {
    let mhdResponse = response.body.withUnsafeBytes { raw in
        MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress),
                                        .RESPMEM_MUST_COPY)
    }
    guard let mhdResponse else { return .NO }
    if closing { _ = MHD_add_response_header(mhdResponse, "Connection", "close") }
    for (name, value) in response.headers {
        // withCString lends the strings' own bytes; passing the Strings directly would copy each one.
        name.withCString { name in value.withCString { value in _ = MHD_add_response_header(mhdResponse, name, value) } }
    }
    let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
    MHD_destroy_response(mhdResponse)
    return result
}

private let uriCallback: layeron_mhd_uri_callback = { _, uri, connection in
    // Set by the connection's start report, which comes before any of its requests.
    let deadline = Unmanaged<ConnectionDeadline>.fromOpaque(layeron_mhd_socket_context(connection)!).takeUnretainedValue()
    let state = RequestState(target: readTarget(uri), deadline: deadline)
    return Unmanaged.passRetained(state).toOpaque()
}

/// A connection's start and close, on the thread that serves it.
private let connectionCallback: MHD_NotifyConnectionCallback = { cls, connection, context, event in
    guard let cls, let context else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    switch event {
    case .CONNECTION_NOTIFY_STARTED:
        let deadline = server.deadlines.opened(socket: layeron_mhd_connection_socket(connection), peer: PeerAddress(of: connection))
        context.pointee = Unmanaged.passRetained(deadline).toOpaque()
    case .CONNECTION_NOTIFY_CLOSED:
        guard let pointer = context.pointee else { return }
        server.connections.closed()
        server.deadlines.closed(Unmanaged<ConnectionDeadline>.fromOpaque(pointer).takeRetainedValue())
        context.pointee = nil
    @unknown default:
        return
    }
}

private let logCallback: layeron_mhd_log_callback = { cls, text in
    guard let cls, let text else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    let message = HTTPServerMessage(libraryText: String(cString: text))
    if server.isPerAddressRefusal(message.text) {
        server.onConnectionLimit(.perAddress(limit: Int(server.limits.maxConnectionsPerAddress)), server.port)
        return
    }
    let held = server.heldMessages.withLock { held in
        held?.append(message)
        return held != nil
    }
    if !held { server.onMessage(message) }
}

/// Called for every request `uriCallback` saw (libmicrohttpd marks the request as known to the
/// application there): once its response has been sent, or when its connection closes without one.
/// The connection then waits for its next request.
private let completedCallback: MHD_RequestCompletedCallback = { cls, _, context, _ in
    guard let context, let pointer = context.pointee else { return }
    let state = Unmanaged<RequestState>.fromOpaque(pointer).takeRetainedValue()
    state.deadline.answered(now: ConnectionDeadline.now())
    context.pointee = nil
    if state.counted, let cls { Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().inFlight.decrement() }
}

private let accessCallback: MHD_AccessHandlerCallback = { cls, connection, url, method, version, uploadData, uploadSize, context in
    guard let cls, let context, let pointer = context.pointee, let uploadSize else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    let state = Unmanaged<RequestState>.fromOpaque(pointer).takeUnretainedValue()

    if state.deferred {
        // Resumed: the handler's response is ready.
        guard let response = state.takeReady() else { return .YES }
        return send(response, on: connection, closing: server.isClosing)
    }
    // Each call while the request arrives looks at its deadline; the last one, the body whole, stops the clock.
    let arriving = !state.started || uploadSize.pointee > 0
    let now = ConnectionDeadline.now()
    let deadline = arriving ? state.deadline.check(now: now) : state.deadline.finishRequest(now: now)
    if deadline != .inTime {
        return refuseLate(deadline, state: state, server: server, uploadSize: uploadSize, on: connection)
    }
    if state.answeredOnSocket {
        // The socket is shut: libmicrohttpd finds it ended and closes the connection. The answer
        // queued at the end of a request without a body is not delivered, like refuseLate's.
        guard uploadSize.pointee == 0 else {
            uploadSize.pointee = 0
            return .YES
        }
        return send(RequestRefusal.headTooLarge.response(adding: server.refusalHeaders), on: connection, closing: true)
    }
    if !state.started {
        state.started = true
        let framing = RequestFraming(connection, method: method, hasQuery: !state.rawQuery.isEmpty)
        // Answered from the head: queued now, libmicrohttpd sends no `100 Continue` and reads none
        // of the body.
        if let refusal = state.encodedNUL ? .encodedNUL : framing.refusal(bodyLimit: server.limits.maxBodyBytes, version: version) {
            server.onRefusal(refusal.label)
            // The pool may have no room for this answer's header either: it goes straight on the socket.
            if refusal == .headTooLarge {
                state.answeredOnSocket = true
                state.deadline.answerAndShutDown(refusal.wireBytes(adding: server.refusalHeaders))
                return .YES
            }
            return send(refusal.response(adding: server.refusalHeaders), on: connection, closing: server.isClosing)
        }
        if let declared = framing.declaredLength { state.body.reserveCapacity(declared) }
        return .YES
    }
    if uploadSize.pointee > 0 {
        let count = uploadSize.pointee
        if !state.tooLarge, let uploadData {
            if state.body.count + count > server.limits.maxBodyBytes {
                state.tooLarge = true
                state.body = []
            } else {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: count) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
                }
            }
        }
        uploadSize.pointee = 0
        return .YES
    }
    if state.tooLarge {
        let refusal = RequestRefusal.bodyTooLarge(limit: server.limits.maxBodyBytes)
        server.onRefusal(refusal.label)
        return send(refusal.response(adding: server.refusalHeaders), on: connection, closing: server.isClosing)
    }
    var headers = collect(connection, kind: .HEADER_KIND, lowercase: true)
    if let authority = state.authority {
        if let host = headers.pairs.firstIndex(where: { $0.name == "host" }) {
            headers.pairs[host].value = authority
            headers.invalidUTF8[host] = nil
        } else {
            headers.pairs.append((name: "host", value: authority))
        }
    }
    let request = HTTPRequest(
        method: method.map { String(cString: $0) } ?? "GET",
        path: url.map { AbsoluteForm.path($0, prefixLength: state.absoluteFormPrefix) } ?? "/",
        encodedPath: state.encodedPath,
        rawQuery: state.rawQuery,
        query: collect(connection, kind: .GET_ARGUMENT_KIND, lowercase: false).pairs,
        headers: headers.pairs,
        invalidUTF8HeaderValues: headers.invalidUTF8,
        body: state.body)
    state.body = []
    server.inFlight.increment()
    state.counted = true
    if server.stopped.load(ordering: .sequentiallyConsistent) {
        server.onRefusal(RequestRefusal.stopping.label)
        return send(RequestRefusal.stopping.response(adding: server.refusalHeaders), on: connection, closing: false)
    }
    return answer(server.handler(request), state: state, server: server, on: connection)
}

/// Answers 408 and closes the connection of a request that missed its deadline. At the head or once
/// the body is whole, libmicrohttpd sends the answer and closes; in the middle of the body it takes no
/// answer, so it goes straight to the socket. A request the sweeper has closed already gets the same
/// answer at the head or the end, which the shut socket does not deliver, and nothing in between.
private func refuseLate(_ check: ConnectionDeadline.Check, state: RequestState, server: HTTPServer,
                        uploadSize: UnsafeMutablePointer<Int>, on connection: OpaquePointer?) -> MHD_Result {
    if check == .missed { server.deadlines.report(state.deadline) }
    let refusal = RequestRefusal.requestTimeout(limit: server.limits.requestTimeout)
    guard uploadSize.pointee > 0 else { return send(refusal.response(adding: server.refusalHeaders), on: connection, closing: server.isClosing) }
    uploadSize.pointee = 0
    if check == .missed { state.deadline.answerAndShutDown(refusal.wireBytes(adding: server.refusalHeaders)) }
    return .YES
}

/// Carries out a reply on the connection's own thread: sends the response, or suspends the
/// connection until another thread hands the response back.
private func answer(_ reply: HTTPReply, state: RequestState, server: HTTPServer, on connection: OpaquePointer?) -> MHD_Result {
    switch reply {
    case let .now(response):
        return send(response, on: connection, closing: server.isClosing)
    case let .later(start):
        // Counted before this load (`HTTPServer.closing`): a stop that has seen no request left may
        // stop libmicrohttpd at any moment, which must not find this connection suspended. The work
        // is not started, so the provider's retry finds nothing of it.
        if server.isClosing {
            server.onRefusal(RequestRefusal.stopping.label)
            // The refusal says `Connection: close` itself.
            return send(RequestRefusal.stopping.response(adding: server.refusalHeaders), on: connection, closing: false)
        }
        state.deferred = true
        MHD_suspend_connection(connection)
        let handle = ConnectionHandle(pointer: connection)
        // The request stays in flight (`HTTPServer.inFlight`) until its response is sent, so the
        // server cannot stop between this resume and the send.
        start { response in
            state.fulfil(response)
            MHD_resume_connection(handle.pointer)
        }
        return .YES
    }
}
