/// Severity of a log line.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug, info, warn, error

    public var name: String {
        switch self {
        case .debug: return "debug"
        case .info: return "info"
        case .warn: return "warn"
        case .error: return "error"
        }
    }

    /// A level by its name in any case, and `warning` for `warn`: `LOG_LEVEL=DEBUG` and `warning` are
    /// how other tools spell them, and an operator copying one should not get a server that will not start.
    public init?(name: String) {
        let lowered = name.lowercased()
        guard let level = Self.allCases.first(where: { $0.name == lowered }) ?? (lowered == "warning" ? .warn : nil) else { return nil }
        self = level
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Where log lines go. Modules log through this so that they stay free of I/O; the server decides
/// the format and the destination. `fields` carry structured context such as the event id.
public struct Logger: Sendable {
    public typealias Sink = @Sendable (_ level: LogLevel, _ message: String, _ fields: [(String, String)]) -> Void

    public let minimum: LogLevel
    private let sink: Sink

    public init(minimum: LogLevel, sink: @escaping Sink) {
        self.minimum = minimum
        self.sink = sink
    }

    public static let discard = Logger(minimum: .error) { _, _, _ in }

    /// The message and fields are built only for a line that is written: hot paths log below the
    /// usual level (a rejected signature is `info`, a recorded event `debug`) on every request.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String,
                    _ fields: @autoclosure () -> [(String, String)] = []) {
        if level >= minimum { sink(level, message(), fields()) }
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        log(.debug, message(), fields())
    }
    public func info(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        log(.info, message(), fields())
    }
    public func warn(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        log(.warn, message(), fields())
    }
    public func error(_ message: @autoclosure () -> String, _ fields: @autoclosure () -> [(String, String)] = []) {
        log(.error, message(), fields())
    }
}
