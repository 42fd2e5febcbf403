import Foundation
import LayeronCore
import LayeronCrypto
import LayeronHTTP
import LayeronPluginHost
import LayeronStore

/// The admin API: events, replay, plugins, webhooks, health and metrics, behind bearer tokens with
/// scopes. Served on the admin listener, and (its mountable routes) under the public mount.
final class AdminAPI: Sendable {
    enum Listener {
        case admin
        /// The public listener's mount: only mountable routes, only the mount's token.
        case mount
    }

    let snapshots: SnapshotHolder
    let store: EventStore
    let dispatcher: Dispatcher
    let outbound: OutboundService
    let plugins: PluginRegistry
    let metrics: Metrics
    let readiness: Readiness

    init(snapshots: SnapshotHolder, store: EventStore, dispatcher: Dispatcher, outbound: OutboundService, plugins: PluginRegistry, metrics: Metrics,
         readiness: Readiness) {
        self.readiness = readiness
        self.snapshots = snapshots
        self.store = store
        self.dispatcher = dispatcher
        self.outbound = outbound
        self.plugins = plugins
        self.metrics = metrics
    }

    /// Answers at once, except an emit, which answers once its event is committed without holding a
    /// listener thread meanwhile.
    func handle(_ request: HTTPRequest, on listener: Listener = .admin) -> HTTPReply {
        switch resolve(request, on: listener) {
        case let .answer(response): return .now(response)
        case let .emit(name): return emitOutbound(name, request)
        }
    }

    private enum Resolution {
        case answer(HTTPResponse)
        case emit(String)
    }

