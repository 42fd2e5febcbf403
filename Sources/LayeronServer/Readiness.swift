import LayeronStore
import Synchronization

/// Whether the server takes new webhooks, for `/readyz` (and `/healthz`'s word for it): not once it
/// drains, nor while its store cannot write. Liveness is another matter: a draining server, or one
/// whose disk is full, is still alive and answers `/healthz` 200.
final class Readiness: Sendable {
    enum State {
        case ready
        /// A stop signal arrived: the public listener refuses connections, running work finishes.
        case draining
        /// The store's last batch committed nothing, and nothing has since: every webhook is
        /// answered 503 until a write commits (the next webhook, a provider's retry, or the probe
        /// that asking for the state queues).
        case storeFailing(SQLiteError)
    }

    private let store: EventStore
    private let drainStarted = Atomic<Bool>(false)
    /// A probe write is queued (`EventStore.probeWrite`); one at a time.
    private let probing = Atomic<Bool>(false)

    init(store: EventStore) {
        self.store = store
    }

    /// Called once, as the drain starts: from then on the server is not ready, for good.
    func beginDrain() {
        drainStarted.store(true, ordering: .relaxed)
    }

    var isDraining: Bool { drainStarted.load(ordering: .relaxed) }

    /// Draining wins over a failing store: it does not end. A failing store is probed with a write
    /// of its own (one at a time), whose success the next call reports.
    var state: State {
        if isDraining { return .draining }
        guard let error = store.writeHealth.failing else { return .ready }
        if probing.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged {
            store.probeWrite { [self] in probing.store(false, ordering: .relaxed) }
        }
        return .storeFailing(error)
    }
}
