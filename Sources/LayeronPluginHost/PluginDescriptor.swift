import CLayeronPlugin
import LayeronCore

/// A plugin's descriptor as the host keeps it: every field copied out through `ReadableMemory` and
/// checked against plugin.h, so that a wrong count or a wild pointer is a refusal instead of a
/// crash. Only the function pointers are the plugin's to get right; calling them is calling the
/// plugin. Descriptors may live on the heap (the Swift kit and Rust build them at run time), so
/// pointers are not required to lie inside the plugin's image, only to be readable.
struct PluginDescriptor {
    struct Handler {
        let name: String
        let function: layeron_handle_fn
    }

    let name: String
    let version: String
    let summary: String
    let concurrent: Bool
    let handlers: [Handler]
    /// The copied descriptor, for its function pointers; its other pointers are not followed again.
    private let copy: layeron_plugin_descriptor
    var initFunction: (@convention(c) (UnsafePointer<layeron_host>?, layeron_bytes, OpaquePointer?,
                                       UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> layeron_status)? { copy.`init` }
    var shutdown: (@convention(c) (UnsafeMutableRawPointer?) -> Void)? { copy.shutdown }

    /// Longest name the host reads before deciding a string has no NUL: names are identifiers.
    private static let maxNameBytes = 256
    /// Longest version or description the host reads.
    private static let maxTextBytes = 4096

    /// Reads the descriptor at `address` for `file`. Only the two leading fields are common to
    /// every ABI version and size: the ABI version first (another version's layout is not ours to
    /// judge), then the size, and only then the rest, which a smaller descriptor does not have.
    static func read(at address: UnsafeRawPointer, file: String, memory: ReadableMemory) throws(PluginLoadError) -> PluginDescriptor {
        let layout = MemoryLayout<layeron_plugin_descriptor>.self
        guard let leading = memory.bytes(at: address, count: 8) else {
            throw .unreadableDescriptor(file: file, address: "\(address)")
        }
        let abiVersion = leading.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: layout.offset(of: \.abi_version)!, as: UInt32.self) }
        guard abiVersion == hostABIVersion else { throw .abiMismatch(file: file, pluginABI: abiVersion) }
        let structSize = leading.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: layout.offset(of: \.struct_size)!, as: UInt32.self) }
        guard structSize >= UInt32(layout.size) else {
            throw .invalidDescriptor(file: file, plugin: nil, reason: "struct_size \(structSize) is smaller than the v1 descriptor (\(layout.size))")
        }
        guard let bytes = memory.bytes(at: address, count: layout.size) else {
            throw .invalidDescriptor(file: file, plugin: nil, reason: "the \(layout.size) bytes at \(address) are not all readable memory")
        }
        let d = bytes.withUnsafeBytes { $0.loadUnaligned(as: layeron_plugin_descriptor.self) }
        let strings = StringReader(file: file, memory: memory)

        guard let name = try strings.read(d.name, field: "name", plugin: nil, maxLength: maxNameBytes) else {
            throw .invalidDescriptor(file: file, plugin: nil, reason: "name is NULL")
        }
        guard HandlerReference.isValidName(name) else {
            throw .invalidDescriptor(file: file, plugin: nil, reason: "name \"\(name)\" must be [a-z0-9_]+")
        }
        let version = try strings.read(d.version, field: "version", plugin: name, maxLength: maxTextBytes) ?? "0"
        let summary = try strings.read(d.description, field: "description", plugin: name, maxLength: maxTextBytes) ?? ""
        try requireZero(d.reserved, field: "reserved", file: file, plugin: name)

        var handlers: [Handler] = []
        if d.handler_count > 0 {
            guard let list = d.handlers else {
                throw .invalidDescriptor(file: file, plugin: name, reason: "handler_count is \(d.handler_count) but handlers is NULL")
            }
            let count = Int(d.handler_count)
            let stride = MemoryLayout<layeron_handler>.stride
            for i in 0..<count {
                let position = "handler \(i + 1) of \(count)"
                let countHint = "is handler_count larger than the handlers array?"
                guard let entry = memory.bytes(at: UnsafeRawPointer(list) + i * stride, count: stride) else {
                    throw .invalidDescriptor(file: file, plugin: name, reason: "\(position) is not readable memory: \(countHint)")
                }
                let h = entry.withUnsafeBytes { $0.loadUnaligned(as: layeron_handler.self) }
                guard let handlerName = try strings.read(h.name, field: "\(position)'s name", plugin: name, maxLength: maxNameBytes,
                                                         hint: countHint) else {
                    throw .invalidDescriptor(file: file, plugin: name, reason: "\(position) has a NULL name")
                }
                guard let function = h.handle else {
                    throw .invalidDescriptor(file: file, plugin: name, reason: "\(position) (\(handlerName)) has a NULL function")
                }
                guard HandlerReference.isValidName(handlerName) else {
                    throw .invalidDescriptor(file: file, plugin: name, reason: "handler name \"\(handlerName)\" must be [a-z0-9_]+")
                }
                guard !handlers.contains(where: { $0.name == handlerName }) else {
                    throw .invalidDescriptor(file: file, plugin: name, reason: "handler \"\(handlerName)\" is declared twice")
                }
                try requireZero(h.reserved, field: "\(position) (\(handlerName)): reserved", file: file, plugin: name)
                handlers.append(Handler(name: handlerName, function: function))
            }
        }
        return PluginDescriptor(name: name, version: version, summary: summary, concurrent: d.flags & LAYERON_PLUGIN_CONCURRENT != 0,
                                handlers: handlers, copy: d)
    }

    /// Reserved fields are NULL in v1 and a later v1.x may give them a meaning: a plugin leaving
    /// garbage there would change behaviour the day it does, so it is refused while none relies on it.
    private static func requireZero<T>(_ fields: T, field: String, file: String, plugin: String) throws(PluginLoadError) {
        let words = withUnsafeBytes(of: fields) { Array($0.bindMemory(to: UInt.self)) }
        if let index = words.firstIndex(where: { $0 != 0 }) {
            let value = "0x" + String(words[index], radix: 16)
            throw .invalidDescriptor(file: file, plugin: plugin,
                                     reason: "\(field)[\(index)] is \(value); reserved fields must be zero (NULL) in ABI v1: initialise the whole struct, e.g. with designated initialisers")
        }
    }
}

/// Reads the descriptor's NUL-terminated strings, naming the field when one is not readable.
private struct StringReader {
    let file: String
    let memory: ReadableMemory

    /// Nil for a NULL pointer; throws when the pointer is not readable or the text has no NUL.
    func read(_ pointer: UnsafePointer<CChar>?, field: String, plugin: String?, maxLength: Int,
              hint: String? = nil) throws(PluginLoadError) -> String? {
        guard let pointer else { return nil }
        guard let text = memory.cString(at: UnsafeRawPointer(pointer), maxLength: maxLength) else {
            let problem = "\(field) points to \(UnsafeRawPointer(pointer)), which is not readable memory or holds no NUL within \(maxLength) bytes"
            throw .invalidDescriptor(file: file, plugin: plugin, reason: hint.map { "\(problem): \($0)" } ?? problem)
        }
        return text
    }
}
