import CLayeronPlugin
import Foundation
import LayeronCore
import Synchronization

let hostABIVersion: UInt32 = LAYERON_PLUGIN_ABI_VERSION

/// An exported symbol a plugin may define (its value is never read) to ask never to be `dlclose`d:
/// runtimes such as Swift's register metadata that cannot be torn down.
let noUnloadSymbol = LAYERON_PLUGIN_NO_UNLOAD_SYMBOL

/// One loaded version of a plugin: the mapped private copy, its descriptor and its instance.
public final class LoadedPlugin: @unchecked Sendable {
    public let name: String
    public let version: String
    public let summary: String
    /// The file in the plugins folder this version was loaded from.
    public let file: String
    public let abiVersion: UInt32
    public let handlerNames: [String]
    public let concurrent: Bool
    public let loadedAt: Date
    /// False for plugins that asked to stay mapped after shutdown.
    public let unloadable: Bool

    private let library: UnsafeMutableRawPointer
    private let table: UnsafeMutablePointer<layeron_host>
    private let instance: UnsafeMutableRawPointer?
    private let handlers: [String: layeron_handle_fn]
    private let shutdownFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
    /// Serialises calls into plugins that did not declare LAYERON_PLUGIN_CONCURRENT.
    private let serialCallLock = NSLock()
    /// The plugin's id in the result slots it is given (`LateResultCalls.register`).
    private let resultSlotPlugin: UInt32
    private let logger: Logger
    /// Set once this version has been reported for setting an HTTP answer it then did not use.
    private let reportedUnusedAnswer = Atomic<Bool>(false)
    /// The parts of an answer (`AnswerPart` bits) this version has been reported for leaving out.
    private let reportedLeftOut = Atomic<UInt8>(0)

