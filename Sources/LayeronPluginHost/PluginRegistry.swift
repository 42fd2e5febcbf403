import Foundation
import LayeronCore

/// What `GET /admin/plugins` and `layeron plugins list` show for one plugin file.
public struct PluginStatus: Sendable {
    public enum State: String, Sendable { case active, failed }
    public var name: String?
    public var version: String?
    public var file: String
    public var state: State
    public var abiVersion: UInt32?
    /// Whether it declared LAYERON_PLUGIN_CONCURRENT (else it takes one call at a time); nil when refused.
    public var concurrent: Bool?
    public var handlers: [String]
    /// When this version was loaded; for a refused file, when it was refused (its latest try).
    public var loadedAt: Date?
    public var error: String?
}

/// The live version of every plugin. Calls take a lease on the version they start with; a swap
/// installs the new version at once and shuts the old one down when its last lease ends, so a reload
/// never cuts a running call short and never makes a caller wait.
public final class PluginRegistry: @unchecked Sendable {
    private final class Version {
        let plugin: LoadedPlugin
        /// The build of the file it was loaded from, as it was when its load started (`reconcile`).
        let build: FileIdentity?
        // Guarded by the registry's `lock`; no runtime exclusivity check on each call's lease (item 52).
        @exclusivity(unchecked) var leases = 0
        @exclusivity(unchecked) var retired = false
        init(_ plugin: LoadedPlugin, build: FileIdentity?) {
            self.plugin = plugin
            self.build = build
        }
    }

    /// One load under way: the build it copies, and how far it got.
    private struct RunningLoad {
        /// Where a load is, for the slow-init warning and the stop's log: a load stays under way
        /// after its `init` returned while it shuts down the version it replaced, loads the files that
        /// waited for its name (`retryRefused`) or starts again for a changed config, and a slow
        /// load nested in those is not its `init`.
        enum Stage {
            /// Copying the file, or in the library's constructors or its entry function.
            case opening
            /// In the `init` of the plugin its descriptor declared.
            case initialising(plugin: String)
            /// Past the plugin's `init` (or refused before it).
            case finishing(plugin: String?)
        }

        let build: FileIdentity?
        /// A load of the server's start (`loadAtStart`): the server listens only once it ends.
        let holdsUpStart: Bool
        var stage = Stage.opening

        var plugin: String? {
            switch stage {
            case .opening: nil
            case let .initialising(plugin): plugin
            case let .finishing(plugin): plugin
            }
        }

        var isInInit: Bool {
            if case .initialising = stage { true } else { false }
        }
    }

    /// Guards `active`, `failures`, `lastChange`, `newestLoad`, `running`, `changeCount`, `shutDown`, `loaded` and the lease counts of every `Version`.
    private let lock = NSLock()
    /// Broadcast, under itself, each time a load ends (after `running` is updated under `lock`):
    /// `shutdownAll` waits on it for the loads still under way.
    private let loadEnded = MonotonicCondition()
    private var active: [String: Version] = [:]
    private var failures: [String: (error: PluginLoadError, at: Date, change: UInt64, build: FileIdentity?)] = [:]
    /// Each load and each removal of a file takes the next number when it starts. Loads of one file
    /// can overlap (each of the folder watcher's loads and a config reload run on threads of their
    /// own, and an `init` may take seconds), so the one that finishes last is not always the newest:
    /// `lastChange` keeps, per file, the number of the newest install or removal, and an older
    /// outcome is dropped rather than put over it.
    private var changeCount: UInt64 = 0
    private var lastChange: [String: (number: UInt64, removal: Bool)] = [:]
    /// Per file, the number of the newest load started. A load that finishes after a newer one of
    /// its file started is not installed: it holds older content or older config, and installing it
    /// would put an outdated build in service until the newer one's `init` returns.
    private var newestLoad: [String: UInt64] = [:]
    /// The loads running now, per file, by number. `reconcile` leaves a file alone while a load of
    /// the build it holds runs, which would otherwise run its `init` twice; `shutdownAll` waits for them.
    private var running: [String: [UInt64: RunningLoad]] = [:]
    /// Set by `shutdownAll`: a retry due after it (`retryLater`) loads nothing, a load that has not
    /// reached `init` yet stops there, and one whose `init` returns after it is shut down at once
    /// instead of installed, since the shutdown pass that would have called its `shutdown` is over.
    private var shutDown = false
    /// Told of each new live version (`afterEachLoad`).
    private var loaded: (@Sendable (_ plugin: String) -> Void)?

