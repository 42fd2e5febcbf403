import Foundation
import LayeronCore
import XCTest

extension TestServer {
    /// Installs the `behaviours` fixture plugin into the plugins folder.
    func installBehaviours() throws {
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: pluginsDir, name: "behaviours.so")
    }

    /// Writes a config for the `behaviours` plugin whose webhooks are custom HMAC endpoints (hex HMAC-SHA256 of the body in `x-sig`, secret `HOOK_SECRET`, id and type from
    /// `body.id` and `body.type`). Each webhook is its name and the rest of its JSON members (handler,
    /// dedupe, lease, …); `plugin` is the plugin's config object, `limits` the top-level one.
    func writeBehavioursConfig(plugin: String, workers: Int = 4, limits: String = "{}", webhooks: [(name: String, members: String)]) throws {
        let hooks = webhooks.map { hook in
            """
            {"name": "\(hook.name)", "provider": "custom",
             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
             "event": {"id": "body.id", "type": "body.type"}, \(hook.members)}
            """
        }
        try writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "workers": \(workers),
              "limits": \(limits),
              "plugins": { "dir": "\(pluginsDir)", "config": { "behaviours": \(plugin) } },
              "webhooks": [ \(hooks.joined(separator: ",\n")) ]
            }
            """)
    }

    /// Installs the `behaviours` plugin with a config for its `held` handler, whose call of an event of
    /// type T, attempt N, returns once `endHeldCall(T, attempt: N)` is called. Returns the file the
    /// handlers append their calls to (`handledLines`).
    func installHeldCalls(webhooks: [(name: String, members: String)]) throws -> String {
        let output = path("handled.log")
        try installBehaviours()
        try writeBehavioursConfig(plugin: #"{ "output": "\#(output)", "gate": "\#(path("gate"))" }"#, webhooks: webhooks)
        return output
    }

    /// Ends `behaviours.held`'s call of an event of type `type`, attempt `attempt`, or the call's wait
    /// when it has not started (`installHeldCalls`).
    func endHeldCall(_ type: String, attempt: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(FileManager.default.createFile(atPath: "\(path("gate"))-\(type)-\(attempt)", contents: nil), file: file, line: line)
    }

    /// The lines the `behaviours` handlers appended to `output` (their config's file), one per run;
    /// none while the file does not exist.
    static func handledLines(_ output: String) -> [String] {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Posts an event with id `eventID` to `webhook`, whose handler is a `*.gated` one, and waits
    /// until its call is under way (its attempt is recorded): from then on it holds its worker, or
    /// its serial plugin, until the test opens the gate. Returns the event's id.
    func startGatedCall(_ webhook: String, eventID: String, secret: String, _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let sent = try postSigned(webhook, #"{"id": "\#(eventID)", "type": "t"}"#, secret: secret)
        XCTAssertEqual(sent.status, 200, sent.body, file: file, line: line)
        let id = try XCTUnwrap(try JSONParser.parse(Array(sent.body.utf8))["id"]?.stringValue, sent.body, file: file, line: line)
        XCTAssertTrue(try waitUntil { try attempts(id).count == 1 }, what, file: file, line: line)
        return id
    }

    /// Posts `json` to `/webhooks/NAME`, signed as `writeBehavioursConfig` expects.
    func postSigned(_ webhook: String, _ json: String, secret: String) throws -> (status: Int, body: String) {
        let body = Array(json.utf8)
        return try post("/webhooks/\(webhook)", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret))], body: body)
    }
}
