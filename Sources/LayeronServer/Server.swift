import Foundation
import LayeronCore
import LayeronCrypto
import LayeronHTTP
import LayeronOutbound
import LayeronPluginHost
import LayeronStore

/// How `layeron serve` was asked to run; flags override the config file.
public struct ServeOptions: Sendable {
    public var configPath: String
    public var listen: ListenAddress?
    public var adminListen: ListenAddress?
    public var database: String?
    public var environment: String
    /// Overrides the config's `workers`.
    public var workers: Int?
    /// libmicrohttpd worker threads of the public listener.
    public var httpThreads: Int
    /// Runs on each reload with the config just read, before its secrets are resolved (development
    /// gives new references their random values here, as at start). The set names the references
    /// that keep their running value though the store lost it: nothing is to be made for them.
    public var beforeReload: (@Sendable (ServerConfig, Set<String>) -> Void)?

    public init(configPath: String, listen: ListenAddress? = nil, adminListen: ListenAddress? = nil,
                database: String? = nil, environment: String, workers: Int? = nil, httpThreads: Int = Int(HTTPServerLimits.defaultThreads)) {
        self.configPath = configPath
        self.listen = listen
        self.adminListen = adminListen
        self.database = database
        self.environment = environment
        self.workers = workers
        self.httpThreads = httpThreads
    }
}

/// Why `serve` could not start, in words the operator can act on.
public enum ServeError: Error, CustomStringConvertible {
    case config(ConfigError)
    case secrets(SecretResolutionError)
    case store(String, EventStoreOpenError)
    case listen(HTTPServerError)
    case databaseLock(DatabaseLockError)
    /// A stop was asked for before the plugins present at start had loaded (`StopRequest`): the
    /// server never listened. The files whose load was still in the plugin's code after the stop's
    /// wait (`PluginRegistry.shutdownAll`); their threads run on.
    case stoppedWhileStarting(abandonedLoads: [String])

    public var description: String {
        switch self {
        case let .config(e): return e.description
        case let .secrets(e): return e.description
        case let .store(path, e): return "cannot open the database \(path): \(e)"
        case let .listen(e): return e.description
        case let .databaseLock(e): return e.description
        case .stoppedWhileStarting: return "stopped before listening: a stop signal came while the plugins present at start loaded"
        }
    }
}

/// Reads and validates a config file.
public func loadConfig(path: String) throws(ConfigError) -> ServerConfig {
    try readConfig(path: path).valid()
}

/// Reads a config file past its issues (`ConfigLoader.read`).
public func readConfig(path: String) throws(ConfigError) -> ConfigReading {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw .unreadable(file: path, reason: UnreadableFile.reason(path))
    }
    return try ConfigLoader.read(text: [UInt8](data), file: path)
}

/// A running server: the public and admin listeners, the store, the plugins and the dispatcher.
public final class Server: @unchecked Sendable {
    public let publicAddress: String
    public let adminAddress: String
    private let publicListener: HTTPServer
    private let adminListener: HTTPServer
    private let store: EventStore
    private let plugins: PluginRegistry
    private let dispatcher: Dispatcher
    private let outbound: OutboundService
    private let maintenance: Maintenance
    private let readiness: Readiness
    /// Held until `stop` has closed the store; the next server on this database may start then.
    private var databaseLock: DatabaseLock?
    let logger: Logger
    let snapshots: SnapshotHolder
    /// The config the server started with: the settings read once at start keep its values, so a
    /// reload compares with them, not with the last file read.
    private let startConfig: ServerConfig
    let options: ServeOptions
    let resolver: any SecretResolver
    /// A reload gives the webhooks of its snapshot their counters from here.
    let metrics: Metrics
    /// Set once in `start`, before the server is handed out.
    private var watchers: ReloadWatchers?
    /// The admin listener's port as the config (and flags) asked for it; 0 for any free port.
    public var configuredAdminPort: UInt16 { snapshots.snapshot.config.admin.listen.port }
    /// The values the running snapshot was built with, by reference name (`reloadSecrets`).
    let lastValues: LastSecretValues
    /// Held by `reload` and `reloadSecrets` from reading the running snapshot to installing the next:
    /// they run on different threads (signals, the config folder's watcher, the secrets store's), and
    /// one that built from a snapshot the other has since replaced would install it over the newer one.
    let reloadLock = NSLock()

