/// The live dedupe keys this process recorded, so that the common case — a key never seen — is
/// answered without a lookup in the store. Only a miss is trusted, and only while no key the memory
/// does not hold can still be live in the store: keys written before this process started (until
/// the latest of their expiries) or evicted for lack of room (until theirs). A hit, or a miss that
/// cannot be trusted, asks the store as before. Entries the store lost (a rolled-back batch, a purge)
/// therefore cost an extra lookup, never a missed duplicate.
///
/// It also keeps the store's dedupe horizon ahead of every recorded expiry: the horizon is what the
/// next start reads as `preexistingLiveUntil`. Raising it by `horizonSlack` past the expiry that
/// needed it means it is written about once per `horizonSlack` of traffic, not once per event.
///
/// Keys are held as 64-bit hashes of (webhook, key), not as strings: about a third of the memory per
/// key (54 against 170 bytes measured for Stripe-sized ids), so three times the keys in the same
/// memory before the window must start evicting, and no string built per event. Two
/// keys that share a hash share one entry holding the later expiry, so a collision can only turn a
/// miss into a lookup, never hide a live key.
///
/// Touched only on the writer thread, inside writer jobs (and after the writer's rollbacks).
final class DedupeWindow: @unchecked Sendable {
    // The writer thread's own, so these skip Swift's runtime exclusivity check (docs/performance.md, item 52).
    @exclusivity(unchecked) private var expiries: [Int: Int64] = [:]
    private let capacity: Int
    /// Until then a miss may be a key this process never saw.
    @exclusivity(unchecked) private var untrustedUntil: Int64
    /// What the stored horizon is known to cover in the current transaction; 0 after a rollback,
    /// so that the next recorded key writes it again.
    @exclusivity(unchecked) private var storedHorizon: Int64
    private let horizonSlack: Int64 = 3_600_000

    init(preexistingLiveUntil: Int64, capacity: Int = 600_000) {
        self.untrustedUntil = preexistingLiveUntil
        self.storedHorizon = preexistingLiveUntil
        self.capacity = capacity
    }

    /// The horizon to store before a key expiring at `expiresAt` is recorded; nil when the stored one
    /// already covers it.
    func horizonToStore(covering expiresAt: Int64) -> Int64? {
        expiresAt < storedHorizon ? nil : expiresAt + horizonSlack
    }

    func horizonStored(_ horizon: Int64) {
        storedHorizon = max(storedHorizon, horizon)
    }

    /// A rolled-back transaction may have undone a horizon write.
    func rolledBack() {
        storedHorizon = 0
    }

    /// True when the store must be asked whether `key` of `webhook` is live at `now`.
    func needsLookup(webhook: String, key: String, now: Int64) -> Bool {
        if now < untrustedUntil { return true }
        guard let expires = expiries[Self.slot(webhook, key)] else { return false }
        return expires > now
    }

    func recorded(webhook: String, key: String, expiresAt: Int64, now: Int64) {
        if expiries.count >= capacity {
            // Expired entries go first; if that is not enough, everything goes and misses are not
            // trusted until the last of what was dropped has expired.
            expiries = expiries.filter { $0.value > now }
            if expiries.count >= capacity {
                untrustedUntil = max(untrustedUntil, expiries.values.max() ?? now)
                expiries.removeAll(keepingCapacity: true)
            }
        }
        let slot = Self.slot(webhook, key)
        expiries[slot] = max(expiries[slot] ?? expiresAt, expiresAt)
    }

    /// Hasher feeds each string with its length, so ("ab", "c") and ("a", "bc") hash apart.
    private static func slot(_ webhook: String, _ key: String) -> Int {
        var hasher = Hasher()
        hasher.combine(webhook)
        hasher.combine(key)
        return hasher.finalize()
    }
}
