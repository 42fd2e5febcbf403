/// A length of time written in config as `"30s"`, `"5m"`, `"2h"`, `"7d"` (or `"250ms"`).
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(milliseconds: s * 1000) }

    public var seconds: Int64 { milliseconds / 1000 }

    /// Parses `<digits><unit>`; nil when the text is not of that form.
    public init?(parsing text: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when what is left is all digits.
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int64(digits), n >= 0,
                  n <= Int64.max / factor else { continue }
            self.milliseconds = n * factor
            return
        }
        return nil
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