    /// `databaseLock` is the one `ServeSecrets.prepare` took for the database; without one it is taken here.
    /// The plugins present at start load before the listeners start, so that no event is refused
    /// for want of its plugin; a stop asked for meanwhile (`stop`) ends the start with
    /// `ServeError.stoppedWhileStarting` once the loads have ended or the stop's wait for plugins'
    /// code is over. The caller checks `stop` again before it announces the server: one asked for
    /// during the loads of the files that changed as the server started ends the wait for them,
    /// and the server is then returned to be stopped.
    public static func start(options: ServeOptions, resolver: any SecretResolver, logger: Logger,
                             databaseLock heldLock: DatabaseLock? = nil, stop: StopRequest = StopRequest()) throws(ServeError) -> Server {
        DispatchTimers.prepare()
        // Taken before the files are read: what changes between then and the watchers' start is
        // picked up after it (`catchUp`) instead of waiting for the next change.
        let configSeen = FileIdentity(of: options.configPath)
        let config: ServerConfig
        do { config = try effectiveConfig(options) } catch { throw .config(error) }
        let listenerIssues = config.listenerIssues
        if !listenerIssues.isEmpty {
            throw .config(.invalid(file: options.configPath, issues: listenerIssues))
        }
        if config.admin.listenerTokens.isEmpty {
            logger.warn("the admin API has no token: anyone on this machine can use it; set admin.token in the config")
        }

        let metrics = Metrics()
        let snapshot: RuntimeSnapshot
        do {
            snapshot = try RuntimeSnapshot(config: config, configFile: options.configPath, resolver: resolver, environment: options.environment, metrics: metrics)
        } catch {
            throw .secrets(error)
        }
        snapshot.unverifiableSecrets.forEach { logger.error($0) }
        let snapshots = SnapshotHolder(snapshot)

        let databaseLock: DatabaseLock
        if let heldLock { databaseLock = heldLock } else {
            do { databaseLock = try DatabaseLock(database: config.database) } catch { throw .databaseLock(error) }
        }
        let store: EventStore
        do { store = try EventStore(path: config.database, durability: config.durability) } catch { throw .store(config.database, error) }

        store.afterEachWALRestart { metrics.observeWALRestart(seconds: $0) }
        let outbound = OutboundService(store: store, snapshots: snapshots, metrics: metrics, logger: logger)
        let privateDirectory = PrivateCopy.folder(prefix: "layeron-plugins")
        let plugins = PluginRegistry(privateDirectory: privateDirectory, logger: logger, emitter: outbound,
                                     configFile: options.configPath,
                                     loadRecord: .besideDatabase(config.database, loader: "the server"), config: { snapshots.snapshot.config.plugins.config[$0] })
        let present = PluginRegistry.pluginFiles(in: config.plugins.dir)
        guard stop.wait(for: { plugins.loadAtStart(present, afterAll: $0) }) else {
            logger.info("stop signal while the server starts: not starting; waiting for the plugin loads under way")
            let abandoned = plugins.shutdownAll()
            store.close()
            logger.info("stopped")
            throw .stoppedWhileStarting(abandonedLoads: abandoned)
        }
        Self.warnOfUnavailableHandlers(config, plugins: plugins, logger: logger)

        let dispatcher = Dispatcher(store: store, plugins: plugins, snapshots: snapshots, metrics: metrics, logger: logger)
        let pipeline = InboundPipeline(snapshots: snapshots, store: store, dispatcher: dispatcher, metrics: metrics, logger: logger)
        let readiness = Readiness(store: store)
        let admin = AdminAPI(snapshots: snapshots, store: store, dispatcher: dispatcher, outbound: outbound, plugins: plugins, metrics: metrics,
                             readiness: readiness)

        let publicLimits = HTTPServerLimits(maxBodyBytes: config.limits.maxBodyBytes,
                                            connectionTimeoutSeconds: UInt32(max(1, config.limits.connectionTimeout.seconds)),
                                            requestTimeout: config.limits.requestTimeout, threads: UInt32(options.httpThreads),
                                            maxConnections: UInt32(config.limits.maxConnections),
                                            maxConnectionsPerAddress: UInt32(config.limits.maxConnectionsPerAddress))
        // The admin listener's limits are fixed; its request timeout is the public listener's default.
        let adminLimits = HTTPServerLimits(maxBodyBytes: 1 << 20, connectionTimeoutSeconds: 30,
                                           requestTimeout: Limits.defaults.requestTimeout, threads: 2)
        // libmicrohttpd's messages join the server's log: a client's broken request at info (as nginx
        // logs them), the listener's own trouble at warn.
        let libraryMessages = { (listener: String) in
            { @Sendable (message: HTTPServerMessage) in
                logger.log(message.concern == .client ? .info : .warn, message.text,
                           [("source", message.source), ("listener", listener)])
            }
        }
        // At info, like a client's broken request: a slow client, or one holding a connection on purpose.
        let requestTimeouts = { (listener: String) in
            { @Sendable (timeout: RequestTimeout) in
                metrics.countRequestTimeout(listener: listener)
                logger.info("request not complete within \(timeout.limit); connection closed",
                            [("listener", listener), ("peer", timeout.peer)])
            }
        }
        let refusals = { (listener: String) in
            { @Sendable (reason: String) in metrics.countRefusal(listener: listener, reason: reason) }
        }
        let connectionLimits = ConnectionLimitWarnings(logger: logger, metrics: metrics)
        let publicListener = HTTPServer(host: config.listen.host, port: config.listen.port, limits: publicLimits,
                                        onMessage: libraryMessages("public"), onRequestTimeout: requestTimeouts("public"),
                                        onRefusal: refusals("public"), onConnectionLimit: connectionLimits.reporter(listener: "public")) { request in
            // The admin mount shares the public port under its own prefix and token.
            if let mount = snapshots.snapshot.config.admin.mount, request.path.hasPrefix(mount.path + "/") {
                var inner = request
                inner.path = String(request.path.dropFirst(mount.path.count))
                return admin.handle(inner, on: .mount)
            }
            return pipeline.handle(request)
        }
        let adminListener = HTTPServer(host: config.admin.listen.host, port: config.admin.listen.port, limits: adminLimits,
                                       onMessage: libraryMessages("admin"), onRequestTimeout: requestTimeouts("admin"),
                                       onRefusal: refusals("admin"), onConnectionLimit: connectionLimits.reporter(listener: "admin"),
                                       refusalHeaders: [(AdminAnswerMark.name, AdminAnswerMark.value)]) { admin.handle($0) }
        metrics.showOpenConnections(listener: "public") { [weak publicListener] in publicListener?.openConnections ?? 0 }
        metrics.showOpenConnections(listener: "admin") { [weak adminListener] in adminListener?.openConnections ?? 0 }
        do {
            try publicListener.start()
            try adminListener.start()
        } catch {
            publicListener.stop()
            // Their `init` ran: a plugin that registered somewhere in it undoes that in `shutdown`.
            plugins.shutdownAll()
            store.close()
            throw .listen(error)
        }
        if let warning = DescriptorBudget.current(publicConnections: Int(publicLimits.maxConnections),
                                                  adminConnections: Int(adminLimits.maxConnections))?.warning {
            logger.warn(warning)
        }
        do {
            // A cut-off attempt counts like a failed one: its event runs again on its webhook's
            // retry schedule, and fails after the last attempt, so a handler that crashes the
            // server cannot crash every start after it.
            let now = WallClock.nowMilliseconds()
            let recovered = try store.recoverInterruptedAttempts(now: now) { [snapshots] attempt in
                // A webhook no longer configured: its policy is unknown, so the event waits in the
                // store, due, and its policy takes over when the webhook is added back.
                guard let policy = snapshots.snapshot.attemptRules(ofWebhook: attempt.webhook)?.retry else { return .runAgain(at: now) }
                let jitter = Double(SecureRandom.bytes(1)[0]) / 256
                guard let delay = policy.delay(afterAttempt: Int(attempt.scheduledPlace), requestedMilliseconds: nil, random: jitter) else { return .fail }
                return .runAgain(at: now + delay.milliseconds)
            }
            let inbound = recovered.attempts - recovered.endedReplays - recovered.outboundDeliveries - recovered.unrecordedEnds
            if inbound > 0 {
                logger.warn("\(inbound) handler attempt(s) were cut off by the last stop; each counts as a failed attempt, and its event runs again on its retry schedule unless that was its last")
            }
            if recovered.outboundDeliveries > 0 {
                logger.warn("\(recovered.outboundDeliveries) outbound delivery(ies) were cut off by the last stop; each is sent again now, in its place in the retry schedule")
            }
            if recovered.unrecordedEnds > 0 {
                logger.warn("\(recovered.unrecordedEnds) attempt(s) of events since settled by another attempt were left open (the store refused their end, or they ran past their lease); they are recorded as ending unknown and do not run again")
            }
            if recovered.endedReplays > 0 {
                logger.warn("\(recovered.endedReplays) replay(s) were cut off by the last stop and do not run again; replay their events again if still wanted")
            }
            let configured = snapshots.snapshot.config.webhooks.map(\.name)
            let waiting = Set(try store.dueEvents(now: .max, limit: 1000, outside: configured).map(\.webhook))
            for removed in waiting.sorted() {
                logger.warn("webhook \(removed) is no longer configured: its pending events wait in the store until it is again, then run on its retry policy")
            }
            for id in recovered.failedEvents {
                logger.error("event failed: the attempt the last stop cut off was the last its retry policy allows (did its handler crash the server?)",
                             [("event", id)])
            }
        } catch {
            logger.error("cannot mark interrupted attempts: \(error)")
        }
        dispatcher.start(workers: options.workers ?? config.workers)
        outbound.start()
        let maintenance = Maintenance(store: store, snapshots: snapshots, logger: logger)
        maintenance.start()
        let server = Server(publicListener: publicListener, adminListener: adminListener, store: store, plugins: plugins,
                            dispatcher: dispatcher, outbound: outbound, maintenance: maintenance, logger: logger, snapshots: snapshots,
                            options: options, resolver: resolver, metrics: metrics, readiness: readiness, databaseLock: databaseLock)
        server.watchers = ReloadWatchers(pluginsDirectory: config.plugins.dir, registry: plugins, configPath: options.configPath,
                                         logger: logger, afterPluginChanges: { [weak server] in server?.warnOfUnavailableHandlers() },
                                         reloadConfig: { [weak server] in server?.reload() })
        // Changes made while the server started (a deploy writing files as it restarts, a plugin's
        // init), before the watchers existed, would otherwise wait for the next change to be seen.
        // As `reconcile`, with the loads on a load thread, as those of the files present at start.
        let changes = plugins.changes(in: config.plugins.dir, retryingRefused: false)
        guard stop.wait(for: { plugins.loadAtStart(changes.loads, afterAll: $0) }) else { return server }
        for file in changes.removals { plugins.unload(file: file) }
        if FileIdentity(of: options.configPath) != configSeen { server.reload() }
        return server
    }