    private let privateDirectory: String
    private let logger: Logger
    private let pluginLogger: Logger?
    private let emitter: (any OutboundEmitter)?
    private let config: @Sendable (_ pluginName: String) -> JSONValue?
    private let configFile: String?
    private let loadRecord: PluginLoadRecord?
    /// How long after a refusal for a temporary reason (`PluginLoadError.isTemporary`) the file is
    /// loaded again, and how many times in a row.
    private let temporaryRetry: (after: TimeSpan, times: Int)
    /// How long a plugin's `init` may run before the log says which one is still in it; a thread
    /// inside a plugin's code cannot be stopped, so the line is all an operator gets to go on.
    private let slowInitWarning: TimeSpan
    /// How long `shutdownAll` waits for the loads under way to end, unless given a deadline.
    private let stopWait: TimeSpan
    /// `stopWait` unless told otherwise: how long a stop waits for plugins' code, loads and the
    /// reloads that wait for them alike.
    public static let defaultStopWait = TimeSpan.seconds(10)

    /// `config` gives a plugin's `plugins.config` entry by the name it declares; it is asked at each
    /// load, so a reloaded config reaches the next plugin version. `configFile` is named in `init`
    /// refusals. `loadRecord` keeps a file whose load crashed the process from crashing the next
    /// start (`PluginLoadRecord`); without it every load is tried. `pluginLogger`, when given, takes
    /// what the plugins themselves say (`LoadedPlugin.load`) apart from the registry's own lines.
    /// A file refused for a temporary reason (the process out of descriptors, a full temporary
    /// folder) is loaded again `temporaryRetry.after` later, up to `temporaryRetry.times` times
    /// while it stays unchanged: nobody touches a file to retry a load that failed for no fault of its own.
    /// An `init` still running `slowInitWarning` after it started is named in a warning; `shutdownAll`
    /// waits up to `stopWait` for the loads under way.
    public init(privateDirectory: String, logger: Logger, pluginLogger: Logger? = nil, emitter: (any OutboundEmitter)? = nil,
                configFile: String? = nil, loadRecord: PluginLoadRecord? = nil,
                temporaryRetry: (after: TimeSpan, times: Int) = (.seconds(5), 12),
                slowInitWarning: TimeSpan = .seconds(10), stopWait: TimeSpan = defaultStopWait,
                config: @escaping @Sendable (_ pluginName: String) -> JSONValue?) {
        self.temporaryRetry = temporaryRetry
        self.slowInitWarning = slowInitWarning
        self.stopWait = stopWait
        self.privateDirectory = privateDirectory
        self.logger = logger
        self.pluginLogger = pluginLogger
        self.emitter = emitter
        self.configFile = configFile
        self.loadRecord = loadRecord
        self.config = config
    }

    /// Loads every `.so` in `directory`; failures are recorded, not thrown.
    public func loadDirectory(_ directory: String) {
        for file in Self.pluginFiles(in: directory) { load(file: file) }
    }

