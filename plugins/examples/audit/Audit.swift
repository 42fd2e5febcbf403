/*
 * Example plugin in Swift: "audit". Its one handler, "record", appends a line per event to the file
 * named by its plugin config ("plugins": {"config": {"audit": {"output": "data/audit.log"}}}) and
 * notes the event in the server log. Built as a SwiftPM dynamic library with LayeronPluginKit:
 *
 *   swift build --product AuditPlugin && cp .build/debug/libAuditPlugin.so plugins/audit.so
 */
import Foundation
import LayeronPluginKit

final class Audit: LayeronPlugin {
    static let name = "audit"
    static let version = "1.0.0"
    static let summary = "Appends one line per event to a file (Swift example)"
    static let concurrent = true
    static let handlerNames = ["record"]

    private struct Settings: Decodable {
        let output: String
    }

    private let host: PluginHost
    private let output: String

    init(host: PluginHost, config: PluginConfig) throws {
        self.host = host
        output = try JSONDecoder().decode(Settings.self, from: Data(config.bytes)).output
        host.log(.info, "audit \(Self.version) ready, writing to \(output)")
    }

    func handle(_ handler: String, _ event: PluginEvent) -> HandlerResult {
        let line = "\(handler) \(event.id) \(event.type) version=\(Self.version) attempt=\(event.attempt) replay=\(event.isReplay ? 1 : 0) bytes=\(event.body.count)\n"
        guard let file = FileHandle(forWritingAtPath: output) ?? create(output) else {
            return .retry("cannot open \(output)", afterMilliseconds: 1000)
        }
        defer { try? file.close() }
        do {
            try file.seekToEnd()
            try file.write(contentsOf: Data(line.utf8))
        } catch {
            return .retry("cannot write \(output): \(error)")
        }
        host.log(.debug, "recorded \(event.id)")
        return .ok("recorded by audit \(Self.version)")
    }

    private func create(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}

@_cdecl("layeron_plugin_entry")
public func layeronPluginEntry(_ hostABIVersion: UInt32, _ host: UnsafeRawPointer?) -> UnsafeRawPointer? {
    PluginEntry.describe(Audit.self, hostABIVersion: hostABIVersion, host: host)
}
