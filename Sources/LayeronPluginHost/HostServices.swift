import CLayeronPlugin
import LayeronCore

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
    /// The plugin's id for result slots, once its name is known (`LateResultCalls.register`).
    var resultSlotPlugin: UInt32?
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
    /// No buffer is this long: user space on 64-bit Linux spans 2^47 bytes (2^56 where 5-level
    /// paging is asked for), so a longer `len` is a plugin bug (an unset field, -1 made unsigned).
    /// It is rejected before the host reads a byte; `Int(len)` would trap from 2^63 up.
    static let lengthLimit: UInt64 = 1 << 48

    /// The bytes as UTF-8 text (invalid sequences replaced); nil when `len` is not a buffer's length.
    var text: String? {
        guard len < Self.lengthLimit else { return nil }
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: Int(len)), as: UTF8.self)
    }

    /// The text of at most `limit` bytes, cut before a character that would straddle the limit and
    /// marked with the whole length; only the kept bytes are read. Nil as for `text`.
    func text(limit: Int) -> String? {
        guard len > UInt64(limit), len < Self.lengthLimit, let ptr else { return text }
        var end = limit
        // A UTF-8 character is at most 4 bytes: back off over up to 3 continuation bytes.
        while end > limit - 3, ptr[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: UnsafeBufferPointer(start: ptr, count: end), as: UTF8.self) + "… (truncated: \(len) bytes in all)"
    }

    /// A copy of the bytes; nil when `len` is not a buffer's length.
    var bytes: [UInt8]? {
        guard len < Self.lengthLimit else { return nil }
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
            // Cut as a result message is: one log line, whatever the plugin passes.
            guard let text = message.text(limit: ResultSlot.messageLimit) else {
                return context.logger.warn("log refused: message length \(message.len) is not a buffer's length",
                                           [("plugin", context.pluginName)])
            }
            // A line from inside a handler call names its event, as the host's own lines about it do.
            if let id = context.resultSlotPlugin.flatMap(ResultSlots.currentEvent(of:)) {
                context.logger.log(mapped, text, [("plugin", context.pluginName), ("event", id)])
            } else {
                context.logger.log(mapped, text, [("plugin", context.pluginName)])
            }
        }
        // The result_* functions ignore a length that is not a buffer's: they have no status to
        // return. Each first checks that its slot is open for the calling thread (`ResultSlot`).
        table.pointee.result_set_message = { result, message in
            guard let slot = ResultSlots.checked(result, "result_set_message"),
                  let text = message.text(limit: ResultSlot.messageLimit) else { return }
            slot.message = text
        }
        table.pointee.result_set_retry_after_ms = { result, delay in
            ResultSlots.checked(result, "result_set_retry_after_ms")?.retryAfterMilliseconds = delay
        }
        table.pointee.result_set_http_status = { result, status in
            ResultSlots.checked(result, "result_set_http_status")?.httpStatus = status
        }
        table.pointee.result_add_http_header = { result, name, value in
            ResultSlots.checked(result, "result_add_http_header")?.addHTTPHeader(name: name, value: value)
        }
        table.pointee.result_set_http_body = { result, body in
            ResultSlots.checked(result, "result_set_http_body")?.setHTTPBody(body)
        }
        table.pointee.emit = { host, destination, type, payload, key in
            guard let context = HostServices.context(host) else { return LAYERON_UNSUPPORTED }
            // The name is known once the entry function has returned its descriptor: before that,
            // the host has not accepted the plugin, and plugin.h allows the entry function `log` only.
            guard context.resultSlotPlugin != nil else {
                context.logger.warn("emit refused: called from the entry function, which may call log only; emit from init or later",
                                    [("plugin", context.pluginName)])
                return LAYERON_INVALID
            }
            guard let destinationBytes = destination.bytes, let typeBytes = type.bytes, let payloadBytes = payload.bytes,
                  let keyBytes = key.bytes else {
                let lengths = [destination.len, type.len, payload.len, key.len].map(String.init).joined(separator: ", ")
                context.logger.warn("emit refused: an argument's length is not a buffer's length (destination, type, payload, key: \(lengths))",
                                    [("plugin", context.pluginName)])
                return LAYERON_INVALID
            }
            // Validated, not decoded with replacement: keys differing only in invalid bytes would
            // become one key, and the second event would be dropped as a duplicate of the first.
            func refusedAsText(_ field: String) -> layeron_status {
                context.logger.warn("emit refused: the \(field) is not valid UTF-8", [("plugin", context.pluginName)])
                return LAYERON_INVALID
            }
            guard let destinationName = String(validating: destinationBytes, as: UTF8.self) else { return refusedAsText("destination") }
            guard let typeName = String(validating: typeBytes, as: UTF8.self) else { return refusedAsText("type") }
            guard let keyText = String(validating: keyBytes, as: UTF8.self) else { return refusedAsText("idempotency key") }
            guard let emitter = context.emitter else { return LAYERON_UNSUPPORTED }
            switch emitter.emit(destination: destinationName, type: typeName, payload: payloadBytes,
                                idempotencyKey: keyText.isEmpty ? nil : keyText) {
            case .emitted: return LAYERON_OK
            case let .invalid(reason):
                context.logger.warn("emit refused: \(reason)", [("plugin", context.pluginName)])
                return LAYERON_INVALID
            case .unsupported:
                context.logger.warn("emit refused: this server has no outbound delivery configured (config \"outbound\" lists no destination)",
                                    [("plugin", context.pluginName)])
                return LAYERON_UNSUPPORTED
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