    /// The config file with the command line's overrides applied.
    static func effectiveConfig(_ options: ServeOptions) throws(ConfigError) -> ServerConfig {
        var config = try loadConfig(path: options.configPath)
        if let listen = options.listen { config.listen = listen }
        if let admin = options.adminListen { config.admin.listen = admin }
        if let database = options.database { config.database = database }
        return config
    }

    /// Re-reads the config file and every secret, and swaps webhooks, routes and secrets in at once.
    /// A config that does not load, or whose secrets do not resolve, is refused and the running one
    /// stays. Listener addresses and the database path need a restart; a change to them is reported.
    @discardableResult
    public func reload() -> Result<Void, ServeError> {
        let result = applyConfigFile()
        if case .success = result { warnOfUnavailableHandlers() }
        return result
    }

    /// What SIGHUP does: `reload`, then a rescan of the plugins folder, for changes its watcher
    /// cannot see (a plugin that is a symbolic link into a folder swapped as a whole, a ConfigMap's
    /// `..data` link, a rebuild of a link's target, a filesystem without inotify events) or missed.
    /// The config comes first, so a plugin deployed with its `plugins.config` entry starts with it.
    public func reloadOnHangUp() {
        _ = applyConfigFile()
        let directory = startConfig.plugins.dir
        logger.info("SIGHUP: rescanning the plugins folder \(directory): new and changed builds load, removed ones retire, refused ones are tried again")
        plugins.reconcile(directory: directory, retryingRefused: true)
        warnOfUnavailableHandlers()
    }

