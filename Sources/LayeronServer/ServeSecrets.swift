import Foundation
import LayeronCore
import LayeronStore

/// Why `serve` or a `secrets` command could not get at its secrets.
public enum SecretsSetupError: Error, CustomStringConvertible {
    case config(ConfigError)
    case store(SecretStoreError)
    case databaseLock(DatabaseLockError)

    public var description: String {
        switch self {
        case let .config(error): return error.description
        case let .store(error): return error.description
        case let .databaseLock(error): return error.description
        }
    }
}

/// Where secrets come from for one environment: the encrypted store beside the database, then the
/// process environment. The CLI and `serve` both open the store through here, so they always agree
/// on the file and the key.
public enum SecretsSetup {
    /// The environment in which missing secrets are generated and a master key is created on first use.
    public static let development = "development"

    /// Opens the store beside `database`, creating the file when it is missing, and in development
    /// the master key file with it. A key is made only with a new store: one made beside an existing
    /// store (its key file lost, or not restored with it) could never open it.
    public static func openStore(database: String, environment: String,
                                 variables: [String: String]) throws(SecretStoreError) -> (store: SecretStore, keySource: MasterKey.Source) {
        let exists = FileManager.default.fileExists(atPath: SecretStore.path(besideDatabase: database))
        return try open(database: database, environment: environment, variables: variables, createKey: !exists)
    }

    /// Opens the store only when its file exists, and never creates a key: a command that only reads
    /// (the admin client looking for its token) leaves no files behind.
    public static func openExistingStore(database: String, environment: String,
                                         variables: [String: String]) throws(SecretStoreError) -> (store: SecretStore, keySource: MasterKey.Source)? {
        guard FileManager.default.fileExists(atPath: SecretStore.path(besideDatabase: database)) else { return nil }
        return try open(database: database, environment: environment, variables: variables, createKey: false)
    }

    /// The store as `serve` would find it, without creating anything: nil while there is none yet
    /// (`serve` makes it). Throws what `openStore` would, so `check` fails where `serve` would not
    /// start: outside development no master key, a key file missing beside an existing store.
    public static func storeForCheck(database: String, environment: String,
                                     variables: [String: String]) throws(SecretStoreError) -> SecretStore? {
        let exists = FileManager.default.fileExists(atPath: SecretStore.path(besideDatabase: database))
        let key: MasterKey
        do {
            key = try masterKey(database: database, environment: environment, variables: variables, create: false).key
        } catch {
            // Development without a store yet: `serve` makes the key file with the store.
            if case .keyFileMissing = error, !exists { return nil }
            throw error
        }
        return exists ? try SecretStore(path: SecretStore.path(besideDatabase: database), key: key) : nil
    }

    private static func open(database: String, environment: String, variables: [String: String],
                             createKey: Bool) throws(SecretStoreError) -> (store: SecretStore, keySource: MasterKey.Source) {
        let (key, source) = try masterKey(database: database, environment: environment, variables: variables, create: createKey)
        return (try SecretStore(path: SecretStore.path(besideDatabase: database), key: key), source)
    }

    /// Only development falls back to the key file beside the database.
    private static func masterKey(database: String, environment: String, variables: [String: String],
                                  create: Bool) throws(SecretStoreError) -> (key: MasterKey, source: MasterKey.Source) {
        let developmentFile = environment == development ? SecretStore.keyFile(besideDatabase: database) : nil
        return try MasterKey.load(variables: variables, developmentFile: developmentFile, create: create, environment: environment)
    }

    /// The store (if there is one) then the environment variables: the contract's resolution order.
    public static func resolver(store: SecretStore?, environment: String, variables: [String: String],
                                logger: Logger) -> any SecretResolver {
        var chain: [any SecretResolver] = []
        if let store {
            chain.append(SecretStoreResolver(store: store, environment: environment) { error in
                logger.error("cannot read the secrets store: \(error)")
            })
        }
        chain.append(DictionarySecretResolver(variables))
        return ChainedSecretResolver(chain)
    }

    /// The config `serve` would run, with the command line's overrides (the database path decides
    /// where the store lives).
    public static func effectiveConfig(_ options: ServeOptions) throws(ConfigError) -> ServerConfig {
        try Server.effectiveConfig(options)
    }
}

/// What `serve` starts with: the store, the resolver chain, and (in development) the names of the
/// references it just gave random values.
public struct ServeSecrets: Sendable {
    public let store: SecretStore
    public let keySource: MasterKey.Source
    public let resolver: any SecretResolver
    public let config: ServerConfig
    public let created: [String]
    /// Taken before the store is opened: a `serve` that another one on the database refuses must
    /// not write development values into the store the running one reads (it did, and the running
    /// server's secrets changed under it).
    public let databaseLock: DatabaseLock

    /// In development, random values for the references of `config` that resolve nowhere (a reload
    /// that adds a webhook), but for those in `keeping` (running values the store lost), with their
    /// names logged, never their values; nothing elsewhere.
    public func generateMissing(for config: ServerConfig, keeping: Set<String>, environment: String,
                                variables: [String: String], logger: Logger) {
        guard environment == SecretsSetup.development else { return }
        do {
            let created = try DevelopmentSecrets.generateMissing(config: config, store: store, variables: variables, keeping: keeping)
            if !created.isEmpty {
                logger.info("development secrets created with random values", [("names", created.joined(separator: ","))])
            }
        } catch {
            logger.error("cannot create development secrets for the reloaded config: \(error)")
        }
    }

    /// Opens the store for `options.environment`; outside development a missing key is an error.
    /// In development every reference that resolves nowhere gets a random value saved in the store.
    public static func prepare(options: ServeOptions, variables: [String: String],
                               logger: Logger) throws(SecretsSetupError) -> ServeSecrets {
        let config: ServerConfig
        do { config = try SecretsSetup.effectiveConfig(options) } catch { throw .config(error) }
        let databaseLock: DatabaseLock
        do { databaseLock = try DatabaseLock(database: config.database) } catch { throw .databaseLock(error) }
        do {
            let (store, source) = try SecretsSetup.openStore(database: config.database, environment: options.environment,
                                                             variables: variables)
            let resolver = SecretsSetup.resolver(store: store, environment: options.environment, variables: variables, logger: logger)
            var created: [String] = []
            if options.environment == SecretsSetup.development {
                created = try DevelopmentSecrets.generateMissing(config: config, store: store, variables: variables)
            }
            return ServeSecrets(store: store, keySource: source, resolver: resolver, config: config, created: created,
                                databaseLock: databaseLock)
        } catch {
            throw .store(error)
        }
    }
}
