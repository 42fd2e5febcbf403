import Foundation
import LayeronCore
import Synchronization

/// Reports `result_*` calls made outside their call (after it returned, or from another thread),
/// which the host ignores (`ResultSlots.checked`). Such a plugin usually does it on every event, so
/// each plugin gets at most one line a minute, which counts the calls ignored since the last one.
final class LateResultCalls: Sendable {
    static let shared = LateResultCalls()

    private struct State {
        /// Every plugin name seen, with where its lines go, by the id `register` gave it (its index
        /// plus one; 0 is none). Names are few and never removed: a late call may come after its
        /// plugin was retired.
        var plugins: [(name: String, logger: Logger)] = []
        var lines = LogRateLimit<UInt32>(intervalNanoseconds: 60_000_000_000)
    }

    private let state = Mutex(State())

    /// The id that result slots of the plugin `name` carry; `logger` is where its ignored calls are
    /// reported (the latest one given for the name).
    func register(plugin name: String, logger: Logger) -> UInt32 {
        state.withLock { state in
            if let i = state.plugins.firstIndex(where: { $0.name == name }) {
                state.plugins[i].logger = logger
                return UInt32(i + 1)
            }
            state.plugins.append((name, logger))
            return UInt32(state.plugins.count)
        }
    }

    /// Counts one ignored call of `function` with a slot of `plugin`, and logs it unless a line
    /// about that plugin was written less than a minute ago.
    func ignored(plugin id: UInt32, function: StaticString) {
        let now = DispatchTime.now().uptimeNanoseconds
        let line: (name: String, logger: Logger, calls: Int)? = state.withLock { state in
            guard id > 0, Int(id) <= state.plugins.count, let calls = state.lines.occurrence(id, now: now) else { return nil }
            let plugin = state.plugins[Int(id) - 1]
            return (plugin.name, plugin.logger, calls)
        }
        guard let line else { return }
        let more = line.calls > 1 ? " (\(line.calls) such calls since the last of these lines)" : ""
        line.logger.warn("plugin \(line.name) called \(function) outside its call (after it returned, or from another thread); ignored\(more). "
                         + "A layeron_result is valid only during the call that received it, on that call's thread: "
                         + "set the result before the handler returns; at most one such line a minute per plugin",
                         [("plugin", line.name)])
    }
}