    /// Copies `file` to a private path, maps it, checks the ABI and initialises it with
    /// `config(name)`, asked once the descriptor has declared the plugin's name (a file need not be
    /// named after its plugin: cargo builds `libledger.so`). `configFile`, the file that config comes
    /// from, is named when `init` refuses. `refusal(name, version)`, asked at the same point, can refuse the
    /// file before its `init` runs (a name another file holds): nothing the plugin's `init` would do
    /// happens for a version that is then refused. `record`, when given, keeps a marker while the
    /// plugin's code runs and refuses a file whose load a stopped process never finished.
    /// `pluginLogger`, when given, takes the lines the plugin logs through the host table (and the
    /// host's refusals of its `log` and `emit` calls) instead of `logger`.
    public static func load(file: String, privateDirectory: String, config: (_ pluginName: String) -> JSONValue?,
                            configFile: String? = nil, refusal: (_ pluginName: String, _ version: String) -> PluginLoadError? = { _, _ in nil },
                            record: PluginLoadRecord? = nil,
                            logger: Logger, pluginLogger: Logger? = nil, emitter: (any OutboundEmitter)?) throws(PluginLoadError) -> LoadedPlugin {
        let identity = FileIdentity(of: file)
        if let record, let identity, let unfinished = record.unfinishedLoad(of: file, identity: identity) {
            throw .stoppedDuringLoad(file: file, load: unfinished)
        }
        let copy = try PrivateCopy.make(of: file, in: privateDirectory)
        do {
            try SharedObjectImage.check(copy)
        } catch {
            try? FileManager.default.removeItem(atPath: copy)
            throw .incompleteImage(file: file, reason: error.description)
        }
        // From here on the plugin's own code runs (its constructors inside dlopen, then its entry
        // function and init): a crash in any of them must not bring the next start down with it.
        // Logged first, so a crash's last line names the user's file rather than the private copy.
        logger.info("loading plugin", [("file", file)])
        let callerMask = PluginCodeSignals.unblockAll()
        defer { PluginCodeSignals.restore(callerMask) }
        let marker = identity.flatMap { record?.begin(file: file, identity: $0) }
        defer { marker?.finish() }
        guard let library = dlopen(copy, RTLD_NOW | RTLD_LOCAL) else {
            let code = errno
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            try? FileManager.default.removeItem(atPath: copy)
            // dlerror names the private copy; the user knows the file by its own name.
            throw .dlopenFailed(file: file, reason: reason.hasPrefix("\(copy): ") ? String(reason.dropFirst(copy.count + 2))
                                                                                 : reason.replacingOccurrences(of: copy, with: file),
                                errorNumber: PluginLoadError.dlopenErrorNumber(code, reason: reason))
        }
        // The mapping outlives the file; removing the copy leaves nothing behind if we crash.
        try? FileManager.default.removeItem(atPath: copy)
        // Asked before anything runs: a runtime that cannot be unloaded must stay mapped even when
        // the plugin is refused after its entry function ran.
        let unloadable = dlsym(library, noUnloadSymbol) == nil
        var keepMapped = false
        defer { if !keepMapped && unloadable { dlclose(library) } }

        guard let entrySymbol = dlsym(library, LAYERON_PLUGIN_ENTRY_SYMBOL) else {
            // The copy is gone by now; the file it was made from is what its author built.
            throw SharedObjectImage.cxxSymbol(mangling: LAYERON_PLUGIN_ENTRY_SYMBOL, in: file).map { PluginLoadError.cxxEntry(file: file, symbol: $0) } ?? .missingEntry(file: file)
        }
        let entry = unsafeBitCast(entrySymbol, to: layeron_plugin_entry_fn.self)
        let context = HostContext(pluginFile: file, logger: pluginLogger ?? logger, emitter: emitter)
        let table = HostServices.makeTable(context: context)
        var tableOwned = true
        defer { if tableOwned { HostServices.release(table) } }
        guard let memory = ReadableMemory() else { throw .cannotInspect(file: file, errorNumber: errno) }

        marker?.enter(.entry)
        guard let address = entry(hostABIVersion, table) else { throw .entryRefused(file: file) }
        let d = try PluginDescriptor.read(at: UnsafeRawPointer(address), file: file, memory: memory)
        context.pluginName = d.name
        let resultSlotPlugin = LateResultCalls.shared.register(plugin: d.name, logger: logger)
        context.resultSlotPlugin = resultSlotPlugin

        if let refused = refusal(d.name, d.version) { throw refused }
        var instance: UnsafeMutableRawPointer?
        if let initFunction = d.initFunction {
            let pluginConfig = config(d.name)
            let configText = Array((pluginConfig ?? .object([])).serialized().utf8)
            marker?.enter(.`init`, plugin: d.name)
            let (status, message) = ResultSlots.withSlot(for: resultSlotPlugin) { slot in
                let status = configText.withUnsafeBufferPointer { buffer in
                    initFunction(table, layeron_bytes(ptr: buffer.baseAddress, len: UInt64(buffer.count)), slot.handle, &instance)
                }
                return (status, slot.message)
            }
            guard status == LAYERON_OK else {
                throw .initFailed(file: file, plugin: d.name, version: d.version, message: message ?? "init returned \(status)",
                                  configFile: configFile, configAbsent: pluginConfig == nil)
            }
        }

        keepMapped = true
        tableOwned = false
        return LoadedPlugin(
            name: d.name, version: d.version, summary: d.summary,
            file: file, abiVersion: hostABIVersion, handlerNames: d.handlers.map(\.name),
            concurrent: d.concurrent, unloadable: unloadable, resultSlotPlugin: resultSlotPlugin,
            logger: logger, library: library, table: table, instance: instance,
            handlers: Dictionary(uniqueKeysWithValues: d.handlers.map { ($0.name, $0.function) }), shutdownFunction: d.shutdown)
    }

