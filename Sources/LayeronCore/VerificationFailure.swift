/// Why a request's signature was refused. Messages name the rule that failed and never a secret.
public enum VerificationFailure: Error, Equatable, CustomStringConvertible, Sendable {
    /// The signature's header, or body field (Mailgun), is absent.
    case missingSignature(FieldSource)
    case malformedSignature(FieldSource, reason: String)
    /// No timestamp where the scheme reads it: a field of the signature's own format (Stripe's
    /// `t=`), or the header or body field that carries it (Slack's `X-Slack-Request-Timestamp`).
    case missingTimestamp(ValueSource, signature: FieldSource)
    case malformedTimestamp(String)
    case timestampOutsideTolerance(skewSeconds: Int64, toleranceSeconds: Int64)
    case missingID
    case signatureMismatch
    /// Twilio's `bodySHA256` query parameter does not match the body.
    case bodyDigestMismatch
    /// A configured secret or public key cannot be used with this scheme (for example a Standard
    /// Webhooks secret that is not base64); an operator problem, not the sender's.
    case unusableKey(String)

    public var description: String {
        switch self {
        case let .missingSignature(.header(name)): return "missing signature header \(name)"
        case let .missingSignature(source): return "missing signature body field \(source)"
        case let .malformedSignature(.header(name), reason): return "malformed \(name) header: \(reason)"
        case let .malformedSignature(source, reason): return "malformed body field \(source): \(reason)"
        case let .missingTimestamp(.formatField, .header(name)): return "no timestamp in the \(name) header"
        case let .missingTimestamp(.formatField, source): return "no timestamp in body field \(source)"
        case let .missingTimestamp(.field(.header(name)), _): return "missing timestamp header \(name)"
        case let .missingTimestamp(.field(source), _): return "missing timestamp body field \(source)"
        case let .malformedTimestamp(reason): return "malformed timestamp: \(reason)"
        case let .timestampOutsideTolerance(skew, tolerance):
            return "timestamp outside tolerance (\(skew) s > \(tolerance) s)"
        case .missingID: return "no message id for the signed payload"
        case .signatureMismatch: return "no signature matches"
        case .bodyDigestMismatch: return "bodySHA256 does not match the body"
        case let .unusableKey(reason): return "configured key unusable: \(reason)"
        }
    }

    /// A short stable label for metrics.
    public var code: String {
        switch self {
        case .missingSignature: return "missing_header"
        case .malformedSignature: return "malformed_header"
        case .missingTimestamp: return "missing_timestamp"
        case .malformedTimestamp: return "malformed_timestamp"
        case .timestampOutsideTolerance: return "timestamp"
        case .missingID: return "missing_id"
        case .signatureMismatch: return "mismatch"
        case .bodyDigestMismatch: return "body_digest"
        case .unusableKey: return "key"
        }
    }
}

/// A scheme definition that cannot work, found when config is loaded.
public enum SchemeDefinitionError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(s): return s }
    }
}
