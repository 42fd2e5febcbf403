import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// A real server that delivers outbound events to its own inbound `standard-webhooks` endpoint
/// ("sw-in", our own verifier at the other end) and to whatever destinations a test adds.
final class OutboundHarness {
    static let key = Array("outbound-integration-signing-key".utf8)
    static var secret: String { "whsec_" + ByteEncoding.base64.encode(key) }

    let server: TestServer
    private(set) var port: Int
    var selfURL: String { "http://127.0.0.1:\(port)/webhooks/sw-in" }

    /// `destinations` are extra JSON objects for `"outbound"`; `partners` (to our own inbound) comes first.
    /// `topLevel` adds members to the config object (each followed by a comma).
    init(destinations: [String] = [], partnersExtra: String = "", webhooks: String = "", plugins: String = "", topLevel: String = "") throws {
        server = try TestServer(environment: ["SW_SECRET": Self.secret, "WRONG_SECRET": "whsec_" + ByteEncoding.base64.encode(Array("wrong".utf8))])
        port = try ScriptedReceiver.freePort()
        let partners = #"{ "name": "partners", "url": "\#(selfURL)", "secret": { "secret": "SW_SECRET" }, "allow_private": true\#(partnersExtra) }"#
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },\(topLevel)
              "plugins": { "dir": "\(server.pluginsDir)"\(plugins) },
              "webhooks": [
                { "name": "sw-in", "provider": "standard-webhooks", "secret": { "secret": "SW_SECRET" } }\(webhooks)
              ],
              "outbound": [\(([partners] + destinations).joined(separator: ",\n"))]
            }
            """)
    }

    /// Starts on `port`. It was free when picked, but anything on the machine may bind it before the
    /// server does: then the config's URLs move to another free port and the start is tried again.
    func start() throws {
        for _ in 1..<3 {
            do {
                return try server.start(extraArguments: ["--listen", "127.0.0.1:\(port)"])
            } catch let failure as TestFailure where failure.description.contains("cannot listen on 127.0.0.1:\(port):") {
                let taken = port
                port = try ScriptedReceiver.freePort()
                let config = try String(contentsOfFile: server.configPath, encoding: .utf8)
                try server.writeConfig(config.replacingOccurrences(of: "127.0.0.1:\(taken)/", with: "127.0.0.1:\(port)/"))
            }
        }
        try server.start(extraArguments: ["--listen", "127.0.0.1:\(port)"])
    }

    /// `POST /admin/outbound/{name}/events`; returns the status and JSON answer.
    @discardableResult
    func emit(_ destination: String, type: String = "order.paid", payload: String = #"{"order":42}"#, key: String? = nil) throws -> (status: Int, json: JSONValue) {
        let keyPart = key.map { #","idempotency_key":"\#($0)""# } ?? ""
        let body = Array(#"{"type":"\#(type)","payload":\#(payload)\#(keyPart)}"#.utf8)
        let r = try HTTPClientShortcut.post(server.adminURL + "/admin/outbound/\(destination)/events", token: server.adminToken, body: body)
        return (r.status, r.json)
    }

    func emittedID(_ destination: String, payload: String = #"{"order":42}"#, key: String? = nil) throws -> String {
        let r = try emit(destination, payload: payload, key: key)
        guard r.status == 202, let id = r.json["event"]?["id"]?.stringValue else { throw TestFailure("emit failed: \(r)") }
        return id
    }

    func event(_ id: String) throws -> JSONValue { try server.admin("GET", "/admin/events/\(id)").json }

    func attempts(_ id: String) throws -> [JSONValue] {
        guard case let .array(items)? = try event(id)["attempts"] else { return [] }
        return items
    }

    /// Waits until the event has `count` finished attempts (and, when given, the status).
    func waitForAttempts(_ id: String, count: Int, status: String? = nil, timeout: TimeInterval = 30) throws -> JSONValue {
        let ok = try server.waitUntil(timeout: timeout) {
            let e = try event(id)
            guard case let .array(items)? = e["attempts"], items.count >= count,
                  items.allSatisfy({ $0["finished_at"] != .null }) else { return false }
            return status == nil || e["status"]?.stringValue == status
        }
        let e = try event(id)
        guard ok else { throw TestFailure("event \(id) did not reach \(count) attempts/\(status ?? "-"): \(e.serialized())\n\(server.logs.suffix(3000))") }
        return e
    }
}
