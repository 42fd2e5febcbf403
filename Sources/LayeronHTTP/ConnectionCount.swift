import Synchronization

/// A listener's open connections, counted as the accept thread hands each one to libmicrohttpd and
/// in libmicrohttpd's report of its close: one atomic add per connection, none per request. The
/// accept thread accepts only while the count is under the limit, so at the limit new clients wait
/// in the kernel's backlog; the count is also how the listener shows, and warns, that it is full.
final class ConnectionCount: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// A connection was accepted (or, handed over and refused at once, is `closed` again); true when
    /// it is the one that fills the listener. Relaxed: the count orders nothing else.
    func opened() -> Bool {
        count.wrappingAdd(1, ordering: .relaxed).newValue == limit
    }

    func closed() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }

    var open: Int { count.load(ordering: .relaxed) }
}
