/// One thing wrong in a config file, located by its key path (`webhooks[1].dedupe.ttl`).
public struct ConfigIssue: Sendable, CustomStringConvertible, Equatable {
    public let keyPath: String
    public let message: String

    public init(_ keyPath: String, _ message: String) {
        self.keyPath = keyPath
        self.message = message
    }

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
