import Foundation
import LayeronCore

/// Why a plugin file was refused. Each message names the file and what to fix.
public enum PluginLoadError: Error, CustomStringConvertible, Sendable {
    /// `errorNumber` is the `errno` of the call that failed, when one did (not for a private
    /// folder that is not the process's own).
    case copyFailed(file: String, reason: String, errorNumber: Int32?)
    /// A symbolic link whose target does not exist (a typo in `ln -sf`, a build folder cleaned).
    case danglingLink(file: String, target: String)
    /// Refused before `dlopen`, which would crash the process on it (`SharedObjectImage`).
    case incompleteImage(file: String, reason: String)
    /// `errorNumber` is the `errno` of the call that failed inside dlopen (an `open` of the copy or
    /// of a library it needs), when its message ends with that reason: out of descriptors, the same
    /// file loads later (`isTemporary`). glibc names no `errno` for a segment it cannot map.
    case dlopenFailed(file: String, reason: String, errorNumber: Int32?)
    case missingEntry(file: String)
    /// No `layeron_plugin_entry`, but `symbol` is that function under a C++ mangled name.
    case cxxEntry(file: String, symbol: String)
    case entryRefused(file: String)
    case abiMismatch(file: String, pluginABI: UInt32)
    /// The entry function returned a pointer the host cannot read: not a descriptor at all.
    case unreadableDescriptor(file: String, address: String)
    /// `plugin` is the name the descriptor declared, when it was read before the fault was found.
    case invalidDescriptor(file: String, plugin: String?, reason: String)
    /// No pipe for `ReadableMemory` (`errorNumber`): the host is out of file descriptors, nothing the plugin did.
    case cannotInspect(file: String, errorNumber: Int32)
    /// `configFile` is the config whose `plugins.config.NAME` the plugin was given, when known:
    /// that entry is usually where the fix goes. `configAbsent` when there is no such entry (or, for `check`, one that is not an object) and
    /// `init` was given `{}`, so the user does not go looking for a key that is not there.
    /// `version` (here and in `nameTaken`) is the one the descriptor declared: it tells which build was refused.
    case initFailed(file: String, plugin: String, version: String, message: String, configFile: String?, configAbsent: Bool)
    case nameTaken(file: String, plugin: String, version: String, heldBy: String)
    /// A process stopped while this unchanged file's code ran during its load (`PluginLoadRecord`):
    /// it crashed there, was killed, or its stop gave up waiting for that code (`load.abandonedAt`).
    case stoppedDuringLoad(file: String, load: UnfinishedLoad)
    /// Loaded, but a load of the same file that started later was installed first, or the file was
    /// removed meanwhile (`byRemoval`): this version was built from older content or older config,
    /// and is never installed. Not kept as a refusal.
    case superseded(file: String, plugin: String, version: String, byRemoval: Bool)
    /// The server began to stop before or while this load ran: its `init` did not run, or it returned
    /// after the stop's shutdown pass and the version was shut down at once. `plugin` and `version`
    /// are the descriptor's, when it was read. Not kept as a refusal.
    case stopping(file: String, plugin: String?, version: String?)