    /// `reload` without its check of the handlers, which `reloadOnHangUp` makes after its rescan.
    private func applyConfigFile() -> Result<Void, ServeError> {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        let config: ServerConfig
        do { config = try Self.effectiveConfig(options) } catch {
            logger.error("config reload refused, keeping the running config: \(error)")
            metrics.countConfigReload(applied: false)
            return .failure(.config(error))
        }
        // In development a reference removed from the store keeps its running value, as on a store
        // change (`reloadSecrets`): given a new random value instead, it would refuse every sender
        // still signing with the old one. Elsewhere such a reload is refused (docs/secrets.md).
        let view = resolver.current()
        let running = options.environment == SecretsSetup.development && view.unreadable == nil ? keptValues(of: config, in: view) : [:]
        options.beforeReload?(config, Set(running.keys))
        let effective = running.isEmpty ? resolver : ChainedSecretResolver([resolver, FixedSecretResolver(running)])
        let snapshot: RuntimeSnapshot
        do {
            snapshot = try RuntimeSnapshot(config: config, configFile: options.configPath, resolver: effective, environment: options.environment, metrics: metrics)
        } catch {
            logger.error("config reload refused, keeping the running config: \(error)")
            metrics.countConfigReload(applied: false)
            return .failure(.secrets(error))
        }
        let old = snapshots.snapshot.config
        // Settings read once at start: a reload keeps the running ones, and says which differ from
        // them (a file put back to the running value says nothing).
        let start = startConfig
        let kept = [("listen", start.listen != config.listen), ("admin.listen", start.admin.listen != config.admin.listen),
                    ("database", start.database != config.database), ("durability", start.durability != config.durability),
                    ("limits", start.limits != config.limits),
                    ("workers", start.workers != config.workers), ("plugins.dir", start.plugins.dir != config.plugins.dir)]
            .filter(\.1).map(\.0)
        if !kept.isEmpty {
            logger.warn("\(kept.joined(separator: ", ")) changed in the config; the running value stays until a restart")
        }
        for removed in old.webhooks.map(\.name) where !config.webhooks.contains(where: { $0.name == removed }) {
            logger.warn("webhook \(removed) is no longer configured: its pending events wait in the store until it is again, then run on its retry policy")
        }
        for removed in old.outbound.map(\.name) where !config.outbound.contains(where: { $0.name == removed }) {
            logger.warn("outbound destination \(removed) is no longer configured: its pending events wait in the store until it is again, and replays of them are refused")
        }
        snapshots.swap(snapshot)
        metrics.countConfigReload(applied: true)
        lastValues.remember(config, from: effective)
        snapshot.unverifiableSecrets.forEach { logger.error($0) }
        logger.info("config reloaded", [("webhooks", nameListSummary(config.webhooks.map(\.name))),
                                        ("outbound", nameListSummary(config.outbound.map(\.name)))])
        // After the swap: the registry reads each plugin's config from the snapshot as it loads it.
        let changed = Set(old.plugins.config.keys).union(config.plugins.config.keys)
            .filter { old.plugins.config[$0] != config.plugins.config[$0] }
        if !changed.isEmpty {
            logger.info("plugin config changed; starting new versions", [("plugins", changed.sorted().joined(separator: ","))])
            plugins.reload(named: changed)
        }
        return .success(())
    }

