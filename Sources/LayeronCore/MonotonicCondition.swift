import Foundation

/// A lock and condition whose timed waits run on `CLOCK_MONOTONIC`. `NSCondition.wait(until:)` waits
/// for the wall clock to reach a date, so a step of the wall clock back by an hour stretched a pause
/// of 250 ms by that hour (the scheduler ran no retries meanwhile), and a step forward cut it short.
/// Timed waits here take a span or a `CLOCK_MONOTONIC` reading, which no clock step moves.
public final class MonotonicCondition: NSLocking, @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// `CLOCK_MONOTONIC` in nanoseconds, the clock `wait(untilUptime:)` takes.
    public static func uptimeNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }
    public func signal() { pthread_cond_signal(condition) }
    public func broadcast() { pthread_cond_broadcast(condition) }

    /// Holding the lock, waits for a signal (or a spurious wake-up).
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// Holding the lock, waits for a signal or until `seconds` have passed; false when they did.
    @discardableResult
    public func wait(seconds: TimeInterval) -> Bool {
        let span = UInt64((seconds.isNaN ? 0 : min(max(0, seconds), 1e9)) * 1e9)
        return wait(untilUptime: Self.uptimeNanoseconds() &+ span)
    }

    /// Holding the lock, waits for a signal or until `uptimeNanoseconds()` reaches `deadline`; false
    /// when it did.
    @discardableResult
    public func wait(untilUptime deadline: UInt64) -> Bool {
        var at = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(condition, mutex, &at) == 0
    }
}
