import CCurl
import CShims
import Foundation
import LayeronCore

/// Outbound HTTP on libcurl's multi interface: one thread drives every transfer, so many deliveries
/// are in flight at once without a thread each; connections stay in the multi handle's cache and are
/// reused across deliveries, and HTTP/2 is negotiated over TLS when the receiver offers it (several
/// deliveries then share one connection). Caps on concurrency and rate are the caller's business:
/// this engine sends what it is given.
public final class DeliveryEngine: @unchecked Sendable {
    /// One running transfer; owns its easy handle and header list until the transfer ends.
    private final class Transfer {
        let request: DeliveryRequest
        let completion: @Sendable (DeliveryResult) -> Void
        let startedAt: UInt64
        var easy: UnsafeMutableRawPointer?
        var headerList: UnsafeMutablePointer<curl_slist>?
        var body: [UInt8] = []
        var headers: [(name: String, value: String)] = []
        var headerBytes = 0
        /// Whether the blank line that ends the last response head arrived: libcurl reports the
        /// status as soon as the status line is read, before the receiver has finished answering.
        var headComplete = false
        /// Set by the socket callback when the guard refused the resolved address.
        var refusal: String?
        /// Set by the socket callback when `socket` failed: libcurl reports only "Couldn't connect",
        /// and leaves `CURLINFO_OS_ERRNO` at 0 for a socket that could not be made.
        var socketErrno: Int32?
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

        init(request: DeliveryRequest, completion: @escaping @Sendable (DeliveryResult) -> Void) {
            self.request = request
            self.completion = completion
            startedAt = DispatchTime.now().uptimeNanoseconds
        }
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private let multi: UnsafeMutableRawPointer
    private let userAgent: String
    /// Guards `pending` and `stopping`.
    private let pendingLock = NSLock()
    private var pending: [Transfer] = []
    private var stopping = false
    /// Only the engine thread touches `running`.
    private var running: [UInt: Transfer] = [:]
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    public init(userAgent: String) {
        _ = Self.globalInit
        multi = curl_multi_init()!
        self.userAgent = userAgent
        _ = layeron_curl_multi_set_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = layeron_curl_multi_set_long(multi, CURLMOPT_MAXCONNECTS, 256)
    }

    deinit { curl_multi_cleanup(multi) }

    public func start() {
        started = true
        Thread.startNamed("outbound-curl") { [self] in loop() }
    }

    /// Queues `request`; `completion` runs on the engine thread when the transfer ends, and must
    /// return quickly (it holds up every other transfer).
    public func submit(_ request: DeliveryRequest, completion: @escaping @Sendable (DeliveryResult) -> Void) {
        pendingLock.lock()
        let refused = stopping
        if !refused { pending.append(Transfer(request: request, completion: completion)) }
        pendingLock.unlock()
        if refused {
            completion(DeliveryResult(status: nil, headers: [], bodySnippet: [], transportError: "the server is shutting down", latencyMilliseconds: 0))
            return
        }
        curl_multi_wakeup(multi)
    }

    /// Aborts what is in flight (each completion hears "the server is shutting down") and stops the thread.
    public func stop() {
        pendingLock.lock()
        stopping = true
        pendingLock.unlock()
        guard started else { return }
        curl_multi_wakeup(multi)
        stopped.wait()
    }

