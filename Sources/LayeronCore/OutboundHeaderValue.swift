/// The value of a header a destination sends with every delivery: text in the config, or a secret
/// reference for credentials the receiver asks for (`Authorization: Bearer …`), which the config and
/// the stored events never hold.
public enum OutboundHeaderValue: Sendable, Equatable {
    case text(String)
    case secret(SecretReference)

    /// What an emitted event records of this header: a secret's value never reaches the store or
    /// the admin API.
    public var recorded: String {
        switch self {
        case let .text(text): return text
        case .secret: return "<redacted>"
        }
    }
}
