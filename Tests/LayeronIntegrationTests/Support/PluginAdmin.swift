import Foundation
import LayeronCore

/// Admin API and store look-ups the plugin and reload tests share.
extension TestServer {
    /// Posts a Stripe event signed with `secret`; returns the status and our event id (nil on non-2xx).
    func postStripe(type: String, providerID: String, secret: String) throws -> (status: Int, id: String?) {
        let body = Array(#"{"id":"\#(providerID)","type":"\#(type)","data":{"object":{}}}"#.utf8)
        let response = try post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: secret))], body: body)
        let id = (try? JSONParser.parse(Array(response.body.utf8)))?["id"]?.stringValue
        return (response.status, response.status == 200 ? id : nil)
    }

    /// Every entry of `GET /admin/plugins`.
    func pluginEntries() throws -> [JSONValue] {
        guard case let .array(list)? = try admin("GET", "/admin/plugins").json["plugins"] else { return [] }
        return list
    }

    /// `GET /admin/plugins` as text, for failure messages.
    var pluginsDump: String { (try? admin("GET", "/admin/plugins").text) ?? "(admin API unreachable)" }

    /// The version of `name` that is serving, if any.
    func activeVersion(of name: String) throws -> String? {
        try pluginEntries().first { $0["name"]?.stringValue == name && $0["state"]?.stringValue == "active" }?["version"]?.stringValue
    }

    /// The refusal recorded for `file`, if any.
    func failure(for file: String) throws -> String? {
        try pluginEntries().first { $0["file"]?.stringValue == file && $0["state"]?.stringValue == "failed" }?["error"]?.stringValue
    }

    /// `GET /admin/events/{id}`.
    func event(_ id: String) throws -> JSONValue {
        try admin("GET", "/admin/events/\(id)").json
    }

    func attempts(_ id: String) throws -> [JSONValue] {
        guard case let .array(list)? = try event(id)["attempts"] else { return [] }
        return list
    }

    /// Runs the `layeron` binary with `arguments`, pointed at this server's admin API.
    func runCLI(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
        process.arguments = arguments
        var env = ChildEnvironment.inherited()
        env["LAYERON_ADMIN_URL"] = adminURL
        env["LAYERON_ADMIN_TOKEN"] = adminToken
        process.environment = env
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
