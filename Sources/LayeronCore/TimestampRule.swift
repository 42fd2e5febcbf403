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

/// Reads `2019-11-16T10:11:12.634234626Z` and `…+02:00` (Twitch, Zendesk). Fractions are dropped.
enum RFC3339 {
    static func unixSeconds(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func number(_ at: Int, _ count: Int) -> Int64? {
            guard at + count <= b.count else { return nil }
            var n: Int64 = 0
            for c in b[at..<at + count] {
                guard c >= 0x30, c <= 0x39 else { return nil }
                n = n * 10 + Int64(c - 0x30)
            }
            return n
        }
        guard b.count >= 20, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: "t") || b[10] == UInt8(ascii: " "),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
              let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let oh = number(i + 1, 2), let om = number(i + 4, 2) else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        return daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
