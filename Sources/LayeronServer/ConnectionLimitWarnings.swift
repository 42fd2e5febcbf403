import Foundation
import LayeronCore
import LayeronHTTP
import Synchronization

/// Counts and tells the operator of the connection limits a listener meets. libmicrohttpd stops
/// accepting at its limit without a word, so a client that opens and holds many idle connections
/// would otherwise starve every other client (and, on the admin listener, the liveness probes)
/// with nothing in the log or the metrics. At most one line a minute per listener and limit, since
/// a client can meet them on every connect; the line counts those held back since the last.
final class ConnectionLimitWarnings: Sendable {
    private let logger: Logger
    private let metrics: Metrics
    private let lines = Mutex(LogRateLimit<String>(intervalNanoseconds: 60_000_000_000))

    init(logger: Logger, metrics: Metrics) {
        self.logger = logger
        self.metrics = metrics
    }

    /// What the listener named `listener` (`public`, `admin`) hands its `onConnectionLimit`.
    func reporter(listener: String) -> @Sendable (ConnectionLimitReached, _ port: UInt16) -> Void {
        { [self] reached, port in self.reached(reached, listener: listener, port: port) }
    }

    private func reached(_ reached: ConnectionLimitReached, listener: String, port: UInt16) {
        metrics.countConnectionLimit(listener: listener, reached)
        let key: String
        switch reached {
        case .listener: key = listener + ".listener"
        case .perAddress: key = listener + ".perAddress"
        }
        guard let times = lines.withLock({ $0.occurrence(key, now: DispatchTime.now().uptimeNanoseconds) }) else { return }
        let since = times > 1 ? " (\(times) times since the last of these lines)" : ""
        let find = "ss -tn state established '( sport = :\(port) )'"
        switch (reached, listener) {
        case let (.listener(limit), "admin"):
            logger.warn("the admin listener holds all of its \(limit) connections\(since): /healthz, /readyz and /metrics wait unanswered "
                        + "until one closes, so probes fail. Its limit is fixed; find who holds them (\(find)) and let only the operator's tools reach it. "
                        + "At most one such line a minute", [("listener", listener), ("limit", String(limit))])
        case let (.listener(limit), _):
            logger.warn("the \(listener) listener holds all of its \(limit) connections\(since): new clients, providers' webhooks "
                        + "included, wait unanswered until one closes. Find who holds them (\(find)): if a few "
                        + "addresses hold most and no reverse proxy is in front, set limits.maxConnectionsPerAddress; if it is real traffic, raise "
                        + "limits.maxConnections. At most one such line a minute", [("listener", listener), ("limit", String(limit))])
        case let (.perAddress(limit), _):
            logger.warn("a client address holds limits.maxConnectionsPerAddress (\(limit)) connections on the \(listener) listener: "
                        + "its further ones are closed as they open\(since). Behind a reverse proxy every client shares the proxy's "
                        + "address: set the cap to 0 there. At most one such line a minute", [("listener", listener), ("limit", String(limit))])
        }
    }
}