    private init(name: String, version: String, summary: String, file: String, abiVersion: UInt32, handlerNames: [String],
                 concurrent: Bool, unloadable: Bool, resultSlotPlugin: UInt32, logger: Logger, library: UnsafeMutableRawPointer, table: UnsafeMutablePointer<layeron_host>,
                 instance: UnsafeMutableRawPointer?, handlers: [String: layeron_handle_fn],
                 shutdownFunction: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) {
        self.name = name
        self.version = version
        self.summary = summary
        self.file = file
        self.abiVersion = abiVersion
        self.handlerNames = handlerNames
        self.concurrent = concurrent
        self.unloadable = unloadable
        self.resultSlotPlugin = resultSlotPlugin
        self.logger = logger
        self.loadedAt = Date()
        self.library = library
        self.table = table
        self.instance = instance
        self.handlers = handlers
        self.shutdownFunction = shutdownFunction
    }

    public func hasHandler(_ handler: String) -> Bool { handlers[handler] != nil }

    /// Calls `handler` with `event`; nil when this plugin has no such handler.
    public func call(_ handler: String, _ event: HandlerEvent) -> HandlerOutcome? {
        guard let function = handlers[handler] else { return nil }
        if !concurrent { serialCallLock.lock() }
        defer { if !concurrent { serialCallLock.unlock() } }
        return ResultSlots.withSlot(for: resultSlotPlugin) { slot in
            slot.eventID = event.id
            let status = EventMarshalling.withCEvent(event, handler: handler) { cEvent in function(instance, cEvent, slot.handle) }
            let verdict: HandlerVerdict = switch status {
            case LAYERON_OK: .ok
            case LAYERON_RETRY: .retry
            default: .error
            }
            var outcome = HandlerOutcome(verdict: verdict, message: slot.message, plugin: name, pluginVersion: version)
            if status != LAYERON_OK, status != LAYERON_RETRY, status != LAYERON_ERROR {
                let note = "handler returned unknown status \(status)"
                outcome.message = outcome.message.map { "\(note): \($0)" } ?? note
            }
            if status != LAYERON_OK, slot.setAnAnswer { reportUnusedAnswer(handler: handler, status: status) }
            for (part, what) in slot.leftOut { reportLeftOut(handler: handler, part: part, what: what) }
            outcome.retryAfterMilliseconds = slot.retryAfterMilliseconds
            outcome.httpStatus = slot.httpStatus
            outcome.httpHeaders = slot.httpHeaders
            outcome.httpBody = slot.httpBody
            return outcome
        }
    }

    /// The status, headers and body a handler sets answer an after-handler webhook only when it
    /// returns LAYERON_OK; otherwise the server answers with its own retry or error response. A
    /// plugin author who expected their answer to reach the provider learns why it did not, once
    /// per version (a handler that does it does it on every such event).
    private func reportUnusedAnswer(handler: String, status: layeron_status) {
        guard !reportedUnusedAnswer.exchange(true, ordering: .relaxed) else { return }
        let returned = switch status {
        case LAYERON_RETRY: "LAYERON_RETRY"
        case LAYERON_ERROR: "LAYERON_ERROR"
        default: "unknown status \(status)"
        }
        logger.warn("handler \(name).\(handler) set an HTTP answer (status, headers or body) and returned \(returned): "
                    + "that answer is used only when a handler returns LAYERON_OK; an after-handler webhook answers with the server's own "
                    + "retry or error response instead (logged once per plugin version)",
                    [("plugin", name), ("version", version)])
    }

    /// A header or a body the host refused is left out of the answer; the provider still gets the
    /// rest. The author learns what and why, once per version and part (a handler that does it does
    /// it every time).
    private func reportLeftOut(handler: String, part: AnswerPart, what: String) {
        guard reportedLeftOut.bitwiseOr(part.rawValue, ordering: .relaxed).oldValue & part.rawValue == 0 else { return }
        logger.warn("handler \(name).\(handler) \(what) (logged once per plugin version)", [("plugin", name), ("version", version)])
    }

    /// Shuts the instance down and unmaps the library. Only after the last call has returned.
    func shutdown() {
        let callerMask = PluginCodeSignals.unblockAll()
        defer { PluginCodeSignals.restore(callerMask) }
        shutdownFunction?(instance)
        HostServices.release(table)
        if unloadable { dlclose(library) }
    }
}
