import CLayeronPlugin
import LayeronCore

/// What a plugin's result collects while a call runs. C sees it as the opaque `layeron_result`.
final class ResultCollector {
    var message: String?
    var retryAfterMilliseconds: UInt64?
    var httpStatus: UInt32?
    var httpHeaders: [(name: String, value: String)] = []
    var httpBody: [UInt8]?

    /// Runs `body` with this collector passed as a `layeron_result *`; the pointer is valid only inside.
    func withResultPointer<T>(_ body: (OpaquePointer) -> T) -> T {
        let unmanaged = Unmanaged.passUnretained(self)
        return withExtendedLifetime(self) { body(OpaquePointer(unmanaged.toOpaque())) }
    }

    static func from(_ pointer: OpaquePointer?) -> ResultCollector? {
        guard let pointer else { return nil }
        return Unmanaged<ResultCollector>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// Emits an outbound event on a plugin's behalf; the outbound delivery service provides one.
public protocol OutboundEmitter: Sendable {
    func emit(destination: String, type: String, payload: [UInt8], idempotencyKey: String?) -> EmitResult
}

public enum EmitResult: Sendable {
    case emitted
    case invalid(String)
    case unsupported
}

/// Per-plugin context behind `layeron_host.host_data`: whose log lines these are, where they go.
final class HostContext: @unchecked Sendable {
    let pluginFile: String
    var pluginName: String
    let logger: Logger
    let emitter: (any OutboundEmitter)?

    init(pluginFile: String, logger: Logger, emitter: (any OutboundEmitter)?) {
        self.pluginFile = pluginFile
        self.pluginName = pluginFile
        self.logger = logger
        self.emitter = emitter
    }
}

extension layeron_bytes {
    var text: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: Int(len)), as: UTF8.self)
    }

    var bytes: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return [UInt8](UnsafeBufferPointer(start: ptr, count: Int(len)))
    }
}

/// The C function table given to each plugin. Every function copies what it is given.
enum HostServices {
    /// Allocates a host table for one plugin version; freed with `release` after its shutdown.
    static func makeTable(context: HostContext) -> UnsafeMutablePointer<layeron_host> {
        let table = UnsafeMutablePointer<layeron_host>.allocate(capacity: 1)
        table.initialize(to: layeron_host())
        table.pointee.struct_size = UInt32(MemoryLayout<layeron_host>.size)
        table.pointee.abi_version = LAYERON_PLUGIN_ABI_VERSION
        table.pointee.host_data = Unmanaged.passRetained(context).toOpaque()
        table.pointee.log = { host, level, message in
            guard let context = HostServices.context(host) else { return }
            let mapped: LogLevel = switch level {
            case LAYERON_LOG_DEBUG: .debug
            case LAYERON_LOG_WARN: .warn
            case LAYERON_LOG_ERROR: .error
            default: .info
            }
            context.logger.log(mapped, message.text, [("plugin", context.pluginName)])
        }
        table.pointee.result_set_message = { result, message in
            ResultCollector.from(result)?.message = message.text
        }
        table.pointee.result_set_retry_after_ms = { result, delay in
            ResultCollector.from(result)?.retryAfterMilliseconds = delay
        }
        table.pointee.result_set_http_status = { result, status in
            ResultCollector.from(result)?.httpStatus = status
        }
        table.pointee.result_add_http_header = { result, name, value in
            ResultCollector.from(result)?.httpHeaders.append((name.text, value.text))
        }
        table.pointee.result_set_http_body = { result, body in
            ResultCollector.from(result)?.httpBody = body.bytes
        }
        table.pointee.emit = { host, destination, type, payload, key in
            guard let context = HostServices.context(host), let emitter = context.emitter else {
                return LAYERON_UNSUPPORTED
            }
            let idempotencyKey = key.len == 0 ? nil : key.text
            switch emitter.emit(destination: destination.text, type: type.text, payload: payload.bytes,
                                idempotencyKey: idempotencyKey) {
            case .emitted: return LAYERON_OK
            case let .invalid(reason):
                context.logger.warn("emit refused: \(reason)", [("plugin", context.pluginName)])
                return LAYERON_INVALID
            case .unsupported: return LAYERON_UNSUPPORTED
            }
        }
        return table
    }

    static func release(_ table: UnsafeMutablePointer<layeron_host>) {
        if let data = table.pointee.host_data {
            Unmanaged<HostContext>.fromOpaque(data).release()
        }
        table.deinitialize(count: 1)
        table.deallocate()
    }

    static func context(_ host: UnsafePointer<layeron_host>?) -> HostContext? {
        guard let data = host?.pointee.host_data else { return nil }
        return Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue()
    }
}
