import Foundation
import LayeronCore
import LayeronPluginHost

/// The running server's hot reloads: the plugins folder (new versions swap in, removed files retire)
/// and the config file (watched through its folder, so editors that save by renaming a new file over
/// the old one are seen too, and so is a config path that is a link re-pointed beside it, as a Kubernetes
/// ConfigMap does). A folder that cannot be watched is logged and the server runs on; SIGHUP still
/// reloads the config and rescans the plugins folder.
final class ReloadWatchers: Sendable {
    private let pluginFolder: PluginFolderWatcher?
    private let configFolder: FolderWatcher?

    init(pluginsDirectory: String, registry: PluginRegistry, configPath: String, logger: Logger,
         afterPluginChanges: @escaping @Sendable () -> Void, reloadConfig: @escaping @Sendable () -> Void) {
        do {
            pluginFolder = try PluginFolderWatcher(directory: pluginsDirectory, registry: registry, logger: logger,
                                                   afterChanges: afterPluginChanges)
        } catch {
            logger.warn("plugin hot reload is off (SIGHUP still rescans the folder): \(error)")
            pluginFolder = nil
        }
        let configName = (configPath as NSString).lastPathComponent
        let configDirectory = (configPath as NSString).deletingLastPathComponent
        let configFile = ConfigFileIdentity(path: configPath)
        do {
            configFolder = try FolderWatcher(directory: configDirectory.isEmpty ? "." : configDirectory, logger: logger) { changes in
                let fileChanged = configFile.changed()
                if changes.overflowed || changes.names.contains(configName) || fileChanged { reloadConfig() }
            }
        } catch {
            logger.warn("config reload on file change is off (SIGHUP still reloads): \(error)")
            configFolder = nil
        }
    }

    /// The config watch applies a change on its own thread, and a changed `plugins.config` entry
    /// waits there for the plugin's new `init`; so does the plugins folder's watch for a load it runs
    /// on its own thread (one refused a thread of its own, `PluginLoadThreads`): a stop waits for
    /// them only until `deadline`, since an `init` may never return.
    func stop(waitingUntil deadline: DispatchTime) {
        pluginFolder?.stop(waitingUntil: deadline)
        configFolder?.stop(waitingUntil: deadline)
    }
}
