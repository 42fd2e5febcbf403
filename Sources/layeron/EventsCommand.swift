import Foundation
import LayeronCore
import LayeronCrypto
import LayeronStore

/// `layeron events list|show|replay`: the admin API from a terminal.
enum EventsCommand {
    static let usage = """
        layeron events list [--webhook N] [--direction inbound|outbound] [--status S] [--type T] [--since T] [--until T] [--q KEY] [--limit N] [--cursor C] [--json] [--admin URL]
          layeron events show ID [--json] [--admin URL]
          layeron events replay ID [--force] [--at RFC3339] [--json] [--admin URL]
          layeron events purge --before RFC3339 [--admin URL]
        """

    /// The ID word; an empty one (`replay "$ID"` with ID unset) is a mistake, not sent on.
    private static func eventID(_ args: Arguments, command: String) throws(UsageError) -> String {
        guard let id = args.positional.first else { throw UsageError("events \(command) needs an event id") }
        guard !id.isEmpty else { throw UsageError("events \(command): the event id is empty (an unset variable?)") }
        return id
    }

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        guard let sub = words.first else { throw UsageError("events needs list, show, replay or purge") }
        let args = Arguments(Array(words.dropFirst()), switchNames: ["json", "force"])
        let client = try AdminClient(args)
        do {
            switch sub {
            case "list":
                try args.only(["webhook", "direction", "status", "type", "since", "until", "q", "limit", "json", "admin", "config", "database", "env", "cursor"], words: [])
                // Values with a fixed set are checked here: a typo is a usage error (exit 2), not a
                // refusal from the server (exit 1) that a script cannot tell from a 404.
                for (name, allowed) in [("direction", EventDirection.allCases.map(\.rawValue)), ("status", EventStatus.allCases.map(\.rawValue))] {
                    if let value = args.value(name), !allowed.contains(value) {
                        throw UsageError("--\(name) takes \(allowed.joined(separator: ", ")), not \"\(TerminalText.escaped(value, newline: "\\n"))\"")
                    }
                }
                if let limit = args.value("limit"), Int(limit).map({ (1...1000).contains($0) }) != true {
                    throw UsageError("--limit takes a whole number from 1 to 1000, not \"\(TerminalText.escaped(limit, newline: "\\n"))\"")
                }
                var query: [String] = []
                for name in ["webhook", "direction", "status", "type", "since", "until", "q", "limit", "cursor"] {
                    if let value = args.value(name) { query.append("\(name)=\(queryEscape(value))") }
                }
                let json = try client.get("/admin/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), expecting: "events")
                if args.has("json") {
                    print(json.serialized())
                } else {
                    let filters = ["webhook", "direction", "status", "type", "since", "until", "q", "limit",
                                   "admin", "config", "env", "database"].compactMap { name in
                        args.value(name).map { (name, $0) }
                    }
                    printEvents(json, filters: filters)
                }
            case "show":
                let id = try eventID(args, command: "show")
                try args.only(["json", "admin", "config", "database", "env"], words: ["ID"])
                let json = try client.get("/admin/events/\(queryEscape(id))", expecting: "id")
                if args.has("json") { print(json.serialized()) } else { printEvent(json) }
            case "replay":
                let id = try eventID(args, command: "replay")
                try args.only(["admin", "config", "database", "env", "json", "force", "at"], words: ["ID"])
                var query: [String] = []
                if args.has("force") { query.append("force=true") }
                if let at = args.value("at") { query.append("at=\(queryEscape(at))") }
                let json = try client.post("/admin/events/\(queryEscape(id))/replay" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), expecting: "event")
                if args.has("json") {
                    print(json.serialized())
                } else {
                    let runsAt = json["event"]?["replay_at"]?.stringValue.map { ", to run at \($0)" } ?? ""
                    print("replay queued for \(json["event"]?["id"]?.stringValue ?? id)\(runsAt)")
                }
            case "purge":
                try args.only(["admin", "config", "database", "env", "before", "json"], words: [])
                guard let before = args.value("before") else { throw UsageError("events purge needs --before RFC3339") }
                let json = try client.post("/admin/events/purge?before=\(queryEscape(before))", expecting: "deleted")
                if args.has("json") { print(json.serialized()) } else { print("deleted \(json["deleted"]?.scalarText ?? "0") events received before \(before)") }
            default:
                throw UsageError("unknown events command \(sub); expected list, show, replay or purge")
            }
        } catch let failure as AdminClient.Failure {
            FileHandle.standardError.write(Data("layeron events \(sub): \(failure.message)\n".utf8))
            return failure.exitCode
        } catch let usage as UsageError {
            throw usage
        } catch {
            return 1
        }
        return 0
    }

    /// `filters` are the list's own and where it asked (`--admin`, `--config`, …), repeated in the
    /// next page's command: with the cursor alone it would page through events of every webhook and
    /// status, on the default server.
    private static func printEvents(_ json: JSONValue, filters: [(String, String)]) {
        guard case let .array(events)? = json["events"] else { return }
        let now = Date().timeIntervalSince1970
        let rows = events.map { e in
            [e["id"]?.stringValue ?? "", e["webhook"]?.stringValue ?? "", e["type"]?.stringValue ?? "",
             e["status"]?.stringValue ?? "", e["attempt_count"]?.scalarText ?? "0",
             age(e["received_at"]?.stringValue, now: now)]
        }
        printTable(["ID", "WEBHOOK", "TYPE", "STATUS", "ATTEMPTS", "AGE"], rows)
        if let cursor = json["next_cursor"]?.stringValue {
            let options = filters.map { "--\($0.0) \(shellWord($0.1))" } + ["--cursor \(cursor)"]
            print("more: layeron events list \(options.joined(separator: " "))")
        }
    }

    /// A value as one shell word: bare when it is plain, else in single quotes.
    private static func shellWord(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "._:-+/@".unicodeScalars.contains($0) }
        return plain ? value : "'" + TerminalText.escaped(value, newline: "\\n").replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func printEvent(_ e: JSONValue) {
        for key in ["id", "webhook", "direction", "provider", "type", "status", "received_at", "provider_event_id", "dedupe_key", "duplicates"] {
            print("\(key.padding(toLength: 18, withPad: " ", startingAt: 0))\(TerminalText.escaped(e[key]?.scalarText ?? "-", newline: "\\n"))")
        }
        if case let .array(replays)? = e["replays_scheduled"], !replays.isEmpty {
            print("replays scheduled: \(replays.compactMap(\.stringValue).joined(separator: ", "))")
        }
        if case let .array(attempts)? = e["attempts"], !attempts.isEmpty {
            print("attempts:")
            printTable(["N", "STARTED", "OUTCOME", "REPLAY", "PLUGIN", "ERROR"], attempts.map { a in
                [a["n"]?.scalarText ?? "", a["started_at"]?.stringValue ?? "", a["outcome"]?.stringValue ?? "running",
                 a["replay"]?.scalarText ?? "", "\(a["plugin"]?.stringValue ?? "") \(a["plugin_version"]?.stringValue ?? "")",
                 a["error"]?.stringValue ?? ""]
            })
        }
        // A provider's body is printed for a person: escape sequences in it must not drive the terminal.
        if let body = e["body"]?.stringValue {
            print("body:\n\(TerminalText.escaped(body))")
        } else if let encoded = e["body_base64"]?.stringValue, let bytes = ByteEncoding.base64.decode(Substring(encoded)), !bytes.isEmpty {
            print("body: \(bytes.count) bytes, not UTF-8 (--json shows them as body_base64)")
        }
    }

    private static func age(_ rfc3339: String?, now: TimeInterval) -> String {
        guard let text = rfc3339 else { return "" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) else { return "" }
        let seconds = max(0, Int(now - date.timeIntervalSince1970))
        switch seconds {
        case ..<60: return "\(seconds)s"
        case ..<3600: return "\(seconds / 60)m"
        case ..<86_400: return "\(seconds / 3600)h"
        default: return "\(seconds / 86_400)d"
        }
    }
}
