import Foundation
import LayeronCore

/// Wall-clock time in the units the store and the ABI use.
public enum WallClock {
    public static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// A monotonic clock in nanoseconds, for durations: the histograms observe them at full
    /// precision, where whole milliseconds would put every fast call at 0.
    /// Also the clock `MonotonicCondition.wait(untilUptime:)` takes.
    public static func monotonicNanoseconds() -> UInt64 {
        MonotonicCondition.uptimeNanoseconds()
    }

    /// The monotonic clock in milliseconds, for deadlines held in memory (leases, rate buckets): no
    /// step of the wall clock moves them.
    public static func monotonicMilliseconds() -> Int64 {
        Int64(monotonicNanoseconds() / 1_000_000)
    }

    /// Seconds since `start`, a `monotonicNanoseconds()` reading.
    public static func secondsSince(_ start: UInt64) -> Double {
        Double(monotonicNanoseconds() &- start) / 1e9
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-04T17:11:27.123Z`.
    public static func rfc3339(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let ms = Int(milliseconds % 1000)
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
    }
}
