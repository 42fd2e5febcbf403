import Foundation
import LayeronCore

/// An HTTP-date in any of the three formats RFC 9110 (section 5.6.7) says a recipient must accept:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form (`Sunday, 06-Nov-94
/// 08:49:37 GMT`) and asctime's (`Sun Nov  6 08:49:37 1994`). Each is rewritten as RFC 3339 and read
/// by `RFC3339`, which refuses days that do not exist. The weekday is not checked against the date.
enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Unix milliseconds, or nil when `text` is none of the three formats. `nowMilliseconds` places
    /// an RFC 850 two-digit year.
    static func unixMilliseconds(_ text: String, nowMilliseconds: Int64) -> Int64? {
        let parts = text.split(separator: " ")
        let day: Substring, month: Substring, year: String, time: Substring
        switch parts.count {
        case 6 where parts[0].hasSuffix(",") && parts[5] == "GMT":
            (day, month, year, time) = (parts[1], parts[2], String(parts[3]), parts[4])
        case 4 where parts[0].hasSuffix(",") && parts[3] == "GMT":
            let date = parts[1].split(separator: "-", omittingEmptySubsequences: false)
            guard date.count == 3, date[2].count == 2, date[2].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let twoDigits = Int(date[2]) else { return nil }
            (day, month, year, time) = (date[0], date[1], String(fullYear(twoDigits, nowMilliseconds: nowMilliseconds)), parts[2])
        case 5:
            (day, month, year, time) = (parts[2], parts[1], String(parts[4]), parts[3])
        default:
            return nil
        }
        guard let index = months.firstIndex(where: { month == $0 }), (1...2).contains(day.count) else { return nil }
        let monthText = index < 9 ? "0\(index + 1)" : "\(index + 1)"
        return RFC3339.unixMilliseconds("\(year)-\(monthText)-\(day.count == 1 ? "0" : "")\(day)T\(time)Z")
    }

    /// RFC 9110: a two-digit year more than 50 years in the future is the most recent past year with
    /// the same last two digits.
    private static func fullYear(_ twoDigits: Int, nowMilliseconds: Int64) -> Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "GMT")!
        let thisYear = calendar.component(.year, from: Date(timeIntervalSince1970: Double(nowMilliseconds) / 1000))
        let year = thisYear - thisYear % 100 + twoDigits
        return year > thisYear + 50 ? year - 100 : year
    }
}
