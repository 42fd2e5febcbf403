import CLayeronPlugin
import Glibc
import Synchronization

/// Builds the C descriptor for a `LayeronPlugin` type. A plugin's whole export is:
///
/// ```swift
/// @_cdecl("layeron_plugin_entry")
/// public func layeronPluginEntry(_ hostABIVersion: UInt32, _ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
///     PluginEntry.describe(MyPlugin.self, hostABIVersion: hostABIVersion, host: host)
/// }
/// ```
///
/// The raw pointers stand for `const layeron_host *` and `const layeron_plugin_descriptor *`, so the
/// plugin's own module needs no C import.
public enum PluginEntry {
    /// The descriptor for `type`, built once per loaded image and kept for its life (Swift plugins are
    /// never unloaded). Nil, which refuses the host, when the host speaks an older ABI than v1.
    public static func describe<P: LayeronPlugin>(_ type: P.Type, hostABIVersion: UInt32,
                                                  host: UnsafeRawPointer?) -> UnsafeRawPointer? {
        guard hostABIVersion >= LAYERON_PLUGIN_ABI_VERSION else { return nil }
        return registration.withLock { current in
            let made = current ?? Registration(P.self)
            current = made
            return UnsafeRawPointer(made.descriptor)
        }
    }
}

/// The plugin type behind this image's descriptor. C function pointers capture nothing, so the
/// trampolines below find the Swift type here.
private let registration = Mutex<Registration?>(nil)

private final class Registration: @unchecked Sendable {
    /// Never freed: it must outlive every call, and the image is never unloaded.
    let descriptor: UnsafeMutablePointer<layeron_plugin_descriptor>
    let make: @Sendable (PluginHost, PluginConfig) throws -> any LayeronPlugin

    init<P: LayeronPlugin>(_ type: P.Type) {
        make = { host, config in try P(host: host, config: config) }
        let names = P.handlerNames
        let handlers = UnsafeMutablePointer<layeron_handler>.allocate(capacity: max(names.count, 1))
        for (i, name) in names.enumerated() {
            handlers.advanced(by: i).initialize(to: layeron_handler(name: UnsafePointer(strdup(name)), handle: handleTrampoline, reserved: (nil, nil)))
        }
        descriptor = .allocate(capacity: 1)
        descriptor.initialize(to: layeron_plugin_descriptor())
        descriptor.pointee.struct_size = UInt32(MemoryLayout<layeron_plugin_descriptor>.size)
        descriptor.pointee.abi_version = LAYERON_PLUGIN_ABI_VERSION
        descriptor.pointee.name = UnsafePointer(strdup(P.name))
        descriptor.pointee.version = UnsafePointer(strdup(P.version))
        descriptor.pointee.description = UnsafePointer(strdup(P.summary))
        descriptor.pointee.flags = P.concurrent ? LAYERON_PLUGIN_CONCURRENT : 0
        descriptor.pointee.handler_count = UInt32(names.count)
        descriptor.pointee.handlers = UnsafePointer(handlers)
        descriptor.pointee.`init` = initTrampoline
        descriptor.pointee.shutdown = shutdownTrampoline
    }
}

/// What `init` hands back as the C instance: the Swift plugin and its host services.
private final class Instance {
    let plugin: any LayeronPlugin
    let host: PluginHost
    init(plugin: any LayeronPlugin, host: PluginHost) {
        self.plugin = plugin
        self.host = host
    }
}

private let initTrampoline: @convention(c) (UnsafePointer<layeron_host>?, layeron_bytes, OpaquePointer?,
                                            UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> layeron_status = { table, config, errorResult, out in
    guard let table, let out, let made = registration.withLock({ $0 }) else { return LAYERON_ERROR }
    let host = PluginHost(table)
    do {
        let plugin = try made.make(host, PluginConfig(bytes: config.copiedBytes))
        out.pointee = Unmanaged.passRetained(Instance(plugin: plugin, host: host)).toOpaque()
        return LAYERON_OK
    } catch {
        host.fill(errorResult, with: .error(initFailureMessage(error)))
        return LAYERON_ERROR
    }
}

/// What the operator reads when `init` throws. Plugins decode their config with `JSONDecoder`, whose
/// own description is a debug dump of coding keys; its cases are put in the config's terms instead.
private func initFailureMessage(_ error: any Error) -> String {
    guard let decoding = error as? DecodingError else { return String(describing: error) }
    func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
        var keys: [any CodingKey] = context.codingPath
        if let last { keys.append(last) }
        var text = "config"
        for key in keys {
            if let index = key.intValue { text += "[\(index)]" } else { text += "." + key.stringValue }
        }
        return text
    }
    switch decoding {
    case let .keyNotFound(key, context): return "\(path(context, key)) is missing"
    case let .valueNotFound(type, context): return "\(path(context)) is null; expected \(type)"
    case let .typeMismatch(type, context): return "\(path(context)) has the wrong type; expected \(type)"
    case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
    @unknown default: return String(describing: error)
    }
}

private let handleTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<layeron_event>?, OpaquePointer?) -> layeron_status = { raw, event, result in
    guard let raw, let event else { return LAYERON_ERROR }
    let instance = Unmanaged<Instance>.fromOpaque(raw).takeUnretainedValue()
    let swiftEvent = PluginEvent(event)
    let outcome = instance.plugin.handle(swiftEvent.handler, swiftEvent)
    instance.host.fill(result, with: outcome)
    switch outcome.verdict {
    case .ok: return LAYERON_OK
    case .retry: return LAYERON_RETRY
    case .error: return LAYERON_ERROR
    }
}

private let shutdownTrampoline: @convention(c) (UnsafeMutableRawPointer?) -> Void = { raw in
    guard let raw else { return }
    Unmanaged<Instance>.fromOpaque(raw).takeRetainedValue().plugin.shutdown()
}
