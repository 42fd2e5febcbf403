import Foundation
import LayeronCore

/// `layeron plugins list`: the running server's plugins, live or refused.
enum PluginsCommand {
    static let usage = "layeron plugins list [--json] [--admin URL]"

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        guard words.first == "list" else { throw UsageError("plugins needs list") }
        let args = Arguments(Array(words.dropFirst()), switchNames: ["json"])
        try args.only(["json", "admin", "config", "database", "env"], words: [])
        let client = try AdminClient(args)
        do {
            let json = try client.get("/admin/plugins", expecting: "plugins")
            if args.has("json") {
                print(json.serialized())
                return 0
            }
            guard case let .array(plugins)? = json["plugins"] else { return 0 }
            printTable(["NAME", "VERSION", "ABI", "CONCURRENT", "STATE", "LOADED_AT", "HANDLERS", "FILE"], plugins.map { p in
                let handlers: String
                if case let .array(list)? = p["handlers"] { handlers = list.compactMap(\.stringValue).joined(separator: ",") } else { handlers = "" }
                return [p["name"]?.stringValue ?? "-", p["version"]?.stringValue ?? "-", p["abi_version"]?.scalarText ?? "-",
                        p["concurrent"]?.scalarText ?? "-", p["state"]?.stringValue ?? "", p["loaded_at"]?.stringValue ?? "-", handlers,
                        p["file"]?.stringValue ?? ""]
            })
            // A refusal quotes the plugin's own text (its init message): one line, no terminal control.
            for p in plugins {
                if let error = p["error"]?.stringValue { print("error: \(TerminalText.escaped(error, newline: "\\n"))") }
            }
            return 0
        } catch {
            FileHandle.standardError.write(Data("layeron plugins list: \(error.message)\n".utf8))
            return error.exitCode
        }
    }
}