    public var description: String {
        switch self {
        case let .copyFailed(file, reason, _): return "\(file): cannot make a private copy to load: \(reason)"
        case let .danglingLink(file, target): return "\(file): is a symbolic link to \(target), which does not exist; point it at the plugin's build (ln -sf BUILD \(file))"
        case let .incompleteImage(file, reason): return "\(file): not loaded: \(reason)"
        case let .dlopenFailed(file, reason, _) where isTemporary: return "\(file): cannot be loaded for now (dlopen of its private copy): \(reason)"
        case let .dlopenFailed(file, reason, _): return "\(file): not a loadable shared library: \(reason)"
        case let .missingEntry(file): return "\(file): does not export layeron_plugin_entry (build it against layeron/plugin.h)"
        case let .cxxEntry(file, symbol): return "\(file): exports the C++ name \(symbol), not layeron_plugin_entry; declare it extern \"C\" (include layeron/plugin.h, which declares it)"
        case let .entryRefused(file): return "\(file): layeron_plugin_entry returned NULL: the plugin refused this host's ABI version \(hostABIVersion)"
        case let .abiMismatch(file, abi) where abi == 0:
            return "\(file): abi_version is 0: set it to LAYERON_PLUGIN_ABI_VERSION (this host speaks version \(hostABIVersion))"
        case let .abiMismatch(file, abi): return "\(file): built for plugin ABI version \(abi), this host speaks version \(hostABIVersion)"
        case let .unreadableDescriptor(file, address):
            return "\(file): layeron_plugin_entry returned \(address), which is not readable memory (return the address of a descriptor that lives as long as the library)"
        case let .invalidDescriptor(file, _, reason): return "\(file): invalid plugin descriptor: \(reason)"
        case let .cannotInspect(file, errorNumber): return "\(file): cannot read its descriptor safely: no pipe: \(String(cString: strerror(errorNumber)))"
        case let .initFailed(file, plugin, _, message, configFile, configAbsent):
            let key = "plugins.config.\(plugin)"
            let place = configFile.map { "\(key) in \($0)" } ?? key
            return "\(file): plugin \(plugin) failed to initialise: \(message); "
                + (configAbsent ? "its config would be \(place), which is absent or not an object, so init got {}" : "its config is \(place)")
        case let .nameTaken(file, plugin, _, heldBy): return "\(file): plugin name \"\(plugin)\" is already held by \(heldBy)"
        case let .stoppedDuringLoad(file, load):
            let when = ISO8601DateFormatter().string(from: load.startedAt)
            if let abandonedAt = load.abandonedAt {
                let milliseconds = Int64(max(0, abandonedAt.timeIntervalSince(load.startedAt)) * 1000)
                let ran = milliseconds < 1000 ? TimeSpan(milliseconds: milliseconds) : .seconds((milliseconds + 500) / 1000)
                return "\(file): the last stop of \(load.loader) gave up waiting for \(load.stage.code(ofPlugin: load.plugin)) "
                    + "after its load had run \(ran) (pid \(load.pid), started \(when)); refused until the file changes, "
                    + "since it may hang again (fix it, or touch the file to try this build again)"
            }
            return "\(file): \(load.loader) stopped while \(load.stage.phrase) (pid \(load.pid), \(when)); "
                + "refused until the file changes, since loading it again would stop this process too "
                + "(replace it with a fixed build, or touch it to try this one again)"
        case let .superseded(file, plugin, version, byRemoval):
            return "\(file): plugin \(plugin) \(version) was not installed: "
                + (byRemoval ? "the file was removed while it loaded" : "a newer load of this file started while it loaded")
        case let .stopping(file, plugin?, version?):
            return "\(file): plugin \(plugin) \(version) was not installed: the server began to stop while it loaded"
        case let .stopping(file, _, _): return "\(file): not loaded: the server is stopping"
        }
    }

    public var file: String {
        switch self {
        case let .copyFailed(file, _, _), let .danglingLink(file, _), let .incompleteImage(file, _), let .dlopenFailed(file, _, _), let .missingEntry(file), let .cxxEntry(file, _), let .entryRefused(file),
             let .abiMismatch(file, _), let .unreadableDescriptor(file, _), let .invalidDescriptor(file, _, _), let .cannotInspect(file, _), let .initFailed(file, _, _, _, _, _),
             let .nameTaken(file, _, _, _), let .stoppedDuringLoad(file, _), let .superseded(file, _, _, _), let .stopping(file, _, _):
            return file
        }
    }

    /// True when the refusal came from a shortage of the host's that passes by itself (descriptors,
    /// memory, disk space or quota): the same file may load a little later, unchanged.
    public var isTemporary: Bool {
        let code: Int32?
        switch self {
        case let .copyFailed(_, _, errorNumber): code = errorNumber
        case let .cannotInspect(_, errorNumber): code = errorNumber
        case let .dlopenFailed(_, _, errorNumber): code = errorNumber
        default: code = nil
        }
        return code.map { [EMFILE, ENFILE, ENOSPC, EDQUOT, ENOMEM].contains($0) } ?? false
    }

    /// The `errno` behind a failed `dlopen` whose message is `reason`: `errno` as dlopen left it
    /// (`code`), when `reason` ends with its text, which glibc appends to the message of a failed
    /// system call; nil for a file the loader refused on its own account (not ELF, a missing symbol).
    static func dlopenErrorNumber(_ code: Int32, reason: String) -> Int32? {
        code != 0 && reason.hasSuffix(": " + String(cString: strerror(code))) ? code : nil
    }

    /// The plugin name the file declared, when the load got that far: `plugins list` shows what is
    /// known of a refused file.
    public var pluginName: String? {
        switch self {
        case let .invalidDescriptor(_, plugin, _): return plugin
        case let .initFailed(_, plugin, _, _, _, _), let .nameTaken(_, plugin, _, _), let .superseded(_, plugin, _, _): return plugin
        case let .stopping(_, plugin, _): return plugin
        case let .stoppedDuringLoad(_, load): return load.plugin
        default: return nil
        }
    }

    /// The version the file's descriptor declared, when the refusal came after the whole descriptor
    /// was read: `plugins list` tells the refused build from the one that serves.
    public var pluginVersion: String? {
        switch self {
        case let .initFailed(_, _, version, _, _, _), let .nameTaken(_, _, version, _), let .superseded(_, _, version, _): return version
        case let .stopping(_, _, version): return version
        default: return nil
        }
    }

    /// The ABI version the file's descriptor declared, when it was read.
    public var pluginABIVersion: UInt32? {
        switch self {
        case let .abiMismatch(_, abi): return abi
        case .invalidDescriptor, .initFailed, .nameTaken, .superseded, .stopping(_, _?, _): return hostABIVersion
        case let .stoppedDuringLoad(_, load) where load.stage == .`init`: return hostABIVersion
        default: return nil
        }
    }
}
