/// RFC 3339 date-times: `2026-12-04T17:00:00Z`, `2019-11-16T10:11:12.634234626Z`, `…+02:00`
/// (signature timestamps of Twitch and Zendesk, the admin API's times). `t`, `z` and a space in
/// place of `T` are read as RFC 3339 §5.6 allows.
///
/// Read by hand rather than with `ISO8601DateFormatter`, which rolls a date that does not exist
/// into another one (2026-02-29 into 1 March, 11-31 into 1 December, 24:00 into the next day): a
/// typo in a purge's `before` would silently delete a day more. Such dates are refused. A leap
/// second (`:60`) is read as `:59`, since Unix time has no place for it.
public enum RFC3339 {
    /// Unix milliseconds; fraction digits past the third are dropped. Nil when `text` is not an
    /// RFC 3339 date-time of a day that exists.
    public static func unixMilliseconds(_ text: String) -> Int64? {
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
              (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour < 24, minute < 60, second <= 60 else { return nil }
        var i = 19
        var milliseconds: Int64 = 0
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                if i - start < 3 { milliseconds = milliseconds * 10 + Int64(b[i] - 0x30) }
                i += 1
            }
            guard i > start else { return nil }
            for _ in min(i - start, 3)..<3 { milliseconds *= 10 }
        }
        guard i < b.count else { return nil }
        var offset: Int64 = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, b[i + 3] == UInt8(ascii: ":"), let oh = number(i + 1, 2), let om = number(i + 4, 2),
                  oh < 24, om < 60 else { return nil }
            offset = (oh * 3600 + om * 60) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return seconds * 1000 + milliseconds
    }

    /// Whole Unix seconds (the fraction dropped, towards the past); nil as for `unixMilliseconds`.
    public static func unixSeconds(_ text: String) -> Int64? {
        unixMilliseconds(text).map { $0 >= 0 ? $0 / 1000 : ($0 - 999) / 1000 }
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
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
