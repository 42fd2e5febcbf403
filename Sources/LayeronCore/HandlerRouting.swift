/// `PLUGIN.HANDLER`: a plugin's declared name and one handler it exports.
public struct HandlerReference: Sendable, Hashable, CustomStringConvertible {
    public let plugin: String
    public let handler: String
    /// `PLUGIN.HANDLER`, made once: every recorded event stores it.
    public let description: String

    public init(plugin: String, handler: String) {
        self.plugin = plugin
        self.handler = handler
        description = "\(plugin).\(handler)"
    }

    public init?(parsing text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy(Self.isValidName) else { return nil }
        self.init(plugin: String(parts[0]), handler: String(parts[1]))
    }

    /// Plugin and handler names: `[a-z0-9_]+`, the same rule the ABI states.
    public static func isValidName<S: StringProtocol>(_ s: S) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }
}

/// A key of an `on` map: an exact type, a prefix (`invoice.*`) or everything (`*`).
public enum EventTypePattern: Sendable, Hashable, CustomStringConvertible {
    case exact(String)
    case prefix(String)
    case any

    public init(parsing text: String) {
        if text == "*" {
            self = .any
        } else if text.hasSuffix(".*") {
            self = .prefix(String(text.dropLast(1)))
        } else {
            self = .exact(text)
        }
    }

    /// Nil for a `*` anywhere but as the whole pattern or a final `.*` (`checkout*`, `*.completed`):
    /// such a pattern would be taken for an exact type and never match.
    public init?(validating text: String) {
        if text != "*", text.dropLast(text.hasSuffix(".*") ? 2 : 0).contains("*") { return nil }
        self.init(parsing: text)
    }

    /// What a config is told when `init(validating:)` refuses `text`.
    public static func refusal(_ text: String) -> String {
        "invalid pattern \"\(text)\"; a pattern is an exact type, ends in .* (like order.*) or is *"
    }

    public func matches(_ type: String) -> Bool {
        switch self {
        case let .exact(t): return t == type
        case let .prefix(p): return type.hasPrefix(p)
        case .any: return true
        }
    }

    /// Higher is more specific: exact beats any prefix, a longer prefix beats a shorter one.
    var specificity: Int {
        switch self {
        case .exact: return Int.max
        case let .prefix(p): return 1 + p.count
        case .any: return 0
        }
    }

    public var description: String {
        switch self {
        case let .exact(t): return t
        case let .prefix(p): return p + "*"
        case .any: return "*"
        }
    }
}

/// Which handler an event type goes to: the most specific matching `on` entry, else the catch-all.
public struct HandlerRoutes: Sendable {
    public let rules: [(pattern: EventTypePattern, handler: HandlerReference)]
    public let fallback: HandlerReference?

    public init(rules: [(pattern: EventTypePattern, handler: HandlerReference)], fallback: HandlerReference?) {
        self.rules = rules.sorted { $0.pattern.specificity > $1.pattern.specificity }
        self.fallback = fallback
    }

    public func handler(for type: String) -> HandlerReference? {
        rules.first(where: { $0.pattern.matches(type) })?.handler ?? fallback
    }

    /// Every handler named, for checking them against the loaded plugins.
    public var allHandlers: [HandlerReference] {
        rules.map(\.handler) + (fallback.map { [$0] } ?? [])
    }
}
