/// A webhook's `host`: an exact name or a one-label wildcard (`*.example.com`).
public enum HostPattern: Sendable, Hashable, CustomStringConvertible {
    case exact(String)
    case wildcard(suffix: String)

    public init?(parsing text: String) {
        let lower = text.lowercased()
        if lower.hasPrefix("*.") {
            let suffix = String(lower.dropFirst(1))
            guard suffix.count > 1, !suffix.dropFirst().contains("*") else { return nil }
            self = .wildcard(suffix: suffix)
        } else {
            guard !lower.isEmpty, !lower.contains("*"), !lower.contains("/") else { return nil }
            self = .exact(lower)
        }
    }

    /// `host` is already lower-case and without a port.
    public func matches(_ host: String) -> Bool {
        switch self {
        case let .exact(h): return h == host
        case let .wildcard(suffix):
            guard host.hasSuffix(suffix) else { return false }
            let label = host.dropLast(suffix.count)
            return !label.isEmpty && !label.contains(".")
        }
    }

    public var description: String {
        switch self {
        case let .exact(h): return h
        case let .wildcard(suffix): return "*" + suffix
        }
    }
}
