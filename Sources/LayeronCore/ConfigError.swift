/// One thing wrong in a config file, located by its key path (`webhooks[1].dedupe.ttl`).
public struct ConfigIssue: Sendable, CustomStringConvertible, Equatable {
    public let keyPath: String
    public let message: String

    /// The message as it may be printed: it quotes values from the file, so control characters are
    /// escaped (an escape sequence must not repaint the operator's terminal or a log viewer) and a
    /// long one is cut (a 50 MB `listen` made a 50 MB line, again at every reload).
    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        let printable = TerminalText.escaped(message, newline: "\\n")
        self.message = printable.count > Self.longest
            ? "\(printable.prefix(Self.longest)) … (\(printable.count - Self.longest) more characters)"
            : printable
    }

    /// The most of a message printed whole.
    static let longest = 1_000

    /// An issue of the whole file (not an object at all) has no key path.
    public var description: String { keyPath.isEmpty ? message : "\(keyPath): \(message)" }
}

/// Why a config file cannot be used. Every message names the file, and the key when there is one.
public enum ConfigError: Error, CustomStringConvertible, Sendable {
    case unreadable(file: String, reason: String)
    /// `line` and `column` locate the error as an editor does (`file:line:column:` leads the message).
    case syntax(file: String, JSONSyntaxError, line: Int, column: Int)
    case invalid(file: String, issues: [ConfigIssue])

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read the config: \(reason)"
        case let .syntax(file, error, line, column): return "\(file):\(line):\(column): \(error)"
        case let .invalid(file, issues): return issues.map { "\(file): \($0)" }.joined(separator: "\n")
        }
    }
}
