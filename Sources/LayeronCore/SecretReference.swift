/// A named secret (`{"secret": "STRIPE_WEBHOOK_SECRET"}`). Config never holds a value, only this name;
/// the value is resolved per environment at start and never printed.
public struct SecretReference: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(name: String) { self.name = name }

    public var description: String { name }

    /// Names are environment-variable style so that the fallback to the environment works.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        guard let first = bytes.first, isLetter(first) || first == UInt8(ascii: "_") else { return false }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// What sets the environment variable `name` for a use of its own, when something does: a
    /// reference falls back to the variable of its name, so `{"secret": "HOME"}` verified with a value
    /// anyone can guess, and `{"secret": "LAYERON_MASTER_KEY"}` handed the store's key to a provider.
    public static func variableHeldForAnotherUse(_ name: String) -> String? {
        if layeronSettings.contains(name) { return "a variable layeron reads for its own settings" }
        if systemVariables.contains(name) || name.hasPrefix("LC_") || name.hasPrefix("LD_") || name.hasPrefix("XDG_") {
            return "a variable the system sets"
        }
        return nil
    }

    /// `LAYERON_ADMIN_TOKEN` is not among them: it is the admin token's own reference.
    private static let layeronSettings: Set<String> = ["LAYERON_MASTER_KEY", "LAYERON_MASTER_KEY_FILE", "LAYERON_ENV", "LAYERON_CONFIG",
                                                      "LAYERON_ADMIN_URL", "LAYERON_LOG_LEVEL"]
    private static let systemVariables: Set<String> = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "HOSTNAME", "HOSTTYPE",
                                                       "LANG", "LANGUAGE", "TERM", "TMPDIR", "TZ", "MAIL", "EDITOR", "DISPLAY", "SHLVL",
                                                       "INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET", "SSH_AUTH_SOCK"]
}

/// A secret's bytes. Its description never shows the value, so it cannot leak through logging.
public struct SecretValue: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ text: String) { self.bytes = Array(text.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { "<redacted>" }
}

/// Where secret values come from. The server composes a store lookup with the process environment.
public protocol SecretResolver: Sendable {
    func resolve(_ reference: SecretReference) -> SecretValue?
    /// Every value that may verify now, the primary first: more than one while a rotation's grace runs.
    func resolveAll(_ reference: SecretReference) -> [SecretValue]
    /// The values as they are now, fixed. A snapshot resolves all its references through one such
    /// view, so a reload never mixes two states of a store that changes underneath it.
    func current() -> any SecretResolver
    /// Why this source could not be read, when it could not: it then knows nothing, and a chain does
    /// not let a later source answer in its place (an old environment variable must not take over
    /// from a store that holds the value but failed to decrypt it).
    var unreadable: String? { get }
}

extension SecretResolver {
    public func resolveAll(_ reference: SecretReference) -> [SecretValue] {
        resolve(reference).map { [$0] } ?? []
    }

    public func current() -> any SecretResolver { self }

    public var unreadable: String? { nil }
}

/// A source that failed to read (see `SecretResolver.unreadable`).
public struct UnreadableSecretSource: SecretResolver {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public func resolve(_ reference: SecretReference) -> SecretValue? { nil }
    public var unreadable: String? { reason }
}

/// Resolves references from a fixed dictionary (environment variables, or tests). An empty value is
/// no value: `X: ${X}` in a compose file with X unset must not make an empty HMAC key anyone can
/// compute (`layeron secrets set` refuses an empty value for the same reason).
public struct DictionarySecretResolver: SecretResolver {
    public let values: [String: String]
    public init(_ values: [String: String]) { self.values = values }
    public func resolve(_ reference: SecretReference) -> SecretValue? {
        values[reference.name].flatMap { $0.isEmpty ? nil : SecretValue($0) }
    }
}

/// Values read once, several per name during a rotation (primary first).
public struct FixedSecretResolver: SecretResolver {
    public let values: [String: [SecretValue]]
    public init(_ values: [String: [SecretValue]]) { self.values = values }
    public func resolve(_ reference: SecretReference) -> SecretValue? { values[reference.name]?.first }
    public func resolveAll(_ reference: SecretReference) -> [SecretValue] { values[reference.name] ?? [] }
}

/// Tries resolvers in order: the first that knows the name wins, with all the values it knows.
public struct ChainedSecretResolver: SecretResolver {
    public let resolvers: [any SecretResolver]
    public init(_ resolvers: [any SecretResolver]) { self.resolvers = resolvers }
    public func resolve(_ reference: SecretReference) -> SecretValue? {
        resolveAll(reference).first
    }

    public func resolveAll(_ reference: SecretReference) -> [SecretValue] {
        for resolver in resolvers {
            if resolver.unreadable != nil { return [] }
            let values = resolver.resolveAll(reference)
            if !values.isEmpty { return values }
        }
        return []
    }

    public func current() -> any SecretResolver { ChainedSecretResolver(resolvers.map { $0.current() }) }

    public var unreadable: String? { resolvers.lazy.compactMap(\.unreadable).first }
}
