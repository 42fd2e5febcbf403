/// The whole of `config/layeron.json`, validated: every value here is one the server can run with.
public struct ServerConfig: Sendable {
    public var listen: ListenAddress
    public var admin: AdminConfig
    public var database: String
    /// How hard each commit pushes the events to disk (`"durability"`).
    public var durability: Durability
    public var plugins: PluginsConfig
    public var limits: Limits
    /// Handler worker threads shared by all webhooks.
    public var workers: Int
    public var webhooks: [WebhookConfig]
    /// Destinations outbound events are delivered to.
    public var outbound: [OutboundDestination] = []

    /// Every secret reference the config names, each with the place that names it.
    public var secretReferences: [(owner: String, reference: SecretReference)] {
        var refs: [(String, SecretReference)] = []
        for token in admin.listenerTokens { refs.append(("admin token \(token.name)", token.secret)) }
        if let mount = admin.mount { refs.append(("admin.mount.token", mount.token.secret)) }
        for webhook in webhooks {
            for ref in webhook.secrets { refs.append(("webhook \(webhook.name)", ref)) }
        }
        for destination in outbound {
            for ref in destination.secrets { refs.append(("outbound \(destination.name)", ref)) }
            for case let (name, .secret(ref)) in destination.headers { refs.append(("outbound \(destination.name) header \(name)", ref)) }
        }
        return refs
    }
}

/// How hard a commit pushes data to disk (`"durability"` in the config).
public enum Durability: String, Sendable {
    /// WAL with `synchronous=NORMAL`, the default: a commit survives a crash of the process; a power
    /// loss or kernel crash may drop the last commits before the next checkpoint. Providers then
    /// retry the events they got no 2xx for only if the loss happened before the answer.
    case normal
    /// `synchronous=FULL`: every commit is fsynced before the provider gets its 2xx.
    case fsync
}

public struct AdminConfig: Sendable {
    public var listen: ListenAddress
    /// The operator's token, with every scope. Nil only when the admin listener is on loopback and no
    /// other token is configured; a non-loopback listener without a token is refused.
    public var token: SecretReference?
    /// Further named tokens, each limited to a scope (support tools that may only read, say).
    public var tokens: [AdminToken]
    /// The admin routes exposed on the public listener under a path prefix, for an app's own screens.
    public var mount: AdminMount?
    /// Events older than this are deleted, in small batches.
    public var retention: TimeSpan

    public init(listen: ListenAddress, token: SecretReference?, tokens: [AdminToken] = [], mount: AdminMount? = nil,
                retention: TimeSpan = .seconds(30 * 86_400)) {
        self.listen = listen
        self.token = token
        self.tokens = tokens
        self.mount = mount
        self.retention = retention
    }

    /// Every token that opens the admin listener, the operator's first.
    public var listenerTokens: [AdminToken] {
        (token.map { [AdminToken(name: "admin", secret: $0, scope: .replay)] } ?? []) + tokens
    }
}

/// What a token may do. `replay` includes `read`.
public enum AdminScope: String, Sendable, Comparable {
    case read, replay

    public static func < (a: AdminScope, b: AdminScope) -> Bool { a == .read && b == .replay }
}

public struct AdminToken: Sendable {
    public var name: String
    public var secret: SecretReference
    public var scope: AdminScope

    public init(name: String, secret: SecretReference, scope: AdminScope) {
        self.name = name
        self.secret = secret
        self.scope = scope
    }
}

public struct AdminMount: Sendable {
    /// Prefix on the public listener, e.g. `/_layeron`: `/_layeron/admin/events` lists events.
    public var path: String
    public var token: AdminToken
}

public struct PluginsConfig: Sendable {
    public var dir: String
    /// Per-plugin config objects, handed to each plugin's `init` as JSON.
    public var config: [String: JSONValue]
}

/// Limits on every public request, so a slow or huge client cannot hold resources.
public struct Limits: Sendable, Equatable {
    public var maxBodyBytes: Int
    /// How long a connection may sit idle; every byte starts it again.
    public var connectionTimeout: TimeSpan
    /// How long a client has to send a whole request, however steadily it trickles.
    public var requestTimeout: TimeSpan
    /// Connections the public listener holds open at once; past it new clients wait in the
    /// kernel's backlog until one closes.
    public var maxConnections: Int
    /// Connections one client address may hold open at once; 0 is no cap. Off by default: behind a
    /// reverse proxy every connection comes from the proxy's address.
    public var maxConnectionsPerAddress: Int

    public static let defaults = Limits(maxBodyBytes: 1 << 20, connectionTimeout: .seconds(30), requestTimeout: .seconds(60),
                                        maxConnections: 1024, maxConnectionsPerAddress: 0)
}

/// When the provider gets its answer.
public enum RespondMode: String, Sendable {
    /// 2xx as soon as the event is committed; the handler runs afterwards.
    case afterRecord = "after-record"
    /// Wait for the handler and answer with its outcome.
    case afterHandler = "after-handler"
}

/// What happens to an event no handler matches.
public enum UnhandledPolicy: String, Sendable {
    /// Recorded as `ignored` and answered 2xx, so the provider does not disable the endpoint.
    case ignore
    /// Recorded as `ignored` and answered 422.
    case reject
}

/// Events sharing a key run one at a time, in arrival order (`"ordering": "per-key"`).
public struct OrderingConfig: Sendable {
    public var key: FieldSource
}

public struct DedupeConfig: Sendable {
    public var key: DedupeKeyTemplate
    public var ttl: TimeSpan
}

/// One inbound webhook endpoint.
public struct WebhookConfig: Sendable {
    public var name: String
    /// Where the webhook sits in the config file (`webhooks[2]`), for messages about it: a webhook
    /// refused before it is not in the loaded list, so its place there is not its place in the file.
    public var keyPath: String
    public var provider: String
    public var path: String
    public var host: HostPattern?
    public var scheme: SignatureScheme
    /// Several during a rotation: any one may verify.
    public var secrets: [SecretReference]
    public var eventID: FieldSource?
    public var eventType: FieldSource?
    public var dedupe: DedupeConfig?
    public var routes: HandlerRoutes
    public var respond: RespondMode
    public var retry: RetryPolicy
    public var unhandled: UnhandledPolicy
    /// How long `after-handler` waits for the handler before answering 503.
    public var timeout: TimeSpan
    /// At most this many of this webhook's handlers run at once; nil for no cap beyond the pool.
    public var concurrency: Int?
    public var ordering: OrderingConfig?
    /// How long one attempt may run before its event is presumed stalled and may run again on
    /// another worker (the stalled call cannot be stopped). Longer than the slowest handler.
    public var lease: TimeSpan = WebhookConfig.defaultLease

    public static let defaultLease = TimeSpan.seconds(300)
}

extension ServerConfig {
    /// What the listeners cannot start with: an admin listener off loopback with no token would hand
    /// the admin API to the network, and two listeners on one address cannot both bind. The loader
    /// reports these for the file (so `check` and a reload see them), and `serve` again once its
    /// flags have overridden the addresses.
    public var listenerIssues: [ConfigIssue] {
        var issues: [ConfigIssue] = []
        if admin.listenerTokens.isEmpty, !admin.listen.isLoopback {
            issues.append(ConfigIssue("admin.token", "is required when admin.listen (\(admin.listen)) is not a loopback address"))
        }
        if admin.listen.overlaps(listen) {
            issues.append(ConfigIssue("admin.listen", "\(admin.listen) takes the public listener's address (listen, \(listen)) too; give the two listeners different ports"))
        }
        return issues
    }
}
