/// Where a value the scheme needs (timestamp, message id) is read.
public enum ValueSource: Sendable, Hashable, CustomStringConvertible {
    /// A field of the signature header's format (Stripe's `t=`).
    case formatField
    /// A header or a JSON body field.
    case field(FieldSource)

    /// `"format"`, `header.NAME` or `body.PATH`.
    public init?(parsing text: String) {
        if text == "format" {
            self = .formatField
        } else if let source = FieldSource(parsing: text) {
            self = .field(source)
        } else {
            return nil
        }
    }

    /// The value of a header or body field; nil for `.formatField`, which the header parse supplies.
    func value(in request: InboundRequest, body: JSONValue?) -> String? {
        if case let .field(source) = self { return source.value(in: request, body: body) }
        return nil
    }

    public var description: String {
        switch self {
        case .formatField: return "format"
        case let .field(source): return source.description
        }
    }
}

/// A timed scheme's timestamp: where it is, how it is written, and how far from now it may be.
public struct TimestampRule: Sendable, Hashable {
    public enum Unit: String, Sendable, Hashable, CaseIterable {
        case seconds, milliseconds, rfc3339
    }

    public var source: ValueSource
    public var unit: Unit
    /// Checked in both directions: a far-future timestamp would otherwise stay replayable.
    public var toleranceSeconds: Int64

    public init(_ source: ValueSource, unit: Unit = .seconds, toleranceSeconds: Int64 = 300) {
        self.source = source
        self.unit = unit
        self.toleranceSeconds = toleranceSeconds
    }

    /// Unix seconds for `text`, or why it is not a timestamp of this unit.
    func unixSeconds(_ text: String) -> Result<Int64, VerificationFailure> {
        let shown = text.prefix(40)
        switch unit {
        case .seconds:
            guard let value = Int64(text) else { return .failure(.malformedTimestamp("\"\(shown)\" is not Unix seconds")) }
            return .success(value)
        case .milliseconds:
            guard let value = Int64(text) else { return .failure(.malformedTimestamp("\"\(shown)\" is not Unix milliseconds")) }
            return .success(value / 1000)
        case .rfc3339:
            guard let value = RFC3339.unixSeconds(text) else { return .failure(.malformedTimestamp("\"\(shown)\" is not an RFC 3339 time")) }
            return .success(value)
        }
    }

    /// Nil when `text` is a timestamp of this unit within tolerance of `now`, else why not.
    public func check(_ text: String, now: Int64) -> VerificationFailure? {
        switch unixSeconds(text) {
        case let .failure(failure): return failure
        case let .success(ts):
            // A hostile timestamp near Int64.min/max must not overflow: saturate instead.
            let (difference, overflow) = ts > now ? ts.subtractingReportingOverflow(now) : now.subtractingReportingOverflow(ts)
            let skew = overflow ? Int64.max : difference
            return skew > toleranceSeconds ? .timestampOutsideTolerance(skewSeconds: skew, toleranceSeconds: toleranceSeconds) : nil
        }
    }
}
