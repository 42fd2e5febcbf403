import Foundation
import LayeronCore

/// The `Retry-After` header of a 429 or 503: delay-seconds or an HTTP-date (RFC 9110 §10.2.3) in any
/// of its three formats (`HTTPDate`).
public enum RetryAfter {
    /// The wait it asks for from `nowMilliseconds`, or nil when the value is neither form. A date in
    /// the past asks for no wait. Whole seconds, rounded up, as the header counts (and as the
    /// attempt's message shows it).
    public static func parse(_ value: String, nowMilliseconds: Int64) -> TimeSpan? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            // Every digit counts (leading zeros too); a number past `TimeSpan.longest` asks for that.
            let significant = text.drop { $0 == "0" }
            let cap = TimeSpan.longest.seconds
            return .seconds(significant.count > String(cap).count ? cap : min(cap, Int64(significant) ?? 0))
        }
        guard let at = HTTPDate.unixMilliseconds(text, nowMilliseconds: nowMilliseconds) else { return nil }
        return .seconds((max(0, at - nowMilliseconds) + 999) / 1000)
    }
}
