/// A built-in provider: its signature scheme and where its events keep their id, type and dedupe key.
/// A provider is data over the same engine custom schemes use; adding one is a `ProviderPreset(...)`
/// in the family file it belongs to and a vector in `Tests/Fixtures/signatures/`.
public struct ProviderPreset: Sendable {
    public let name: String
    /// The scheme with the provider's default tolerance.
    public let baseScheme: SignatureScheme
    public let eventID: FieldSource?
    public let eventType: FieldSource?
    public let dedupeKey: DedupeKeyTemplate?
    /// The provider's documentation the rule was taken from (also listed in `docs/signatures.md`).
    public let docs: String

    init(_ name: String, _ scheme: SignatureScheme, id: String? = nil, type: String? = nil, dedupe: String? = nil, docs: String) {
        self.name = name
        self.baseScheme = scheme
        self.eventID = id.flatMap(FieldSource.init(parsing:))
        self.eventType = type.flatMap(FieldSource.init(parsing:))
        self.dedupeKey = (dedupe ?? id).flatMap { try? DedupeKeyTemplate(parsing: $0) }
        self.docs = docs
    }

    /// The scheme with `toleranceSeconds` instead of the default, when the webhook sets `"tolerance"`.
    public func scheme(_ toleranceSeconds: Int64?) -> SignatureScheme { baseScheme.withTolerance(toleranceSeconds) }

    /// Every preset, in the order `docs/signatures.md` lists them.
    public static let list: [ProviderPreset] = ProviderPresets.payments + ProviderPresets.developerTools
        + ProviderPresets.messaging + ProviderPresets.standardWebhooks + ProviderPresets.business

    /// Presets by the name config uses in `"provider"`.
    public static let all: [String: ProviderPreset] = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })

    /// Every name `"provider"` accepts, for error messages.
    public static var knownNames: [String] { (all.keys + ["custom"]).sorted() }
}

/// The preset families; each lives in its own file.
enum ProviderPresets {}

extension TimestampRule {
    static func header(_ name: String, _ unit: Unit = .seconds, tolerance: Int64 = 300) -> TimestampRule {
        TimestampRule(.field(.header(name)), unit: unit, toleranceSeconds: tolerance)
    }
}

extension SignatureHeaderFormat {
    /// `key=value` fields separated by `separator`.
    static func keyed(_ separator: Character, _ keys: [String: FieldRole]) -> SignatureHeaderFormat {
        .fields(separator: separator, assignment: "=", keys: keys)
    }
}