    /// The check below against the running config, after a change in the plugins folder or a reload.
    private func warnOfUnavailableHandlers() {
        Self.warnOfUnavailableHandlers(snapshots.snapshot.config, plugins: plugins, logger: logger)
    }

    /// Names each handler the config refers to that no loaded plugin provides, at start, on each
    /// reload and after each change in the plugins folder: its events would only be retried until
    /// they fail, and a typo in a handler name (or a build that dropped a handler) would go
    /// unnoticed until then.
    private static func warnOfUnavailableHandlers(_ config: ServerConfig, plugins: PluginRegistry, logger: Logger) {
        for webhook in config.webhooks {
            for handler in webhook.routes.allHandlers {
                guard let why = plugins.whyUnavailable(handler) else { continue }
                logger.warn("handler \(handler) cannot run: \(why); its events are retried (retry.attempts) and fail if it is still missing", [("webhook", webhook.name)])
            }
        }
    }

    private init(publicListener: HTTPServer, adminListener: HTTPServer, store: EventStore, plugins: PluginRegistry,
                 dispatcher: Dispatcher, outbound: OutboundService, maintenance: Maintenance, logger: Logger, snapshots: SnapshotHolder,
                 options: ServeOptions, resolver: any SecretResolver, metrics: Metrics, readiness: Readiness, databaseLock: DatabaseLock) {
        self.readiness = readiness
        self.databaseLock = databaseLock
        lastValues = LastSecretValues()
        lastValues.remember(snapshots.snapshot.config, from: resolver)
        self.maintenance = maintenance
        self.metrics = metrics
        self.snapshots = snapshots
        startConfig = snapshots.snapshot.config
        self.options = options
        self.resolver = resolver
        self.publicListener = publicListener
        self.adminListener = adminListener
        self.store = store
        self.plugins = plugins
        self.dispatcher = dispatcher
        self.outbound = outbound
        self.logger = logger
        self.publicAddress = publicListener.address
        self.adminAddress = adminListener.address
    }

