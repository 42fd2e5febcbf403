/// At most one log line per key (a plugin, say) per `interval`, for warnings about a mistake that
/// repeats on every event: the first occurrence is logged at once, and the next line counts the
/// occurrences held back since. A value type; its owner guards it with a lock.
public struct LogRateLimit<Key: Hashable>: Sendable where Key: Sendable {
    /// The least time between two lines about one key, in nanoseconds.
    public let interval: UInt64
    private var lines: [Key: (at: UInt64, heldBack: Int)] = [:]

    public init(intervalNanoseconds: UInt64) {
        interval = intervalNanoseconds
    }

    /// Notes one occurrence for `key` at `now` (monotonic nanoseconds). Returns how many occurrences
    /// the line to write now covers (this one and those held back since the last line), or nil when
    /// a line about `key` was written less than `interval` ago.
    public mutating func occurrence(_ key: Key, now: UInt64) -> Int? {
        if let last = lines[key], now - last.at < interval {
            lines[key] = (last.at, last.heldBack + 1)
            return nil
        }
        let covered = (lines[key]?.heldBack ?? 0) + 1
        lines[key] = (now, 0)
        return covered
    }
}