    private func loop() {
        var stillRunning: Int32 = 0
        while true {
            pendingLock.lock()
            let stop = stopping
            let fresh = pending
            pending.removeAll()
            pendingLock.unlock()
            if stop {
                for transfer in fresh { finish(transfer, code: CURLE_ABORTED_BY_CALLBACK, shutdown: true) }
                for transfer in running.values { finish(transfer, code: CURLE_ABORTED_BY_CALLBACK, shutdown: true) }
                running.removeAll()
                stopped.signal()
                return
            }
            for transfer in fresh { add(transfer) }
            _ = curl_multi_perform(multi, &stillRunning)
            var left: Int32 = 0
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = running.removeValue(forKey: UInt(bitPattern: easy)) else { continue }
                finish(transfer, code: message.pointee.data.result, shutdown: false)
            }
            _ = curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func add(_ transfer: Transfer) {
        guard let easy = curl_easy_init() else {
            // Only a want of memory makes it fail: the server's own state, not the receiver's, so
            // the try is not sent and takes no step of the receiver's schedule.
            transfer.completion(DeliveryResult(status: nil, headers: [], bodySnippet: [], transportError: "libcurl failed to initialise (out of memory)",
                                               latencyMilliseconds: 0, notSent: true))
            return
        }
        transfer.easy = easy
        let request = transfer.request
        // An empty Expect stops libcurl's 100-continue round trip on larger bodies.
        for (name, value) in request.headers + [("Expect", "")] {
            transfer.headerList = curl_slist_append(transfer.headerList, value.isEmpty ? "\(name):" : "\(name): \(value)")
        }
        let user = Unmanaged.passUnretained(transfer).toOpaque()
        _ = layeron_curl_set_string(easy, CURLOPT_URL, request.url)
        _ = layeron_curl_set_long(easy, CURLOPT_POST, 1)
        _ = layeron_curl_set_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count)
        request.body.withUnsafeBufferPointer { buffer in
            // COPYPOSTFIELDS copies now, so the body need not outlive this call.
            _ = layeron_curl_set_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
        }
        _ = layeron_curl_set_pointer(easy, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(transfer.headerList))
        _ = layeron_curl_set_long(easy, CURLOPT_TIMEOUT_MS, Int(clamping: request.timeoutMilliseconds))
        _ = layeron_curl_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(clamping: min(request.timeoutMilliseconds, 10_000)))
        _ = layeron_curl_set_long(easy, CURLOPT_NOSIGNAL, 1)
        // Redirects are answers, not instructions: a 3xx is recorded and retried, never followed, so
        // no redirect can lead a delivery to an address the guard would refuse.
        _ = layeron_curl_set_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = layeron_curl_set_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        // No proxy from the environment: the guard checks the address connected to, which must be the receiver's.
        _ = layeron_curl_set_string(easy, CURLOPT_PROXY, "")
        _ = layeron_curl_set_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS)
        _ = layeron_curl_set_string(easy, CURLOPT_USERAGENT, userAgent)
        transfer.errorBuffer.withUnsafeMutableBufferPointer { buffer in
            _ = layeron_curl_set_pointer(easy, CURLOPT_ERRORBUFFER, buffer.baseAddress)
        }
        // Only the first `DeliveryLimits.bodyBytes` of an answer are kept, so the read stops there
        // (returning less than was handed over ends the transfer): a 50 MB answer is not downloaded
        // for 4 KB of it. `finish` takes the status that came before the body.
        _ = layeron_curl_set_write_function(easy) { data, size, count, user in
            guard let data, let user else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            let room = DeliveryLimits.bodyBytes - transfer.body.count
            data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: min(room, size * count)))
            }
            return transfer.body.count < DeliveryLimits.bodyBytes ? size * count : 0
        }
        _ = layeron_curl_set_pointer(easy, CURLOPT_WRITEDATA, user)
        _ = layeron_curl_set_header_function(easy) { data, size, count, user in
            guard let data, let user else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            switch ResponseHeadLine(data, count: size * count) {
            case .status:
                // A new response (after a 1xx): only the final one's headers are kept.
                transfer.headers.removeAll()
                transfer.headerBytes = 0
                transfer.headComplete = false
            case .end:
                transfer.headComplete = true
            case let .field(name, value) where transfer.headerBytes + size * count <= DeliveryLimits.headerBytes:
                transfer.headerBytes += size * count
                transfer.headers.append((name, value))
            case .field, .other:
                break
            }
            return size * count
        }
        _ = layeron_curl_set_pointer(easy, CURLOPT_HEADERDATA, user)
        // Every socket is made here: the guard checks the address first (unless the destination
        // allows private ones), and a failed `socket` keeps its errno, which libcurl drops.
        _ = layeron_curl_set_opensocket_function(easy) { user, _, address in
            guard let user, let address else { return CURL_SOCKET_BAD }
            let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            if !transfer.request.allowPrivate, let refusal = DeliveryEngine.refusal(address) {
                transfer.refusal = refusal
                return CURL_SOCKET_BAD
            }
            let made = socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
            if made < 0 { transfer.socketErrno = errno }
            return made
        }
        _ = layeron_curl_set_pointer(easy, CURLOPT_OPENSOCKETDATA, user)
        if !request.allowPrivate {
            // The socket check above sees only new connections, and every destination shares the
            // multi handle's connection cache: a connection an `allow_private` destination opened
            // to an inside address would serve a guarded one to the same host and port. This check
            // runs on the connection a transfer actually uses, new or reused, before a byte is sent.
            _ = layeron_curl_set_prereq_function(easy) { user, primaryIP, _, _, _ in
                guard let user, let primaryIP else { return Int32(CURL_PREREQFUNC_ABORT) }
                let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
                guard let refusal = DeliveryEngine.refusal(ip: String(cString: primaryIP)) else { return Int32(CURL_PREREQFUNC_OK) }
                transfer.refusal = refusal
                return Int32(CURL_PREREQFUNC_ABORT)
            }
            _ = layeron_curl_set_pointer(easy, CURLOPT_PREREQDATA, user)
        }
        running[UInt(bitPattern: easy)] = transfer
        curl_multi_add_handle(multi, easy)
    }

    /// The guard's reason to refuse the address libcurl is about to connect to, with the address.
    private static func refusal(_ address: UnsafeMutablePointer<curl_sockaddr>) -> String? {
        let family = address.pointee.family
        let raw = UnsafeRawPointer(address) + MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
        var bytes: [UInt8]
        switch family {
        case AF_INET:
            var a = raw.loadUnaligned(as: sockaddr_in.self).sin_addr
            bytes = withUnsafeBytes(of: &a) { Array($0) }
        case AF_INET6:
            var a = raw.loadUnaligned(as: sockaddr_in6.self).sin6_addr
            bytes = withUnsafeBytes(of: &a) { Array($0) }
        default:
            return "refused to connect: address family \(family) is not IPv4 or IPv6"
        }
        return refusal(bytes, family: family)
    }

    /// The same for a connection's address as libcurl prints it (`127.0.0.1`, `::1`).
    private static func refusal(ip: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, ip, &v4) == 1 { return refusal(withUnsafeBytes(of: &v4) { Array($0) }, family: AF_INET) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, ip, &v6) == 1 { return refusal(withUnsafeBytes(of: &v6) { Array($0) }, family: AF_INET6) }
        return "refused to send: the connection's address \"\(ip)\" is not IPv4 or IPv6"
    }

    private static func refusal(_ bytes: [UInt8], family: Int32) -> String? {
        guard let reason = AddressGuard.refusal(bytes) else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, socklen_t(text.count)) }
        let printable = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return "refused to connect to \(printable): \(reason) (the destination does not set \"allow_private\": true)"
    }

    private func finish(_ transfer: Transfer, code: CURLcode, shutdown: Bool) {
        let latency = Int64((DispatchTime.now().uptimeNanoseconds - transfer.startedAt) / 1_000_000)
        var status: Int?
        var error: String?
        var notSent = false
        if let easy = transfer.easy {
            var answered = 0
            _ = layeron_curl_get_response_code(easy, &answered)
            if code == CURLE_OK {
                status = answered
            } else if !shutdown, transfer.refusal == nil, answered >= 200, transfer.headComplete {
                // The receiver's final head arrived and the body did not end: the read stopped at
                // the kept 4 KB, or the body outlasted the timeout. The status is the answer; a 2xx
                // whose body was slow is a delivery, not a failure to send again.
                status = answered
            } else if shutdown {
                error = "the server is shutting down"
            } else if let refusal = transfer.refusal {
                error = refusal
            } else if let code = Self.descriptorErrno(transfer) {
                notSent = true
                error = "the server is out of file descriptors (\(String(cString: strerror(code)))) "
                    + "and did not contact the receiver; raise its open-file limit (LimitNOFILE=, `ulimit -n`) or lower limits.maxConnections"
            } else {
                let detail = transfer.errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                error = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : "\(String(cString: curl_easy_strerror(code))): \(detail)"
            }
            curl_multi_remove_handle(multi, easy)
            curl_easy_cleanup(easy)
        } else {
            error = "the server is shutting down"
        }
        curl_slist_free_all(transfer.headerList)
        transfer.headerList = nil
        transfer.completion(DeliveryResult(status: status, headers: transfer.headers, bodySnippet: transfer.body,
                                           transportError: error, latencyMilliseconds: latency, notSent: notSent))
    }

    /// EMFILE or ENFILE when the transfer failed for want of a descriptor of the server's own.
    private static func descriptorErrno(_ transfer: Transfer) -> Int32? {
        guard let code = transfer.socketErrno, code == EMFILE || code == ENFILE else { return nil }
        return code
    }
}
