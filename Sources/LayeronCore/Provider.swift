/// A built-in provider: its signature scheme and where its events keep their id, type and dedupe key.
/// A provider is data over the same engine custom schemes use.
public struct ProviderPreset: Sendable {
    public let name: String
    public let scheme: @Sendable (_ toleranceSeconds: Int64?) -> SignatureScheme
    public let eventID: FieldSource?
    public let eventType: FieldSource?
    public let dedupeKey: DedupeKeyTemplate?

    /// Presets by the name config uses in `"provider"`.
    public static let all: [String: ProviderPreset] = [
        "stripe": ProviderPreset(
            name: "stripe",
            scheme: { SignatureScheme.stripe(toleranceSeconds: $0 ?? 300) },
            eventID: .body(["id"]), eventType: .body(["type"]),
            dedupeKey: DedupeKeyTemplate(parsing: "body.id")),
    ]

    /// Every name `"provider"` accepts, for error messages.
    public static var knownNames: [String] { (all.keys + ["custom"]).sorted() }
}
