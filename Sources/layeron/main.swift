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
    """

let words = Array(CommandLine.arguments.dropFirst())
let status: Int32
do {
    switch words.first {
    case "serve": status = try ServeCommand.run(Array(words.dropFirst()))
    case "check": status = try CheckCommand.run(Array(words.dropFirst()))
    case "verify": status = try VerifyCommand.run(Array(words.dropFirst()))
    case "events": status = try EventsCommand.run(Array(words.dropFirst()))
    case "plugins": status = try PluginsCommand.run(Array(words.dropFirst()))
    case "secrets": status = try SecretsCommand.run(Array(words.dropFirst()))
    case "help", "--help", "-h":
        print(usage)
        status = 0
    default:
        throw UsageError(words.first.map { "unknown command \($0)" } ?? "no command given")
    }
} catch let error as UsageError {
    FileHandle.standardError.write(Data("layeron: \(error)\n\(usage)\n".utf8))
    status = 2
}
exit(status)
