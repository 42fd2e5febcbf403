import Foundation
import LayeronCore

/// Writes log lines to standard error: one JSON object a line for machines, or plain text for a
/// terminal. Lines keep their order and never interleave.
///
/// A line goes straight to standard error while its reader keeps up (always, when standard error is
/// a file), so the line before a crash is not lost; only a line over 4 KB to a pipe or terminal, or
/// one logged while the backlog drains, waits for the writer thread. When the reader stalls (a paused terminal, a log shipper that stopped, Docker's
/// blocking log driver) a write would block, and with it every thread that logs: an HTTP thread
/// logging a rejected signature would stop answering. So a line that does not fit at once waits in
/// a bounded backlog (`LogBacklog`) that a thread of its own writes out; past the bound lines are
/// dropped, counted in `layeron_log_lines_dropped_total`, and a line says how many once the reader
/// is back. Lines standard error refuses (a full disk, a reader that closed its end) are counted in
/// the same metric, and the first line it takes again is preceded by one that says how many were lost.
public final class LogWriter: @unchecked Sendable {
    public enum Format: String, Sendable { case json, text }

    private let format: Format
    private let backlog: LogBacklog

    public init(format: Format) {
        self.format = format
        backlog = LogBacklog { gap in LogWriter.droppedNote(gap, format: format) }
        LogBacklog.flushAtExit(backlog)
    }

    /// Lines the log dropped since the process started: refused by standard error, or past the
    /// backlog's bound while its reader stalled.
    public static var droppedLines: UInt64 { StandardStream.error.refusedWrites + LogBacklog.dropped }

    /// Writes the lines still waiting, for up to `seconds`: for a process about to `_exit`, which
    /// runs none of the `atexit` handlers that would.
    public func flush(seconds: Double) {
        backlog.flush(seconds: seconds)
    }

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
        backlog.write(Self.line(format, level, message, fields))
    }

    private static func line(_ format: Format, _ level: LogLevel, _ message: String, _ fields: [(String, String)]) -> String {
        let time = WallClock.rfc3339(milliseconds: WallClock.nowMilliseconds())
        var line: String
        switch format {
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time)), ("level", .string(level.name)), ("msg", .string(message))]
            members += fields.map { ($0.0, .string($0.1)) }
            line = JSONValue.object(members).serialized()
        case .text:
            line = "\(time) \(level.name.uppercased()) \(textMessage(message))"
            for (key, value) in fields { line += " \(key)=\(textValue(value))" }
        }
        return line + "\n"
    }

    /// The line that tells the reader of a gap: written after what waited in the backlog once it
    /// drains, or before the first line standard error takes after refusing some.
    static func droppedNote(_ gap: LogBacklog.Gap, format: Format) -> String {
        switch gap {
        case let .readerStalled(count):
            return line(format, .warn, "\(count) log line(s) dropped: standard error was not read for a while "
                + "(its reader stalled), and the server served on rather than wait for it", [])
        case let .writesRefused(count):
            return line(format, .warn, "\(count) log line(s) dropped: standard error refused them "
                + "(a full disk, or its reader closed it), and the server served on without them", [])
        }
    }
}