    /// Drains: stop accepting, let running handlers finish, commit and close the store.
    ///
    /// The public listener refuses new connections at once (a load balancer or provider fails over
    /// instead of waiting), and stops once every request it had received is answered: the waiting
    /// after-handler ones by their handler or their timeout, those waiting for a commit by it. The
    /// admin listener answers on until the running handlers have finished, so that an operator can
    /// watch a long drain (`/healthz` says `draining`, `/readyz` answers 503); then it too refuses.
    ///
    /// Plugins' code that has not returned (a load's `init`, a reload waiting for one) is waited for
    /// as long as `pluginWait` leaves (`PluginRegistry.defaultStopWait` unless given), counting only
    /// those waits: it may never return, while the drain of running handlers in between may take
    /// minutes and must not leave a healthy `init` no wait at all. Returns the plugin files whose
    /// load was still in the plugin's code then (`PluginRegistry.shutdownAll`); their threads run on.
    @discardableResult
    public func stop(pluginWait: WaitBudget = WaitBudget(PluginRegistry.defaultStopWait)) -> [String] {
        var pluginWait = pluginWait
        readiness.beginDrain()
        pluginWait.spend { watchers?.stop(waitingUntil: $0) }
        publicListener.stop()
        dispatcher.stop()
        adminListener.stop()
        outbound.stop()
        maintenance.stop()
        let abandoned = pluginWait.spend { plugins.shutdownAll(waitingUntil: $0) }
        store.close()
        databaseLock = nil
        logger.info("stopped")
        return abandoned
    }
}
