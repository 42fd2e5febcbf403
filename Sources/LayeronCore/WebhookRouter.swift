/// Finds the webhook for a request's host and path. Built once per config snapshot; lookups are a
/// dictionary hit on the path followed by a scan of the few host patterns sharing it.
public struct WebhookRouter: Sendable {
    public enum Match: Sendable, Equatable {
        case webhook(Int)
        /// The path is served, but only for other hosts.
        case noHostMatch
        case notFound
    }

    private let byPath: [String: [(host: HostPattern?, index: Int)]]

    public init(_ webhooks: [WebhookConfig]) {
        var table: [String: [(host: HostPattern?, index: Int)]] = [:]
        for (i, webhook) in webhooks.enumerated() {
            table[webhook.path, default: []].append((webhook.host, i))
        }
        // Exact hosts first, then wildcards, then the host-less catch-all.
        for (path, entries) in table {
            table[path] = entries.sorted { rank($0.host) < rank($1.host) }
        }
        byPath = table
    }

    public func match(host: String, path: String) -> Match {
        guard let entries = byPath[Self.key(path)] else { return .notFound }
        for entry in entries where entry.host?.matches(host) ?? true {
            return .webhook(entry.index)
        }
        return .noHostMatch
    }

    /// The path a request and a configured webhook are matched on: one trailing slash dropped, so
    /// `/x` and `/x/` are one endpoint (`/` itself stays).
    public static func key(_ path: String) -> String {
        // `utf8.count`: `count` walks the path as grapheme clusters, on every request.
        path.utf8.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }
}

private func rank(_ host: HostPattern?) -> Int {
    switch host {
    case .exact?: return 0
    case .wildcard?: return 1
    case nil: return 2
    }
}