    /// Loads `files` as the server starts, one after another in their order on a load thread
    /// (`plugin-load`), then calls `afterAll` there (at once on the calling thread with none). The
    /// thread that starts the server only waits meanwhile, so that a stop can end that wait (an
    /// `init` may never return) and the signals it takes land there rather than inside an `init`,
    /// where they would cut its sleeps and waits short. One after another, as before: the first
    /// file by name holds a plugin name two files declare, and the other is refused before its
    /// `init` runs. An `init` still running `slowInitWarning` after it started is named as holding
    /// the start up. When the system refuses the thread, the loads run on the calling thread, and
    /// the log says so.
    public func loadAtStart(_ files: [String], afterAll: @escaping @Sendable () -> Void) {
        guard !files.isEmpty else { return afterAll() }
        let loads: @Sendable () -> Void = { [self] in
            for file in files { _ = load(file: file, temporaryRetries: 0, holdsUpStart: true) }
            afterAll()
        }
        do {
            try NamedThread.start("plugin-load", loads)
        } catch {
            logger.warn("\(error); loading the plugins on the thread that starts the server, which cannot take a stop until their init returns")
            loads()
        }
    }

    /// Brings the registry in line with `directory` when changes may have been missed (made while
    /// the server started, a replaced or re-pointed folder, an overflow of inotify's queue, SIGHUP):
    /// files that are new, or whose build differs from the one last loaded or refused
    /// (`FileIdentity`), are loaded, and files that are gone are retired, in that order, as the
    /// watcher does. A version loaded from the file as it is now keeps serving: starting it again
    /// would run its `init` for nothing. `retryingRefused` loads the refused files again too, changed
    /// or not: their refusal may have had a cause outside the file (a library it links to, a service
    /// its `init` reaches) that the operator has since fixed.
    public func reconcile(directory: String, retryingRefused: Bool) {
        let changes = changes(in: directory, retryingRefused: retryingRefused)
        for file in changes.loads { load(file: file) }
        for file in changes.removals { unload(file: file) }
    }

    /// What `reconcile` would do, for a caller that runs the loads on threads of its own
    /// (`PluginFolderWatcher`): the files to load, then the files to retire. A file whose build
    /// as it is now is being loaded already is in neither: that load is its new version.
    public func changes(in directory: String, retryingRefused: Bool) -> (loads: [String], removals: [String]) {
        let present = Self.pluginFiles(in: directory)
        lock.lock()
        var lastBuilds: [String: FileIdentity?] = [:]
        for version in active.values { lastBuilds[version.plugin.file] = version.build }
        // A refusal is newer than the version beside it: a load that installs clears older refusals.
        for (file, failure) in failures { lastBuilds[file] = failure.build }
        let refused = Set(failures.keys)
        let loading = running
        lock.unlock()
        let loads = present.filter { file in
            let build = FileIdentity(of: file)
            if loading[file]?.values.contains(where: { $0.build == build }) ?? false { return false }
            let unchanged = lastBuilds[file].map { $0 == build } ?? false
            return !unchanged || (retryingRefused && refused.contains(file))
        }
        return (loads, Set(lastBuilds.keys).subtracting(present).sorted())
    }

