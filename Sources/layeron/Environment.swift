import Foundation
import LayeronCore

/// What the process environment contributes: defaults for flags, and the last fallback for secrets.
enum ProcessEnvironment {
    static var variables: [String: String] { ProcessInfo.processInfo.environment }

    static func configPath(_ args: Arguments) -> String {
        args.value("config") ?? variables["LAYERON_CONFIG"] ?? "config/layeron.json"
    }

    static func environmentName(_ args: Arguments) -> String {
        args.value("env") ?? variables["LAYERON_ENV"] ?? "development"
    }

    /// Secret references resolve from the environment variable of the same name.
    static var secretResolver: any SecretResolver { DictionarySecretResolver(variables) }
}
