import Foundation
import LayeronServer

/// `layeron check`: validates config and plugins; exit 0 when all is well, 1 with every problem listed.
enum CheckCommand {
    static let usage = "layeron check [--config FILE]"

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        let args = try Arguments(words)
        try args.only(["config"])
        let path = ProcessEnvironment.configPath(args)
        let report = checkDeployment(configPath: path)
        for plugin in report.plugins where plugin.state == .active {
            print("plugin \(plugin.name ?? "?") \(plugin.version ?? "?") (ABI v\(plugin.abiVersion ?? 0)) from \(plugin.file): handlers \(plugin.handlers.joined(separator: ", "))")
        }
        if report.problems.isEmpty {
            print("\(path): ok")
            return 0
        }
        for problem in report.problems { FileHandle.standardError.write(Data("\(problem)\n".utf8)) }
        return 1
    }
}
