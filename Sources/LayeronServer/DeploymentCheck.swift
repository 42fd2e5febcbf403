import Foundation
import LayeronCore
import LayeronPluginHost
import LayeronStore

/// What `layeron check` found: the config's issues, every plugin file's state, handlers that the
/// config names but no plugin provides, and secret references the environment cannot resolve or whose
/// value cannot sign.
/// `notes` are findings that are not errors (in development, references `serve` will generate).
public struct DeploymentReport: Sendable {
    public var problems: [String]
    public var notes: [String]
    public var plugins: [PluginStatus]
}

/// Where `check` looks for secrets, as `serve` would: the environment whose values count, the store
/// beside the database (`database` overrides the config's), then the process's variables.
public struct SecretsContext: Sendable {
    public var environment: String
    public var database: String?
    public var variables: [String: String]

    public init(environment: String, database: String?, variables: [String: String]) {
        self.environment = environment
        self.database = database
        self.variables = variables
    }
}

/// Loads the config, its secrets and every plugin the way `serve` would, without listening or
/// touching the events store. Never prints or returns a secret's value. A config with issues is
/// still reviewed as far as it could be read, so one run lists every problem. `loading(file)` is
/// called before each plugin file's code runs in this process, so that if it crashes the output
/// names the file. Plugin loads share `serve`'s record beside the database: a file that crashed
/// either is reported, not run again, and one that crashes here is refused by `serve` too.
/// `pluginLogger` takes what the plugins log as they load (an `init` that refuses often says why in
/// its log lines); the registry's own lines are left out, as the report says the same.
public func checkDeployment(configPath: String, secrets: SecretsContext, pluginLogger: Logger = .discard,
                            loading: (_ file: String) -> Void = { _ in }) -> DeploymentReport {
    var reading: ConfigReading
    do {
        reading = try readConfig(path: configPath)
    } catch {
        return DeploymentReport(problems: error.description.split(separator: "\n").map(String.init), notes: [], plugins: [])
    }
    if let database = secrets.database { reading.config.database = database }
    let config = reading.config
    var problems = reading.issues.map { "\(configPath): \($0)" }
    let declared = DeclaredPluginNames()
    let registry = PluginRegistry(privateDirectory: PrivateCopy.folder(prefix: "layeron-check"),
                                  logger: .discard, pluginLogger: pluginLogger,
                                  emitter: CheckEmitter(destinations: config.outbound.map(\.name)), configFile: configPath,
                                  // A database the config refuses (empty, `:memory:`) has no folder to record loads beside.
                                  loadRecord: DatabasePath.refusal(config.database) == nil ? .besideDatabase(config.database, loader: "layeron check") : nil,
                                  config: { declared.insert($0); return config.plugins.config[$0] })
    if !FileManager.default.fileExists(atPath: config.plugins.dir) {
        problems.append("\(configPath): plugins.dir: folder \(config.plugins.dir) does not exist")
    }
    for file in PluginRegistry.pluginFiles(in: config.plugins.dir) {
        loading(file)
        registry.load(file: file)
    }
    let statuses = registry.statuses()
    for status in statuses where status.state == .failed {
        problems.append(status.error ?? "\(status.file): refused")
    }
    let names = declared.names.union(statuses.compactMap(\.name))
    for name in config.plugins.config.keys.sorted() where !names.contains(name) {
        let loaded = names.isEmpty ? "none" : names.sorted().joined(separator: ", ")
        problems.append("\(configPath): plugins.config.\(name): no plugin in \(config.plugins.dir) is named \(name) (plugin names there: \(loaded))")
    }
    for webhook in config.webhooks {
        for handler in webhook.routes.allHandlers {
            guard let why = registry.whyUnavailable(handler) else { continue }
            let pluginLoaded = statuses.contains { $0.name == handler.plugin }
            problems.append("\(configPath): \(webhook.keyPath) (\(webhook.name)): handler \(handler) "
                            + (pluginLoaded ? "is not provided: \(why)" : "is not provided by any plugin in \(config.plugins.dir)"))
        }
    }
    registry.shutdownAll()
    let unresolved = unresolvedSecrets(config: config, configPath: configPath, context: secrets)
    return DeploymentReport(problems: problems + unresolved.problems, notes: unresolved.notes, plugins: statuses)
}

/// The names the plugin files declared as they were loaded, kept whether or not the plugin then
/// started: a `plugins.config` entry for any other name is a typo or a plugin not deployed.
private final class DeclaredPluginNames: @unchecked Sendable {
    /// Guards `declared`.
    private let lock = NSLock()
    private var declared: Set<String> = []

    func insert(_ name: String) {
        lock.lock()
        declared.insert(name)
        lock.unlock()
    }

    var names: Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return declared
    }
}

/// Every reference `serve` would fail to resolve in `context.environment`. Outside development those
/// stop the start, so they are problems; in development `serve` gives them random values, so they
/// are notes. An outbound secret whose value cannot sign stops the start in every environment.
/// Inbound secrets that resolve but can never verify for their scheme are problems too (`serve`
/// starts, but refuses every request of that webhook).
private func unresolvedSecrets(config: ServerConfig, configPath: String,
                               context: SecretsContext) -> (problems: [String], notes: [String]) {
    let store: SecretStore?
    do {
        store = try SecretsSetup.storeForCheck(database: config.database, environment: context.environment,
                                               variables: context.variables)
    } catch {
        return (["\(configPath): secrets for environment \(context.environment): \(error)"], [])
    }
    let resolver = SecretsSetup.resolver(store: store, environment: context.environment, variables: context.variables,
                                         logger: .discard)
    do {
        let snapshot = try RuntimeSnapshot(config: config, configFile: configPath, resolver: resolver, environment: context.environment,
                                           metrics: Metrics())
        return (snapshot.unverifiableSecrets.map { "\(configPath): \($0)" }, [])
    } catch {
        if context.environment == SecretsSetup.development {
            let forms = DevelopmentSecrets.secretForms(config)
            let publicKeys = error.missing.filter { forms[$0.reference.name] == .publicKey }
            let generated = error.missing.filter { forms[$0.reference.name] != .publicKey }
            return (error.unreadableLines + error.unusableLines + publicKeys.map(error.missingLine), generated.map {
                "\(configPath): \($0.owner): secret \($0.reference.name) is not set for development; serve will give it a random value"
            })
        }
        return (error.unreadableLines + error.missingLines + error.unusableLines, [])
    }
}
