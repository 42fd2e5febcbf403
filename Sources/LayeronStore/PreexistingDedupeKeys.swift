import Foundation
import LayeronCore

/// The dedupe keys that were live in the store when this process started, as the window's 64-bit
/// hashes of (webhook, key), sorted: 8 bytes a key, immutable once built, so the writer reads it
/// without a lock. A key absent here was not live at the start; a hash that is here only says "ask
/// the store", so a collision costs a lookup, never a missed duplicate.
struct PreexistingDedupeKeys: Sendable {
    private let slots: [Int]

    init(slots: [Int]) {
        self.slots = slots.sorted()
    }

    var count: Int { slots.count }

    func mayHold(_ slot: Int) -> Bool {
        var low = 0
        var high = slots.count
        while low < high {
            let middle = (low + high) / 2
            if slots[middle] < slot { low = middle + 1 } else { high = middle }
        }
        return low < slots.count && slots[low] == slot
    }
}

/// Reads the keys for `PreexistingDedupeKeys` on a thread of its own after a start, in slices of
/// `rowsPerRead` events (each its own short read transaction, so checkpoints are never held back for
/// long), and hands the set over when it is complete. Until then, and for good if reading fails or
/// finds more than `maximumKeys`, every dedupe miss the window cannot vouch for asks the store, as
/// before (docs/performance.md, item 33).
final class PreexistingKeyLoader: @unchecked Sendable {
    /// 32 MB of hashes; past it the store stays in charge until the keys expire.
    static let maximumKeys = 4_000_000
    static let rowsPerRead: Int64 = 50_000
    /// Keys that had expired this long before the start are left out: a clock stepped back by less
    /// cannot make them live again.
    static let clockSlack: Int64 = 3_600_000

    private let lock = NSLock()
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    /// Reads the keys of the events up to `lastSeq` (the newest stored when the store opened) that
    /// are live at `now`; `deliver` gets the set, or nil when there is none to use.
    init(path: String, lastSeq: Int64, now: Int64, deliver: @escaping @Sendable (PreexistingDedupeKeys?) -> Void) {
        Thread.startNamed("dedupe-load") { [self] in
            deliver(try? read(path: path, lastSeq: lastSeq, liveAfter: now - Self.clockSlack))
            finished.signal()
        }
    }

    /// Stops reading (a slice being read finishes first) and waits for the thread to end.
    func stop() {
        lock.lock()
        stopping = true
        lock.unlock()
        finished.wait()
    }

    /// Waits until the thread has ended (read, failed or stopped): for tests.
    func waitUntilDone() {
        finished.wait()
        finished.signal()
    }

    private var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func read(path: String, lastSeq: Int64, liveAfter: Int64) throws(SQLiteError) -> PreexistingDedupeKeys? {
        let db = try SQLiteConnection(path: path, readOnly: true)
        let slice = try db.prepared("""
            SELECT webhook, dedupe_key FROM events
            WHERE seq > ?1 AND seq <= ?2 AND dedupe_key IS NOT NULL AND dedupe_expires_at > ?3
            """)
        var slots: [Int] = []
        var from: Int64 = 0
        while from < lastSeq {
            if shouldStop { return nil }
            slice.bind(1, from).bind(2, min(from + Self.rowsPerRead, lastSeq)).bind(3, liveAfter)
            while try slice.step() {
                slots.append(DedupeWindow.slot(slice.string(0) ?? "", slice.string(1) ?? ""))
            }
            slice.reset()
            if slots.count > Self.maximumKeys { return nil }
            from += Self.rowsPerRead
        }
        return PreexistingDedupeKeys(slots: slots)
    }
}
