import Foundation
import LayeronCore

/// The removals of one batch of changes to the plugins folder, each applied as soon as no load of
/// the same batch may take its plugin over. A file renamed within the folder is reported as a
/// removal and a load at once, and the new name must take the plugin over before the old one is
/// retired, or its handlers would be missing in between (`PluginRegistry.load` hands the name
/// over). Any other removal must not wait for the batch's loads: one of them may be an `init` that
/// never returns, and the removed plugin would serve on meanwhile. A load's plugin name is known
/// once its descriptor is read, before its `init` runs.
final class BatchRemovals: @unchecked Sendable {
    /// Guards `unnamed` and `named`; broadcast at each change.
    private let condition = MonotonicCondition()
    /// The batch's loads whose descriptor has not been read yet: each may declare any name.
    private var unnamed: Set<String>
    /// The plugin name each of the batch's loads still running declared.
    private var named: [String: String] = [:]

    init(loads: [String]) {
        unnamed = Set(loads)
    }

    /// The load of `file` read its descriptor, which declares `name`.
    func load(of file: String, declared name: String) {
        condition.lock()
        unnamed.remove(file)
        named[file] = name
        condition.broadcast()
        condition.unlock()
    }

    /// The load of `file` ended, installed or refused.
    func loadEnded(of file: String) {
        condition.lock()
        unnamed.remove(file)
        named[file] = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Runs `retire` for each of `removals` (a removed file and the plugin names its versions serve
    /// under) once no load of the batch still running may take one of those names over: at once for
    /// most, after the load that takes it over for a renamed file. Those ready together go in order.
    func apply(_ removals: [(file: String, names: Set<String>)], retire: (String) -> Void) {
        var left = removals
        while !left.isEmpty {
            condition.lock()
            var ready = left.filter(isFreeLocked)
            while ready.isEmpty {
                condition.wait()
                ready = left.filter(isFreeLocked)
            }
            condition.unlock()
            left.removeAll { removal in ready.contains { $0.file == removal.file } }
            for removal in ready { retire(removal.file) }
        }
    }

    private func isFreeLocked(_ removal: (file: String, names: Set<String>)) -> Bool {
        removal.names.isEmpty || (unnamed.isEmpty && !named.values.contains(where: removal.names.contains))
    }
}
