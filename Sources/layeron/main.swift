import Foundation

/// Entry point: dispatches to one command and exits with its status (2 for usage errors).
let usage = """
    usage:
      \(ServeCommand.usage)
      \(CheckCommand.usage)
      \(VerifyCommand.usage)
      \(EventsCommand.usage)
      \(PluginsCommand.usage)
      \(SecretsCommand.usage)
      \(VersionCommand.usage)
    """

// First, before any thread: it may start this program again, with the crash report's settings.
CrashReportSettings.apply()
let words = Array(CommandLine.arguments.dropFirst())
// Before anything else, so that the window in which a signal meets its default action is only the
// process's own start-up (the loader and the Swift runtime, a few milliseconds).
if words.first == "serve" {
    ProcessSignals.install()
    OpenFileLimit.raise()
}

/// The usage of `command`, or nil for a word that is no command.
func forms(of command: String?) -> String? {
    switch command {
    case "serve": ServeCommand.usage
    case "check": CheckCommand.usage
    case "verify": VerifyCommand.usage
    case "events": EventsCommand.usage
    case "plugins": PluginsCommand.usage
    case "secrets": SecretsCommand.usage
    case "version": VersionCommand.usage
    default: nil
    }
}

let status: Int32
do {
    // `layeron serve --help`: that command's forms, on standard output, as a request and not a mistake.
    if let help = forms(of: words.first), words.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
        print("usage:\n  \(help)")
        exit(0)
    }
    switch words.first {
    case "serve": status = try ServeCommand.run(Array(words.dropFirst()))
    case "check": status = try CheckCommand.run(Array(words.dropFirst()))
    case "verify": status = try VerifyCommand.run(Array(words.dropFirst()))
    case "events": status = try EventsCommand.run(Array(words.dropFirst()))
    case "plugins": status = try PluginsCommand.run(Array(words.dropFirst()))
    case "secrets": status = try SecretsCommand.run(Array(words.dropFirst()))
    case "version", "--version": status = try VersionCommand.run(Array(words.dropFirst()))
    case "help", "--help", "-h":
        print(usage)
        status = 0
    default:
        throw UsageError(words.first.map { "unknown command \($0)" } ?? "no command given")
    }
} catch let error as UsageError {
    // The mistaken command's own forms, not all seventeen lines, so the error stays in view. A
    // command's later forms are already indented to sit under the first.
    let help = forms(of: words.first).map { "usage:\n  \($0)\n(`layeron help` lists every command)" } ?? usage
    FileHandle.standardError.write(Data("layeron: \(error)\n\(help)\n".utf8))
    status = 2
}
exit(status)
