import Foundation
import LayeronCore

/// Writes log lines to standard error: one JSON object a line for machines, or plain text for a
/// terminal. One lock keeps lines from interleaving.
public final class LogWriter: @unchecked Sendable {
    public enum Format: String, Sendable { case json, text }

    /// Guards writes to standard error.
    private let lock = NSLock()
    private let format: Format

    public init(format: Format) { self.format = format }

    public func logger(minimum: LogLevel) -> Logger {
        Logger(minimum: minimum) { [self] level, message, fields in write(level, message, fields) }
    }

    /// Text lines carry what clients and plugins chose (a request's decoded path in a libmicrohttpd
    /// message, a plugin's own log text). A newline is kept (config errors list one issue a line) but
    /// what follows is indented as a continuation, so it cannot pass for a line of its own.
    static func oneLine(_ text: String) -> String { TerminalText.escaped(text, newline: "\n    ") }

    /// A text line's message: quoted when it holds `=` or `"`, so that text a client or plugin chose
    /// (a plugin's message, an event type) cannot pass for a field (`failed: x event=forged`) to a
    /// reader that splits on spaces and `=`.
    static func textMessage(_ message: String) -> String {
        oneLine(quoted(message) { $0 == "=" || $0 == "\"" })
    }

    /// A text line's field value: quoted when empty or holding a space, `=` or `"`, as logfmt does.
    static func textValue(_ value: String) -> String {
        oneLine(quoted(value) { $0 == " " || $0 == "=" || $0 == "\"" })
    }

    private static func quoted(_ text: String, when needsQuotes: (Character) -> Bool) -> String {
        guard text.isEmpty || text.contains(where: needsQuotes) else { return text }
        var out = "\""
        for character in text {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    private func write(_ level: LogLevel, _ message: String, _ fields: [(String, String)]) {
        let time = WallClock.rfc3339(milliseconds: WallClock.nowMilliseconds())
        var line: String
        switch format {
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time)), ("level", .string(level.name)), ("msg", .string(message))]
            members += fields.map { ($0.0, .string($0.1)) }
            line = JSONValue.object(members).serialized()
        case .text:
            line = "\(time) \(level.name.uppercased()) \(Self.textMessage(message))"
            for (key, value) in fields { line += " \(key)=\(Self.textValue(value))" }
        }
        line += "\n"
        lock.lock()
        StandardStream.error.write(line)
        lock.unlock()
    }
}
