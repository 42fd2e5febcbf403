import Foundation
import LayeronCore
import LayeronServer
import LayeronStore

/// What the process environment contributes: defaults for flags, the master key, and the last
/// fallback for secrets.
enum ProcessEnvironment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    static let defaultConfigPath = "config/layeron.json"

    static func configPath(_ args: Arguments) -> String {
        args.value("config") ?? variables["LAYERON_CONFIG"] ?? defaultConfigPath
    }

    static func environmentName(_ args: Arguments) -> String {
        args.value("env") ?? variables["LAYERON_ENV"] ?? SecretsSetup.development
    }

    /// The store for the current environment when its file exists, then the environment variables:
    /// the same order `serve` resolves in. A store that cannot be opened is skipped with a warning
    /// on standard error, so the environment variables still work.
    static func secretResolver(_ args: Arguments) -> any SecretResolver {
        let environment = environmentName(args)
        let logger = Logger(minimum: .warn) { _, message, _ in
            FileHandle.standardError.write(Data("layeron: \(message)\n".utf8))
        }
        var store: SecretStore?
        if let database = databasePath(args) {
            do {
                store = try SecretsSetup.openExistingStore(database: database, environment: environment, variables: variables)?.store
            } catch {
                logger.warn("secrets store skipped: \(error)")
            }
        }
        return SecretsSetup.resolver(store: store, environment: environment, variables: variables, logger: logger)
    }

    /// `--database`, else the config's `database`; nil when the config does not load.
    static func databasePath(_ args: Arguments) -> String? {
        if let database = args.value("database") { return database }
        return (try? loadConfig(path: configPath(args)))?.database
    }
}