    /// The plugin files in `directory`, in the order they are loaded.
    public static func pluginFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().filter(PluginFolderWatcher.isPluginFile).map { "\(directory)/\($0)" }
            .filter(PluginFolderWatcher.isPluginEntry)
    }

    /// Asked once the descriptor of load `change` of `file` is read, just before its `init`: why it
    /// must not run (the server is stopping, or another file holds the name), else nil. Notes the
    /// plugin's name for `shutdownAll` and sets the warning for an `init` that runs long.
    private func beforeInit(_ name: String, version: String, file: String, change: UInt64) -> PluginLoadError? {
        lock.lock()
        if shutDown {
            lock.unlock()
            return .stopping(file: file, plugin: name, version: version)
        }
        running[file]?[change]?.stage = .initialising(plugin: name)
        let holdsUpStart = running[file]?[change]?.holdsUpStart ?? false
        let refusal = nameTakenLocked(name, version: version, by: file)
        lock.unlock()
        if refusal == nil { warnIfStillInInit(name, version: version, file: file, change: change, holdsUpStart: holdsUpStart) }
        return refusal
    }

    /// Marks load `change` of `file` past the plugin's `init`: what it does from here on is the host's.
    private func leftPluginCode(file: String, change: UInt64) {
        lock.lock()
        if let load = running[file]?[change] { running[file]?[change]?.stage = .finishing(plugin: load.plugin) }
        lock.unlock()
    }

    /// Logs a warning naming the plugin if load `change` of `file` is still in its `init`
    /// `slowInitWarning` from now: a hung `init` keeps its thread for ever, and this is how the
    /// operator learns which plugin holds it. A load of the start (`holdsUpStart`) holds the start
    /// up too: no folder watch runs yet to load a newer build, and the server listens once it ends.
    private func warnIfStillInInit(_ name: String, version: String, file: String, change: UInt64, holdsUpStart: Bool) {
        let after = slowInitWarning
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(after.milliseconds))) { [weak self] in
            guard let self else { return }
            lock.lock()
            let stillRunning = running[file]?[change]?.isInInit == true && !shutDown
            lock.unlock()
            guard stillRunning else { return }
            let consequence = holdsUpStart
                ? "the server starts listening once every plugin present at start has loaded or been refused, so not until it "
                    + "returns (a stop signal still ends the start, waiting \(stopWait) at most for it)"
                : "its load holds a thread until it does (a thread inside a plugin's code cannot be stopped); a newer build "
                    + "dropped in the folder still loads"
            logger.warn("plugin \(name)'s init has run for \(after) and not returned: \(consequence); init must return promptly",
                        [("plugin", name), ("version", version), ("file", file)])
        }
    }

    /// Why `file` cannot have the plugin name `name`: another file that still exists holds it. A
    /// holder whose file is gone was renamed or removed and is about to be retired: the new file
    /// takes the name over as a replacement would, so a rename leaves no gap.
    private func nameTakenLocked(_ name: String, version: String, by file: String) -> PluginLoadError? {
        guard let holder = active[name], holder.plugin.file != file, PluginFolderWatcher.entryExists(holder.plugin.file) else { return nil }
        return .nameTaken(file: file, plugin: name, version: version, heldBy: holder.plugin.file)
    }

    /// Loads `file` and swaps it in for the version of the same plugin it replaces. On failure the
    /// serving version stays and the reason is kept for the admin API.
    @discardableResult
    public func load(file: String) -> Result<LoadedPlugin, PluginLoadError> {
        load(file: file, temporaryRetries: 0)
    }

    /// `load(file:)`, telling `declared` the plugin name the file declares once its descriptor is
    /// read, before its `init` runs (not at all for a load that ends before that): the plugins
    /// folder's removals wait for the loads that may take their plugin over (`BatchRemovals`).
    @discardableResult
    public func load(file: String, declared: (_ pluginName: String) -> Void) -> Result<LoadedPlugin, PluginLoadError> {
        load(file: file, temporaryRetries: 0, declared: declared)
    }

    /// The plugin names the live versions loaded from `file` serve under.
    public func pluginNames(loadedFrom file: String) -> Set<String> {
        lock.lock()
        defer { lock.unlock() }
        return Set(active.filter { $0.value.plugin.file == file }.keys)
    }

    /// `load(file:)`, the `temporaryRetries`th time in a row after refusals for a temporary reason.
    /// `holdsUpStart` for a load of the server's start (`loadAtStart`).
    private func load(file: String, temporaryRetries: Int, holdsUpStart: Bool = false,
                      declared: (_ pluginName: String) -> Void = { _ in }) -> Result<LoadedPlugin, PluginLoadError> {
        // A load asked for after the stop (a reload or a watcher's batch that was under way) would
        // run the plugin's constructors for nothing.
        guard let change = startLoad(of: file) else { return .failure(.stopping(file: file, plugin: nil, version: nil)) }
        // Taken before the file is copied: the copy is of this build or a newer one, never an older.
        let build = FileIdentity(of: file)
        lock.lock()
        running[file, default: [:]][change] = RunningLoad(build: build, holdsUpStart: holdsUpStart)
        lock.unlock()
        defer {
            lock.lock()
            running[file]?[change] = nil
            if running[file]?.isEmpty ?? false { running[file] = nil }
            lock.unlock()
            loadEnded.lock()
            loadEnded.broadcast()
            loadEnded.unlock()
        }
        var given: (plugin: String, config: JSONValue?)?
        let plugin: LoadedPlugin
        do {
            defer { leftPluginCode(file: file, change: change) }
            plugin = try LoadedPlugin.load(file: file, privateDirectory: privateDirectory,
                                           config: { [self] name in
                                               given = (name, config(name))
                                               return given?.config
                                           },
                                           configFile: configFile, refusal: { [self] name, version in
                                               declared(name)
                                               return beforeInit(name, version: version, file: file, change: change)
                                           },
                                           record: loadRecord, logger: logger, pluginLogger: pluginLogger, emitter: emitter)
        } catch {
            if case .stopping = error {
                logger.info("plugin load abandoned: \(error)", [("file", file)])
                return .failure(error)
            }
            // Logged before it is published: whoever sees the failure can also find its log line.
            logger.error("plugin refused: \(error)", [("file", file)])
            lock.lock()
            let outdated = isOutdatedLocked(change, of: file)
            if !outdated { failures[file] = (error, Date(), change, build) }
            lock.unlock()
            if !outdated, case .initFailed = error, let given, configChanged(since: given, loadOf: file, number: change) { return load(file: file) }
            if !outdated, error.isTemporary { retryLater(file: file, change: change, build: build, retries: temporaryRetries) }
            return .failure(error)
        }

        lock.lock()
        // The stop's shutdown pass ran while this `init` did: installed now, this version would
        // never be shut down (whatever its `init` registered or opened would leak).
        if shutDown {
            lock.unlock()
            plugin.shutdown()
            logger.info("plugin load finished after the stop began: shut down instead of installed",
                        [("plugin", plugin.name), ("version", plugin.version), ("file", file)])
            return .failure(.stopping(file: file, plugin: plugin.name, version: plugin.version))
        }
        // A newer load of this file started (or the file was removed) while this one ran the
        // plugin's `init`: this version is older content or older config.
        if isOutdatedLocked(change, of: file) {
            let byRemoval = lastChange[file].map { $0.removal && $0.number > change } ?? false
            lock.unlock()
            plugin.shutdown()
            let why = byRemoval ? "the file was removed while it loaded" : "a newer load of the file started while it loaded, and takes over"
            logger.info("plugin load superseded: \(why)", [("plugin", plugin.name), ("version", plugin.version), ("file", file)])
            return .failure(.superseded(file: file, plugin: plugin.name, version: plugin.version, byRemoval: byRemoval))
        }
        // Checked again here: another file may have taken the name while this one loaded.
        if let error = nameTakenLocked(plugin.name, version: plugin.version, by: file) {
            failures[file] = (error, Date(), change, build)
            lock.unlock()
            plugin.shutdown()
            logger.error("plugin refused: \(error)", [("file", file)])
            return .failure(error)
        }
        let previous = active[plugin.name]
        active[plugin.name] = Version(plugin, build: build)
        lastChange[file] = (change, removal: false)
        // A newer load's refusal stays on record: the serving version is older than what was deployed.
        if let failure = failures[file], failure.change < change { failures[file] = nil }
        // A file that now declares another name gives its old name up.
        let stale = active.filter { $0.value.plugin.file == file && $0.key != plugin.name }
        for (name, _) in stale { active[name] = nil }
        let retiredNow = ([previous].compactMap { $0 } + stale.map(\.value)).filter(retireLocked)
        let loaded = self.loaded
        lock.unlock()
        retiredNow.forEach { $0.plugin.shutdown() }
        logger.info("plugin loaded", [("plugin", plugin.name), ("version", plugin.version), ("file", file)])
        loaded?(plugin.name)
        for name in stale.keys.sorted() { logger.info("plugin retired", [("plugin", name), ("file", file)]) }
        retryRefused(claiming: Set(stale.keys))
        if let given, configChanged(since: given, loadOf: file, number: change) { return load(file: file) }
        return .success(plugin)
    }

    /// Loads `file` again `temporaryRetry.after` from now, unless its refusal (`change`) is no
    /// longer the newest outcome for it or the file changed from `build` meanwhile: a newer load or
    /// removal has then had its say. After `temporaryRetry.times` tries in a row, the file stays
    /// refused until it changes or a SIGHUP rescans the folder.
    private func retryLater(file: String, change: UInt64, build: FileIdentity?, retries: Int) {
        guard retries < temporaryRetry.times else {
            logger.warn("plugin load not tried again: it was refused for a temporary reason \(retries) times in a row; "
                + "touch the file or send SIGHUP once the host has room again", [("file", file)])
            return
        }
        logger.info("plugin load will be tried again in \(temporaryRetry.after): it was refused for a temporary reason "
            + "(try \(retries + 1) of \(temporaryRetry.times))", [("file", file)])
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(temporaryRetry.after.milliseconds))) { [weak self] in
            guard let self else { return }
            lock.lock()
            let current = failures[file]?.change == change && !shutDown
            lock.unlock()
            guard current, FileIdentity(of: file) == build else { return }
            _ = load(file: file, temporaryRetries: retries + 1)
        }
    }

    /// True when the plugin's `plugins.config` entry is no longer the one its `init` was given. A
    /// config reload starts new versions of the plugins it finds loaded or refused (`reload(named:)`);
    /// a load still running then (a new file landing in the same deploy as its entry, its `init`
    /// holding the entry from before) is found by neither, so it is started again here, once its
    /// outcome is on record, with the entry as it is now. Unless a newer load of the file has
    /// started: the config reload's own, or a new build's, which reads the entry as it is now.
    private func configChanged(since given: (plugin: String, config: JSONValue?), loadOf file: String, number change: UInt64) -> Bool {
        lock.lock()
        let newerStarted = (newestLoad[file] ?? 0) > change
        lock.unlock()
        guard !newerStarted, config(given.plugin) != given.config else { return false }
        logger.info("plugin config changed while it loaded; starting it again with the new config", [("plugin", given.plugin)])
        return true
    }

    /// Loads the plugins named in `names` again from their files, so that each `init` gets the
    /// config as it is now (its `plugins.config` entry changed): the live versions, and the files
    /// whose `init` refused, since that refusal points the user at this very entry and a fixed entry
    /// must not wait for the file to be touched. As with a new file, a version that refuses to start
    /// is reported and the serving one stays.
    public func reload(named names: Set<String>) {
        lock.lock()
        let live = active.filter { names.contains($0.key) }.map(\.value.plugin.file)
        let refused = failures.compactMap { file, failure -> String? in
            guard case let .initFailed(_, plugin, _, _, _, _) = failure.error, names.contains(plugin) else { return nil }
            return file
        }
        lock.unlock()
        for file in Set(live + refused.filter(PluginFolderWatcher.entryExists)).sorted() { load(file: file) }
    }

    /// Retires the plugin loaded from `file` (the file was removed).
    public func unload(file: String) {
        let change = startChange()
        lock.lock()
        lastChange[file] = (change, removal: true)
        failures[file] = nil
        let gone = active.filter { $0.value.plugin.file == file }
        for (name, _) in gone { active[name] = nil }
        let retiredNow = gone.map(\.value).filter(retireLocked)
        lock.unlock()
        retiredNow.forEach { $0.plugin.shutdown() }
        for (name, _) in gone { logger.info("plugin retired", [("plugin", name), ("file", file)]) }
        retryRefused(claiming: Set(gone.keys))
    }

    private func startChange() -> UInt64 {
        lock.lock()
        defer { lock.unlock() }
        changeCount += 1
        return changeCount
    }

    /// `startChange` for a load of `file`, which becomes the newest load of it; nil once `shutdownAll` ran.
    private func startLoad(of file: String) -> UInt64? {
        lock.lock()
        defer { lock.unlock() }
        guard !shutDown else { return nil }
        changeCount += 1
        newestLoad[file] = changeCount
        return changeCount
    }

    /// True when a newer load of `file` than `change` has started, or a newer removal has been
    /// applied: its outcome is the one that stands, installed or refused, and this one is dropped.
    private func isOutdatedLocked(_ change: UInt64, of file: String) -> Bool {
        (newestLoad[file] ?? 0) > change || (lastChange[file]?.number ?? 0) > change
    }

    /// Loads again the files that were refused only because one of `names` was held, now that
    /// those names are free: the first such file in name order takes the name, and the others are
    /// refused again naming it, so no refusal is left naming a holder that is gone.
    private func retryRefused(claiming names: Set<String>) {
        guard !names.isEmpty else { return }
        lock.lock()
        let waiting = failures.compactMap { file, failure -> String? in
            guard case let .nameTaken(_, plugin, _, _) = failure.error, names.contains(plugin) else { return nil }
            return file
        }
        lock.unlock()
        for file in waiting.sorted() {
            // Removed in the same step as the holder (`rm plugins/*.so`): nothing to retry, and its
            // refusal goes with it (the watcher's removal of it may come after this).
            guard PluginFolderWatcher.entryExists(file) else {
                lock.lock()
                failures[file] = nil
                lock.unlock()
                continue
            }
            load(file: file)
        }
    }

    /// Runs `body` on the live version of `reference`'s plugin, holding it for the duration.
    /// Nil when no live plugin has that handler.
    public func withHandler<T>(_ reference: HandlerReference, _ body: (LoadedPlugin) -> T) -> T? {
        lock.lock()
        guard let version = active[reference.plugin], version.plugin.hasHandler(reference.handler) else {
            lock.unlock()
            return nil
        }
        version.leases += 1
        lock.unlock()
        defer {
            lock.lock()
            version.leases -= 1
            let finished = version.retired && version.leases == 0
            lock.unlock()
            if finished { version.plugin.shutdown() }
        }
        return body(version.plugin)
    }

    /// The loaded version that serves `reference` when it takes one call at a time (it did not
    /// declare LAYERON_PLUGIN_CONCURRENT): each version has a lock of its own, so a new version is
    /// not held up by its predecessor's calls. Nil when it is concurrent or not loaded.
    public func oneAtATimeVersion(_ reference: HandlerReference) -> ObjectIdentifier? {
        oneAtATimeVersion(ofPlugin: reference.plugin)
    }

    /// The loaded version of the plugin named `name` when it takes one call at a time (see
    /// `oneAtATimeVersion(_:)`); nil when it is concurrent or not loaded.
    public func oneAtATimeVersion(ofPlugin name: String) -> ObjectIdentifier? {
        lock.lock()
        defer { lock.unlock() }
        guard let version = active[name], !version.plugin.concurrent else { return nil }
        return ObjectIdentifier(version.plugin)
    }

    /// Calls `body` with a plugin's name after each load that makes a new version of it the live
    /// one, outside the registry's lock: calls waiting for the previous version can move on to it.
    /// One callback; a second call replaces the first.
    public func afterEachLoad(_ body: @escaping @Sendable (_ plugin: String) -> Void) {
        lock.lock()
        loaded = body
        lock.unlock()
    }

    public func isAvailable(_ reference: HandlerReference) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return active[reference.plugin]?.plugin.hasHandler(reference.handler) ?? false
    }

    /// Why `reference` cannot run now; nil when it can. When its plugin is loaded but lacks the
    /// handler, the text lists what the plugin does provide, so that a typo shows at a glance.
    public func whyUnavailable(_ reference: HandlerReference) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let plugin = active[reference.plugin]?.plugin else { return "its plugin \(reference.plugin) is not loaded" }
        guard !plugin.hasHandler(reference.handler) else { return nil }
        let provided = plugin.handlerNames.isEmpty ? "no handler" : plugin.handlerNames.joined(separator: ", ")
        return "plugin \(plugin.name) does not provide it (plugin \(plugin.name) provides: \(provided))"
    }

    /// Every plugin file, live or refused, sorted by file.
    public func statuses() -> [PluginStatus] {
        lock.lock()
        defer { lock.unlock() }
        var out = active.values.map { v in
            PluginStatus(name: v.plugin.name, version: v.plugin.version, file: v.plugin.file, state: .active,
                         abiVersion: v.plugin.abiVersion, concurrent: v.plugin.concurrent, handlers: v.plugin.handlerNames,
                         loadedAt: v.plugin.loadedAt, error: nil)
        }
        for (file, failure) in failures {
            out.append(PluginStatus(name: failure.error.pluginName, version: failure.error.pluginVersion, file: file, state: .failed,
                                    abiVersion: failure.error.pluginABIVersion, concurrent: nil,
                                    handlers: [], loadedAt: failure.at, error: failure.error.description))
        }
        return out.sorted { ($0.file, $0.state.rawValue) < ($1.file, $1.state.rawValue) }
    }

    /// Shuts every version down once its calls end, waits up to `stopWait` for the loads under way
    /// (each one whose `init` returns meanwhile shuts its version down itself, `load`), and removes
    /// the private folder: each copy in it was removed as soon as it was mapped, so it is empty, and
    /// every `check` or `serve` run would otherwise leave one behind in the temporary folder.
    /// A load still under way after the wait is named in the log and left to its thread: a thread
    /// inside a plugin's code cannot be stopped. Its load record says a stop gave up waiting for it
    /// (`PluginLoadRecord.abandon`). Returns the files of those loads. `waitingUntil`, when
    /// given, ends the wait instead of `stopWait`: a stop that waited for a reload already counts that;
    /// one already past still gives a load about to end `WaitBudget.leastWait`.
    @discardableResult
    public func shutdownAll(waitingUntil deadline: DispatchTime? = nil) -> [String] {
        lock.lock()
        let all = Array(active.values)
        active.removeAll()
        shutDown = true
        let retiredNow = all.filter(retireLocked)
        lock.unlock()
        retiredNow.forEach { $0.plugin.shutdown() }
        let deadline = WaitBudget.givingLeastWait(deadline ?? .now() + .milliseconds(Int(stopWait.milliseconds)))
        loadEnded.lock()
        while !loadsUnderWay().isEmpty, DispatchTime.now() < deadline { loadEnded.wait(seconds: deadline.secondsFromNow) }
        let left = loadsUnderWay()
        loadEnded.unlock()
        // The process leaves under these (`_exit`): their markers say so, for the next start's refusal.
        loadRecord?.abandon(files: Set(left.map(\.file)))
        for (file, load) in left {
            let what = switch load.stage {
            case .opening: "it is still loading (copying the file, or in its library's constructors or layeron_plugin_entry)"
            case let .initialising(plugin): "plugin \(plugin)'s init has not returned"
            case .finishing: "its init has returned; it is shutting down the version it replaced, or waiting for a load it started "
                + "(named on a line of its own)"
            }
            logger.warn("stopping without waiting any longer for the load of \(file): \(what) "
                + "(a thread inside a plugin's code cannot be stopped; init must return promptly)",
                        [("file", file)] + (load.plugin.map { [("plugin", $0)] } ?? []))
        }
        rmdir(privateDirectory)
        return left.map(\.file)
    }

    /// The loads running now, by file.
    private func loadsUnderWay() -> [(file: String, load: RunningLoad)] {
        lock.lock()
        defer { lock.unlock() }
        return running.flatMap { file, loads in loads.values.map { (file, $0) } }.sorted { $0.file < $1.file }
    }

    /// Marks a version retired; true when no call holds it, so the caller shuts it down now.
    private func retireLocked(_ version: Version) -> Bool {
        version.retired = true
        return version.leases == 0
    }
}
