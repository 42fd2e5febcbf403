/// A JSON number: its value, and the text it was written with when it came from a document. A
/// `Double` holds every integer only up to 2^53, and providers send 64-bit ids (snowflakes) as bare
/// numbers: two such ids that round to one `Double` are two events, so ids and dedupe keys are taken
/// from the text, never from the value.
public struct JSONNumber: Sendable, Equatable, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral {
    public let value: Double
    /// The number exactly as the document wrote it (valid JSON number syntax); nil for one built in code.
    public let literal: String?

    public init(_ value: Double, literal: String? = nil) {
        self.value = value
        self.literal = literal
    }

    public init(integerLiteral value: Int) { self.init(Double(value)) }
    public init(floatLiteral value: Double) { self.init(value) }

    /// Numbers compare by value: `-2.5e3` and `-2500` are one number.
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool { lhs.value == rhs.value }

    /// The number as text for ids, types and keys: as written when it came from a document; else
    /// without a trailing ".0" when whole.
    public var text: String {
        if let literal { return literal }
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
