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
        args.value("config") ?? variable("LAYERON_CONFIG") ?? defaultConfigPath
    }

    /// `--env`, else `LAYERON_ENV`, else development. Checked here for every command: the name goes
    /// into the store's rows and into commands printed for pasting, so one `secrets` would refuse is
    /// refused by `serve` and `check` too.
    static func environmentName(_ args: Arguments) throws(UsageError) -> String {
        let (name, source) = args.value("env").map { ($0, "--env") } ?? variable("LAYERON_ENV").map { ($0, "LAYERON_ENV") }
            ?? (SecretsSetup.development, "")
        guard SecretStore.isValidEnvironment(name) else { throw UsageError("\(source) takes letters, digits, - and _ (like production)") }
        return name
    }

    /// A variable set to the empty string counts as unset, as an unset variable in a compose file or
    /// an empty key of a Kubernetes secret arrives (`LAYERON_MASTER_KEY` is read the same way).
    static func variable(_ name: String) -> String? {
        variables[name].flatMap { $0.isEmpty ? nil : $0 }
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

    /// `--database`, else the config's `database`. A config with errors elsewhere still names its
    /// database (the errors are printed as a warning): `secrets set` is often what fixes it. One that
    /// does not read, or whose `database` is the error, is refused with the config's own message.
    static func databasePath(_ args: Arguments) throws(UsageError) -> String {
        if let database = try databaseFlag(args) { return database }
        let path = configPath(args)
        let reading: ConfigReading
        do { reading = try readConfig(path: path) } catch {
            throw UsageError("cannot find the database: \(error); fix the config or give --database FILE")
        }
        guard !reading.issues.contains(where: { $0.keyPath == "database" }) else {
            throw UsageError("cannot find the database: \(ConfigError.invalid(file: path, issues: reading.issues)); fix the config or give --database FILE")
        }
        if !reading.issues.isEmpty {
            FileHandle.standardError.write(Data("layeron: warning: \(ConfigError.invalid(file: path, issues: reading.issues)); using its database \(reading.config.database)\n".utf8))
        }
        return reading.config.database
    }

    /// `--database`, refused as the config's `database` is (empty, `:memory:`).
    static func databaseFlag(_ args: Arguments) throws(UsageError) -> String? {
        guard let database = args.value("database") else { return nil }
        if let refusal = DatabasePath.refusal(database) { throw UsageError("--database \(refusal)") }
        return database
    }
}
