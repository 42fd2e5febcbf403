import LayeronCore

/// Every admin route, as data: dispatch walks this table, and a test checks that the OpenAPI spec
/// describes each entry, so a route cannot ship undocumented.
struct AdminRoute: Sendable {
    enum Endpoint: Sendable {
        case health, readiness, metrics, openAPI
        case listEvents, showEvent, replayEvent, bulkReplay, purgeEvents
        case listPlugins, listWebhooks
        case listOutbound, emitOutbound, enableOutbound
    }

    let method: String
    /// Segments, `{id}` for a parameter: `/admin/events/{id}/replay`.
    let path: String
    let endpoint: Endpoint
    /// Nil when no token is needed.
    let scope: AdminScope?
    /// Also served under the public listener's admin mount.
    let mountable: Bool

    static let all: [AdminRoute] = [
        AdminRoute(method: "GET", path: "/healthz", endpoint: .health, scope: nil, mountable: false),
        AdminRoute(method: "GET", path: "/readyz", endpoint: .readiness, scope: nil, mountable: false),
        AdminRoute(method: "GET", path: "/metrics", endpoint: .metrics, scope: .read, mountable: false),
        AdminRoute(method: "GET", path: "/admin/openapi.yaml", endpoint: .openAPI, scope: .read, mountable: true),
        AdminRoute(method: "GET", path: "/admin/events", endpoint: .listEvents, scope: .read, mountable: true),
        AdminRoute(method: "POST", path: "/admin/events/replay", endpoint: .bulkReplay, scope: .replay, mountable: true),
        AdminRoute(method: "POST", path: "/admin/events/purge", endpoint: .purgeEvents, scope: .replay, mountable: false),
        AdminRoute(method: "GET", path: "/admin/events/{id}", endpoint: .showEvent, scope: .read, mountable: true),
        AdminRoute(method: "POST", path: "/admin/events/{id}/replay", endpoint: .replayEvent, scope: .replay, mountable: true),
        AdminRoute(method: "GET", path: "/admin/plugins", endpoint: .listPlugins, scope: .read, mountable: false),
        AdminRoute(method: "GET", path: "/admin/webhooks", endpoint: .listWebhooks, scope: .read, mountable: false),
        AdminRoute(method: "GET", path: "/admin/outbound", endpoint: .listOutbound, scope: .read, mountable: false),
        AdminRoute(method: "POST", path: "/admin/outbound/{name}/events", endpoint: .emitOutbound, scope: .replay, mountable: false),
        AdminRoute(method: "POST", path: "/admin/outbound/{name}/enable", endpoint: .enableOutbound, scope: .replay, mountable: false),
    ]

    /// The parameters when `path` fits this route's shape, else nil. Slashes at either end do not
    /// count (`/healthz/`, a proxy's `//admin/events`), but an empty segment between two others
    /// matches nothing: collapsed, `/admin/events//replay` (an id left empty, `replay "$ID"` with ID
    /// unset) was the bulk replay `/admin/events/replay`, and re-ran handlers of up to 100 events.
    func match(_ path: String) -> [String: String]? {
        let pattern = Self.segments(self.path)
        let parts = Self.segments(path)
        guard pattern.count == parts.count, !parts.contains(where: \.isEmpty) else { return nil }
        var params: [String: String] = [:]
        for (p, part) in zip(pattern, parts) {
            if p.hasPrefix("{") && p.hasSuffix("}") {
                params[String(p.dropFirst().dropLast())] = String(part)
            } else if p != part {
                return nil
            }
        }
        return params
    }

    private static func segments(_ path: String) -> [Substring] {
        let inner = path.drop { $0 == "/" }.reversed().drop { $0 == "/" }.reversed()
        return inner.isEmpty ? [] : String(inner).split(separator: "/", omittingEmptySubsequences: false)
    }

    enum Resolution {
        case found(AdminRoute, [String: String])
        case wrongMethod(allowed: [String])
        case notFound
    }

    /// A path that a literal route spells out is that route's alone, whatever the method
    /// (`/admin/events/replay` is not an event id, even to a GET, nor on the mount, which does not
    /// serve purge). HEAD is served wherever GET is (load balancers' health checks use it;
    /// libmicrohttpd leaves the body out).
    static func resolve(method: String, path: String, mounted: Bool) -> Resolution {
        let matches = all.compactMap { route in route.match(path).map { (route: route, params: $0) } }
        let literal = matches.filter { $0.params.isEmpty }
        let served = (literal.isEmpty ? matches : literal).filter { !mounted || $0.route.mountable }
        let wanted = method == "HEAD" ? "GET" : method
        if let hit = served.first(where: { $0.route.method == wanted }) { return .found(hit.route, hit.params) }
        let methods = served.map(\.route.method)
        // `Allow` lists HEAD too wherever it is served (RFC 9110, 10.2.1).
        return served.isEmpty ? .notFound : .wrongMethod(allowed: methods.contains("GET") ? methods + ["HEAD"] : methods)
    }
}
