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

    /// The store for the current environment when its file exists (beside `database`), then the
    /// environment variables: the same order `serve` resolves in. A store that cannot be opened is
    /// skipped with a warning on standard error, so the environment variables still work.
    static func secretResolver(environment: String, database: String?) -> any SecretResolver {
        let logger = Logger(minimum: .warn) { _, message, _ in
            FileHandle.standardError.write(Data("layeron: \(message)\n".utf8))
        }
        var store: SecretStore?
        if let database {
            do {
                store = try SecretsSetup.openExistingStore(database: database, environment: environment, variables: variables)?.store
            } catch {
                logger.warn("secrets store skipped: \(error)")
            }
        }
        return SecretsSetup.resolver(store: store, environment: environment, variables: variables, logger: logger)
    }

    /// `--database`, else the config's `database`; nil when the config does not load.
    static func databasePath(_ args: Arguments) throws(UsageError) -> String? {
        if let database = try databaseFlag(args) { return database }
        return (try? loadConfig(path: configPath(args)))?.database
    }

    /// `--database`, refused when empty as the config's `database` is.
    static func databaseFlag(_ args: Arguments) throws(UsageError) -> String? {
        guard let database = args.value("database") else { return nil }
        guard !database.isEmpty else { throw UsageError("--database \(DatabasePath.emptyRefusal)") }
        return database
    }
}
