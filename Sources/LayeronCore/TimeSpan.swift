/// A length of time written in config as `"30s"`, `"5m"`, `"2h"`, `"7d"` (or `"250ms"`).
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }

    public var seconds: Int64 { milliseconds / 1000 }

    /// The longest span config or a command accepts: a hundred years, room for a retention meant as
    /// "keep everything". Deadlines are `now + span` in Unix milliseconds and backoff doubles spans,
    /// so an unbounded span overflowed that arithmetic (a crash on the first request, or at every
    /// start while its event was pending).
    public static let longest = TimeSpan(milliseconds: 36_500 * 86_400_000)

    /// Why a text is not a span.
    public enum ParseFailure: Error {
        /// Not `<digits><unit>`.
        case malformed
        /// Well formed, but longer than `longest`.
        case tooLong
    }

    /// Parses `<digits><unit>` up to `longest`.
    public static func parse(_ text: String) -> Result<TimeSpan, ParseFailure> {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when what is left is all digits (no sign either).
            guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { continue }
            guard let n = Int64(digits), n <= longest.milliseconds / factor else { return .failure(.tooLong) }
            return .success(TimeSpan(milliseconds: n * factor))
        }
        return .failure(.malformed)
    }

    /// What to tell the user about a well-formed `text` that `parse` found `tooLong`.
    public static func tooLongMessage(_ text: String) -> String {
        "duration \"\(text)\" is longer than the longest accepted, \(longest)"
    }

    /// `parse`, without the reason.
    public init?(parsing text: String) {
        guard case let .success(span) = Self.parse(text) else { return nil }
        self = span
    }

    public var description: String {
        for (suffix, factor) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds >= factor && milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }

    public static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }
}