    private func resolve(_ request: HTTPRequest, on listener: Listener) -> Resolution {
        let route: AdminRoute
        let params: [String: String]
        switch AdminRoute.resolve(method: request.method, path: request.path, mounted: listener == .mount) {
        case .notFound:
            return .answer(AdminResponses.error(404, "no admin route \(request.path)"))
        case let .wrongMethod(allowed):
            var response = AdminResponses.error(405, "method not allowed; use \(allowed.joined(separator: ", "))")
            response.headers.append(("Allow", allowed.joined(separator: ", ")))
            return .answer(response)
        case let .found(r, p):
            route = r
            params = p
        }
        if let needed = route.scope {
            switch authorize(request, listener: listener) {
            case nil:
                return .answer(AdminResponses.error(401, "missing or wrong bearer token", headers: [("WWW-Authenticate", "Bearer")]))
            case let scope? where scope < needed:
                return .answer(AdminResponses.error(403, "this token's scope is \(scope.rawValue); \(request.method) \(route.path) needs \(needed.rawValue)"))
            default:
                break
            }
        }
        let response: HTTPResponse
        switch route.endpoint {
        case .emitOutbound: return .emit(params["name"] ?? "")
        case .health: response = .json(200, readiness.isDraining ? #"{"status":"draining"}"# : #"{"status":"ok"}"#)
        case .readiness: response = readinessResponse()
        case .metrics: response = .text(200, renderMetrics(), contentType: "text/plain; version=0.0.4")
        case .openAPI: response = HTTPResponse(status: 200, headers: [("Content-Type", "application/yaml")], body: PackageResources.admin_api_yaml)
        case .listEvents: response = listEvents(request)
        case .showEvent: response = showEvent(params["id"] ?? "")
        case .replayEvent: response = replay(params["id"] ?? "", request)
        case .bulkReplay: response = bulkReplay(request)
        case .purgeEvents: response = purge(request)
        case .listPlugins:
            response = .json(200, JSONValue.object([("plugins", .array(plugins.statuses().map(EventJSON.plugin)))]).serialized())
        case .listWebhooks: response = listWebhooks()
        case .listOutbound: response = listOutbound()
        case .enableOutbound: response = enableOutbound(params["name"] ?? "")
        }
        return .answer(response)
    }

    /// The scope of the presented token, or nil when it matches none. The presented token's SHA-256
    /// digest is compared with each configured token's (`RuntimeSnapshot.adminTokens`) in constant
    /// time, and all of them are always compared: digests have one length, so the timing reveals
    /// neither where a guess differs nor how long the tokens are.
    /// An admin listener on loopback with no token configured is open (the config refuses that
    /// anywhere else).
    private func authorize(_ request: HTTPRequest, listener: Listener) -> AdminScope? {
        let snapshot = snapshots.snapshot
        let tokens: [(token: AdminToken, digest: [UInt8])]
        switch listener {
        case .admin:
            tokens = snapshot.adminTokens
            if tokens.isEmpty { return .replay }
        case .mount:
            guard let mount = snapshot.mountToken else { return nil }
            tokens = [mount]
        }
        guard let header = request.header("authorization"), let token = Self.bearerToken(header) else { return nil }
        let presented = Self.tokenDigest(token)
        var granted: AdminScope?
        for (token, digest) in tokens where ConstantTime.equals(presented, digest) {
            granted = max(granted ?? token.scope, token.scope)
        }
        return granted
    }

    /// What a token is compared by: the SHA-256 of its value without spaces or tabs around it, which
    /// no header can carry (RFC 9110 drops them), so a configured value stored with them still matches.
    static func tokenDigest(_ token: some Collection<UInt8>) -> [UInt8] {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = Array(token)
        let start = bytes.firstIndex { !isBlank($0) } ?? bytes.count
        let end = (bytes.lastIndex { !isBlank($0) } ?? start - 1) + 1
        return Digest.hash(.sha256, Array(bytes[start..<max(start, end)]))
    }

    /// The token of an `Authorization: Bearer <token>` value: the scheme's name in any case
    /// (RFC 9110, section 11.1), then one or more spaces or tabs, then the token, up to the end (the
    /// blanks after it, RFC 9110's optional whitespace, are dropped by `tokenDigest`). Nil for another
    /// scheme or no token.
    static func bearerToken(_ header: String) -> ArraySlice<UInt8>? {
        let bytes = Array(header.utf8)
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, isBlank(bytes[scheme.count]),
              zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }) else { return nil }
        guard let start = bytes[scheme.count...].firstIndex(where: { !isBlank($0) }) else { return nil }
        return bytes[start...]
    }

    private func listWebhooks() -> HTTPResponse {
        let config = snapshots.snapshot.config
        let counters = metrics.webhookCounters()
        let items: [JSONValue] = config.webhooks.map { w in
            let c = counters[w.name] ?? WebhookCounters()
            return .object([
                ("name", .string(w.name)),
                ("provider", .string(w.provider)),
                ("path", .string(w.path)),
                ("host", .optional(w.host?.description)),
                ("respond", .string(w.respond.rawValue)),
                ("handlers", .object(w.routes.rules.map { ($0.pattern.description, .string($0.handler.description)) }
                                     + (w.routes.fallback.map { [("*default*", JSONValue.string($0.description))] } ?? []))),
                ("handlers_available", .bool(w.routes.allHandlers.allSatisfy(plugins.isAvailable))),
                ("counters", .object([
                    ("requests", .int(Int64(c.requests))),
                    ("accepted", .int(Int64(c.accepted))),
                    ("rejected_signatures", .int(Int64(c.rejections))),
                    ("duplicates", .int(Int64(c.duplicates))),
                ])),
            ])
        }
        return .json(200, JSONValue.object([("webhooks", .array(items))]).serialized())
    }

    /// 200 while the server takes webhooks; 503 with the reason while it drains or its store fails.
    private func readinessResponse() -> HTTPResponse {
        let (status, reason): (String, String?)
        switch readiness.state {
        case .ready: (status, reason) = ("ready", nil)
        case .draining:
            (status, reason) = ("draining", "the server is stopping: the public listener refuses new connections while running handlers finish")
        case let .storeFailing(error):
            (status, reason) = ("store_failing", "the store's last write failed (\(error)); webhooks are answered 503 until a write succeeds")
        }
        var members: [(String, JSONValue)] = [("status", .string(status))]
        if let reason { members.append(("reason", .string(reason))) }
        return .json(reason == nil ? 200 : 503, JSONValue.object(members).serialized())
    }

    private func renderMetrics() -> String {
        let statuses = plugins.statuses()
        let queue = (try? store.queueCounts(now: WallClock.nowMilliseconds())) ?? (due: 0, scheduled: 0)
        let batches = store.writerBatchCounts
        return metrics.render(gauges: [
            ("layeron_dispatch_queue_depth", "Events queued in memory for a worker.", Double(dispatcher.queueDepth)),
            ("layeron_events_due", "Pending events whose attempt is due now.", Double(queue.due)),
            ("layeron_events_retry_scheduled", "Pending events waiting for a later retry.", Double(queue.scheduled)),
            ("layeron_plugins_active", "Plugin versions serving.", Double(statuses.filter { $0.state == .active }.count)),
            ("layeron_plugins_failed", "Plugin files refused.", Double(statuses.filter { $0.state == .failed }.count)),
        ], sampledCounters: [
            ("layeron_store_batches_total", "Transactions the store's writer ran (each a group commit).", batches.batches),
            ("layeron_store_batch_jobs_total", "Writes those transactions held (events, attempt records, admin writes).", batches.jobs),
            ("layeron_store_write_errors_total", "Writes the store could not commit (events, attempt records, admin writes).",
             store.writeHealth.failedWrites),
            ("layeron_log_lines_dropped_total",
             "Log lines lost: standard error refused them (the program reading it stopped, a full disk), or its reader stalled past a 1 MiB backlog.",
             LogWriter.droppedLines),
        ])
    }
}

enum AdminResponses {
    static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        .json(status, JSONValue.object([("error", .string(message))]).serialized(), headers: [(AdminAnswerMark.name, AdminAnswerMark.value)] + headers)
    }
}
