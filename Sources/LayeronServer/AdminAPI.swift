import Foundation
import LayeronCore
import LayeronCrypto
import LayeronHTTP
import LayeronPluginHost
import LayeronStore

/// The admin listener: events, replay, plugins, health and metrics, behind a bearer token.
final class AdminAPI: Sendable {
    private let snapshots: SnapshotHolder
    private let store: EventStore
    private let dispatcher: Dispatcher
    private let plugins: PluginRegistry
    private let metrics: Metrics

    init(snapshots: SnapshotHolder, store: EventStore, dispatcher: Dispatcher, plugins: PluginRegistry, metrics: Metrics) {
        self.snapshots = snapshots
        self.store = store
        self.dispatcher = dispatcher
        self.plugins = plugins
        self.metrics = metrics
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        if request.path == "/healthz" {
            return request.method == "GET" ? .json(200, "{\"status\":\"ok\"}") : methodNotAllowed("GET")
        }
        guard authorized(request) else {
            return HTTPResponse(status: 401, headers: [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer")],
                                body: Array("{\"error\":\"missing or wrong bearer token\"}".utf8))
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true)
        switch (request.method, parts.count) {
        case (_, 1) where parts[0] == "metrics":
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            return .text(200, renderMetrics(), contentType: "text/plain; version=0.0.4")
        case (_, 2) where parts == ["admin", "events"]:
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            return listEvents(request)
        case (_, 2) where parts == ["admin", "plugins"]:
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            return .json(200, JSONValue.object([("plugins", .array(plugins.statuses().map(EventJSON.plugin)))]).serialized())
        case (_, 3) where parts[0] == "admin" && parts[1] == "events":
            guard request.method == "GET" else { return methodNotAllowed("GET") }
            return showEvent(String(parts[2]))
        case (_, 4) where parts[0] == "admin" && parts[1] == "events" && parts[3] == "replay":
            guard request.method == "POST" else { return methodNotAllowed("POST") }
            return replay(String(parts[2]))
        default:
            return error(404, "no admin route \(request.method) \(request.path)")
        }
    }

    /// Compares in constant time; a loopback-only admin listener may run without a token.
    private func authorized(_ request: HTTPRequest) -> Bool {
        guard let token = snapshots.snapshot.adminToken else { return true }
        guard let header = request.header("authorization"), header.hasPrefix("Bearer ") else { return false }
        return ConstantTime.equals(Array(header.utf8.dropFirst(7)), token.bytes)
    }

    private func listEvents(_ request: HTTPRequest) -> HTTPResponse {
        let known: Set<String> = ["webhook", "direction", "status", "type", "limit", "cursor"]
        if let unknown = request.query.first(where: { !known.contains($0.name) }) {
            return error(400, "unknown parameter \(unknown.name); expected one of: \(known.sorted().joined(separator: ", "))")
        }
        var query = EventQuery()
        query.webhook = request.queryValue("webhook").flatMap { $0.isEmpty ? nil : $0 }
        query.type = request.queryValue("type").flatMap { $0.isEmpty ? nil : $0 }
        if let text = request.queryValue("direction"), !text.isEmpty {
            guard let direction = EventDirection(rawValue: text) else {
                return error(400, "invalid direction \"\(text)\"; expected inbound or outbound")
            }
            query.direction = direction
        }
        if let text = request.queryValue("status"), !text.isEmpty {
            guard let status = EventStatus(rawValue: text) else {
                return error(400, "invalid status \"\(text)\"; expected one of: \(EventStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.status = status
        }
        if let text = request.queryValue("limit"), !text.isEmpty {
            guard let limit = Int(text), (1...1000).contains(limit) else {
                return error(400, "invalid limit \"\(text)\"; expected a whole number from 1 to 1000")
            }
            query.limit = limit
        }
        if let text = request.queryValue("cursor"), !text.isEmpty {
            guard let seq = EventJSON.seq(fromCursor: text) else { return error(400, "invalid cursor \"\(text)\"") }
            query.beforeSeq = seq
        }
        let pageSize = query.limit
        query.limit = pageSize + 1
        do {
            let rows = try store.list(query)
            let page = rows.prefix(pageSize)
            let next: JSONValue = rows.count > pageSize ? .string(EventJSON.cursor(afterSeq: page.last!.seq)) : .null
            let body = JSONValue.object([
                ("events", .array(page.map { .object(EventJSON.summary($0)) })),
                ("next_cursor", next),
            ])
            return .json(200, body.serialized())
        } catch {
            return self.error(500, "cannot read events: \(error)")
        }
    }

    private func showEvent(_ id: String) -> HTTPResponse {
        do {
            guard let event = try store.event(id: id) else { return error(404, "no event \(id)") }
            return .json(200, EventJSON.detail(event, attempts: try store.attempts(seq: event.seq)).serialized())
        } catch {
            return self.error(500, "cannot read event: \(error)")
        }
    }

    private func replay(_ id: String) -> HTTPResponse {
        do {
            guard let event = try store.event(id: id) else { return error(404, "no event \(id)") }
            guard event.handler != nil else {
                return error(409, "event \(id) matched no handler (status ignored); there is nothing to replay it through")
            }
            dispatcher.replay(seq: event.seq)
            return .json(202, JSONValue.object([("event", .object(EventJSON.summary(event)))]).serialized())
        } catch {
            return self.error(500, "cannot read event: \(error)")
        }
    }

    private func renderMetrics() -> String {
        metrics.render(gauges: [
            ("layeron_dispatch_queue_depth", "Events queued in memory for a worker.", Double(dispatcher.queueDepth)),
            ("layeron_plugins_active", "Plugin versions serving.", Double(plugins.statuses().filter { $0.state == .active }.count)),
            ("layeron_plugins_failed", "Plugin files refused.", Double(plugins.statuses().filter { $0.state == .failed }.count)),
        ])
    }

    private func methodNotAllowed(_ allowed: String) -> HTTPResponse {
        var response = error(405, "method not allowed; use \(allowed)")
        response.headers.append(("Allow", allowed))
        return response
    }

    private func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, JSONValue.object([("error", .string(message))]).serialized())
    }
}
