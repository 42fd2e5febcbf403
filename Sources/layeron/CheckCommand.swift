import Foundation
import LayeronCore
import LayeronServer

/// `layeron check`: validates config, plugins and secrets; exit 0 when all is well, 1 with every
/// problem listed.
enum CheckCommand {
    static let usage = "layeron check [--config FILE] [--env ENV] [--database FILE]"

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        let args = Arguments(words)
        try args.only(["config", "env", "database"], words: [])
        let path = ProcessEnvironment.configPath(args)
        let secrets = SecretsContext(environment: try ProcessEnvironment.environmentName(args), database: try ProcessEnvironment.databaseFlag(args),
                                     variables: ProcessEnvironment.variables)
        let report = checkDeployment(configPath: path, secrets: secrets, pluginLogger: pluginLines) { file in
            // Flushed now: a plugin that crashes while it loads takes this process with it.
            print("loading plugin file \(file)")
            fflush(nil)
        }
        for plugin in report.plugins where plugin.state == .active {
            print("plugin \(plugin.name ?? "?") \(plugin.version ?? "?") (ABI v\(plugin.abiVersion ?? 0)) from \(plugin.file): handlers \(plugin.handlers.joined(separator: ", "))")
        }
        for note in report.notes { print(note) }
        if report.problems.isEmpty {
            print("\(path): ok (environment \(secrets.environment))")
            return 0
        }
        for problem in report.problems { writeLine(problem) }
        return 1
    }

    /// What the plugins log as check loads, starts and stops them, at info and above, on standard error as it
    /// happens (before a crash, too): `plugin NAME (LEVEL): message`.
    private static let pluginLines = Logger(minimum: .info) { level, message, fields in
        let plugin = fields.first { $0.0 == "plugin" }?.1 ?? "?"
        writeLine("plugin \(plugin) (\(level.name)): \(message)")
    }

    /// A plugin's refusal or log line is text the plugin chose: one line each, no terminal control,
    /// as in `plugins list` and the server's log.
    private static func writeLine(_ text: String) {
        FileHandle.standardError.write(Data("\(TerminalText.escaped(text, newline: "\\n"))\n".utf8))
    }
}
