import Synchronization

/// A listener's open connections, counted in libmicrohttpd's reports of each connection's start and
/// close: one atomic add per connection, none per request. At its connection limit libmicrohttpd
/// (in epoll mode) stops watching the listening socket without a word, and new clients wait in the
/// kernel's backlog; this count is how the listener can tell, and show, that it is full.
final class ConnectionCount: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// A connection started; true when it is the one that fills the listener. Relaxed: the count
    /// orders nothing else, and each start and close is reported once, on the connection's thread.
    func opened() -> Bool {
        count.wrappingAdd(1, ordering: .relaxed).newValue == limit
    }

    func closed() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }

    var open: Int { count.load(ordering: .relaxed) }
}
