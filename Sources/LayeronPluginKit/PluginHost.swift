import CLayeronPlugin

/// The host's services for one loaded version of the plugin: logging into the server's log under the
/// plugin's name, and emitting outbound webhooks. Valid from `init` until `shutdown` returns; safe to
/// use from any thread, including threads the plugin starts.
public final class PluginHost: @unchecked Sendable {
    public enum LogLevel: Int32, Sendable {
        case debug = 0, info = 1, warn = 2, error = 3
    }

    /// What `emit` did.
    public enum EmitStatus: Sendable, Equatable {
        case emitted
        /// Unknown destination or a payload that is not JSON; the server log says which.
        case invalid
        /// This host has no outbound delivery (yet).
        case unsupported
    }

    let table: UnsafePointer<layeron_host>

    init(_ table: UnsafePointer<layeron_host>) { self.table = table }

    public func log(_ level: LogLevel, _ message: String) {
        layeron_bytes.lending(Array(message.utf8)) { table.pointee.log(table, level.rawValue, $0) }
    }

    /// Emits an outbound event, committed before this returns. `payload` is JSON.
    public func emit(destination: String, type: String, payload: [UInt8], idempotencyKey: String = "") -> EmitStatus {
        // A host built against an older header has a shorter table: call only what it covers.
        let emitEnd = MemoryLayout<layeron_host>.offset(of: \layeron_host.emit)! + MemoryLayout<UnsafeRawPointer>.size
        guard Int(table.pointee.struct_size) >= emitEnd, let emit = table.pointee.emit else { return .unsupported }
        let status = layeron_bytes.lending(Array(destination.utf8)) { d in
            layeron_bytes.lending(Array(type.utf8)) { t in
                layeron_bytes.lending(payload) { p in
                    layeron_bytes.lending(Array(idempotencyKey.utf8)) { k in emit(table, d, t, p, k) }
                }
            }
        }
        switch status {
        case LAYERON_OK: return .emitted
        case LAYERON_INVALID: return .invalid
        default: return .unsupported
        }
    }

    /// Writes `result` into the host's opaque result through the result_* services.
    func fill(_ handle: OpaquePointer?, with result: HandlerResult) {
        let t = table.pointee
        if let message = result.message {
            layeron_bytes.lending(Array(message.utf8)) { t.result_set_message(handle, $0) }
        }
        if case let .retry(delay?) = result.verdict { t.result_set_retry_after_ms(handle, delay) }
        if let response = result.response {
            t.result_set_http_status(handle, response.status)
            for header in response.headers {
                layeron_bytes.lending(Array(header.name.utf8)) { name in
                    layeron_bytes.lending(Array(header.value.utf8)) { value in t.result_add_http_header(handle, name, value) }
                }
            }
            layeron_bytes.lending(response.body) { t.result_set_http_body(handle, $0) }
        }
    }
}
