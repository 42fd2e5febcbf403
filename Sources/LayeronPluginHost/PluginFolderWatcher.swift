import Foundation
import LayeronCore

/// Hot reload of the plugins folder: every `.so` that lands (written and closed, or renamed in) is
/// loaded from a private copy and swapped in; every `.so` that goes away is retired. Names starting
/// with a dot are skipped, so `cp x .billing.so.tmp && mv .billing.so.tmp billing.so` loads once.
public final class PluginFolderWatcher: Sendable {
    private let watcher: FolderWatcher

    /// `afterChanges` runs after each batch of changes to plugin files is applied (not for other
    /// files in the folder, such as an editor's): a new build may lack a handler the config routes
    /// to, and the server says so as it does at start and on a config reload.
    public init(directory: String, registry: PluginRegistry, logger: Logger,
                debounceMilliseconds: UInt64 = 100, afterChanges: @escaping @Sendable () -> Void = {}) throws(FolderWatchError) {
        watcher = try FolderWatcher(directory: directory, debounceMilliseconds: debounceMilliseconds, logger: logger) { changes in
            let apply = { (loads: [String], removals: [String]) in
                Self.apply(loads: loads, removals: removals, registry: registry, logger: logger, afterChanges: afterChanges)
            }
            if changes.overflowed {
                // A rescan loses nothing: after a replaced or re-pointed folder (the watcher's line before
                // says so) or an overflow of inotify's queue (changes came faster than it kept them).
                logger.info("rescanning the plugins folder \(directory): it was replaced or re-pointed, or changes came faster than inotify could queue them")
                let rescan = registry.changes(in: directory, retryingRefused: true)
                return apply(rescan.loads, rescan.removals)
            }
            // A rename within the folder reports both names at once, and the new name must take the
            // plugin over from the old one before the old one is retired, or the handler would be
            // missing in between (PluginRegistry.load hands the name over). So a removal waits for
            // the loads of its batch that may take its plugin over, and only for those (`BatchRemovals`).
            let files = changes.names.sorted().filter(Self.isPluginFile).map { "\(directory)/\($0)" }
            guard !files.isEmpty else { return }
            apply(files.filter(Self.isPluginEntry), files.filter { !Self.isPluginEntry($0) })
        }
    }

    /// Each load runs on a thread of its own (`PluginLoadThreads`), so that a slow `init` holds up no
    /// other file's new build and no removal; the registry's numbering keeps a load that a newer one
    /// of its file overtook from being installed.
    private static func apply(loads: [String], removals: [String], registry: PluginRegistry, logger: Logger,
                              afterChanges: @escaping @Sendable () -> Void) {
        let batch = BatchRemovals(loads: loads)
        let removed = removals.map { (file: $0, names: registry.pluginNames(loadedFrom: $0)) }
        // Removed again only if still gone: a later batch may have landed a new build by now.
        let retire: (@Sendable () -> Void)? = removed.isEmpty ? nil : { @Sendable in
            batch.apply(removed) { file in if !entryExists(file) { registry.unload(file: file) } }
        }
        PluginLoadThreads.run(loads, logger: logger, load: { file in
            registry.load(file: file, declared: { batch.load(of: file, declared: $0) })
            batch.loadEnded(of: file)
        }, retire: retire, afterAll: afterChanges)
    }

    /// Stops watching. A load runs on the watcher's own thread when the system refused it a thread
    /// of its own (`PluginLoadThreads`), and its `init` may never return: with `waitingUntil`, the
    /// stop waits for it only until then (`FolderWatcher.stop`); false when it still runs.
    @discardableResult
    public func stop(waitingUntil deadline: DispatchTime? = nil) -> Bool { watcher.stop(waitingUntil: deadline) }

    static func isPluginFile(_ name: String) -> Bool {
        name.hasSuffix(".so") && !name.hasPrefix(".")
    }

    /// What is loaded (or refused with its reason): a regular file, a link to one, or a link whose
    /// target does not exist. The last is refused rather than taken for a removal, so an `ln -sf` with
    /// a typo over a live plugin leaves the serving version in place; only removing the entry
    /// retires it. Anything else (a FIFO, a folder) is not a plugin: copying a FIFO would block.
    static func isPluginEntry(_ path: String) -> Bool {
        isRegularFile(path) || isDanglingLink(path)
    }

    static func isDanglingLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK && stat(path, &info) != 0 && errno == ENOENT
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// True while the folder holds an entry by this name, of any kind (a dangling link included).
    static func entryExists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
