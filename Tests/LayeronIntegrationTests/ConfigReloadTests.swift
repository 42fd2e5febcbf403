import Foundation
import LayeronCore
import XCTest

/// Config changes take effect without a restart when the file changes; a broken change is refused
/// and the running config stays.
final class ConfigReloadTests: XCTestCase {
    let stripeSecret = "whsec_config_reload"
    let vendorSecret = "vendor_config_reload"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": stripeSecret, "VENDOR_WEBHOOK_SECRET": vendorSecret])
        try server.writeConfig(config(webhooks: [stripe, vendor(path: "/webhooks/vendor")]))
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private let stripe = #"{ "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } }"#

    private func vendor(name: String = "vendor", path: String) -> String {
        """
        { "name": "\(name)", "provider": "custom", "path": "\(path)",
          "signature": { "header": "x-vendor-signature", "algorithm": "hmac-sha256", "encoding": "hex",
                         "secret": { "secret": "VENDOR_WEBHOOK_SECRET" }, "signedPayload": "rawBody" } }
        """
    }

    private func config(webhooks: [String]) -> String {
        #"{ "plugins": { "dir": "\#(server.pluginsDir)" }, "webhooks": [ \#(webhooks.joined(separator: ", ")) ] }"#
    }

    private func postVendor(_ path: String) throws -> Int {
        let body = Array(#"{"event_id":"v1","type":"thing.happened"}"#.utf8)
        return try server.post(path, headers: [("X-Vendor-Signature", Signing.hmacHex(body: body, secret: vendorSecret))], body: body).status
    }

    func testAChangedConfigFileAddsAWebhookAndRemovesAnotherWithoutARestart() throws {
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 200)
        XCTAssertEqual(try postVendor("/webhooks/partner"), 404)

        try server.writeConfig(config(webhooks: [stripe, vendor(name: "partner", path: "/webhooks/partner")]))
        XCTAssertTrue(try server.waitUntil { try postVendor("/webhooks/partner") == 200 }, server.logs)
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 404, "the removed webhook is gone")
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_kept", secret: stripeSecret).status, 200,
                       "the unchanged webhook keeps working")
        XCTAssertTrue(server.isRunning)
        // Logged after the new snapshot is in place, so possibly after the request above was served by it.
        XCTAssertTrue(server.waitUntil { server.logs.contains("config reloaded") }, server.logs)

        let store = try StoreReader(path: server.databasePath)
        XCTAssertEqual(try store.rows("SELECT webhook FROM events ORDER BY seq").map { $0[0] }, ["vendor", "partner", "stripe"],
                       "one database across the reload")
    }

    /// A Kubernetes ConfigMap mounts the config file as a link through `..data`, and an update
    /// re-points `..data` to a new folder by a rename: no event in the folder names the config file,
    /// and the change still applies without a SIGHUP.
    func testAConfigFileReachedThroughARepointedDataLinkReloads() throws {
        server.stop()
        let folder = server.directory.path
        func release(_ name: String, webhooks: [String]) throws {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(name)", withIntermediateDirectories: false)
            try config(webhooks: webhooks).write(toFile: "\(folder)/\(name)/layeron.json", atomically: true, encoding: .utf8)
        }
        try release("..2026_12_06_v1", webhooks: [stripe, vendor(path: "/webhooks/vendor")])
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/..data", withDestinationPath: "..2026_12_06_v1")
        try FileManager.default.removeItem(atPath: server.configPath)
        try FileManager.default.createSymbolicLink(atPath: server.configPath, withDestinationPath: "..data/layeron.json")
        try server.start()
        XCTAssertEqual(try postVendor("/webhooks/partner"), 404)

        try release("..2026_12_06_v2", webhooks: [stripe, vendor(name: "partner", path: "/webhooks/partner")])
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/..data_tmp", withDestinationPath: "..2026_12_06_v2")
        XCTAssertEqual(rename("\(folder)/..data_tmp", "\(folder)/..data"), 0)
        XCTAssertTrue(try server.waitUntil(timeout: 10) { try postVendor("/webhooks/partner") == 200 }, server.logs)
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 404, "the webhook the new release removed is gone")
    }

    /// Scripts read the listening lines to know the server is up, and may signal it at once: a SIGHUP then
    /// reloads and never meets the default action, which would end the process (seen once in CI).
    func testASIGHUPSentAsSoonAsTheListeningLinesAppearReloads() throws {
        for start in 1...10 {
            server.stop()
            try server.start()
            server.hangUp()
            XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "config reloaded").count > start },
                          "start \(start): \(server.logs.suffix(2000))")
            XCTAssertTrue(server.isRunning, "start \(start)")
        }
    }

    /// Settings read once at start stay as they are on a reload, and the log says which differ from
    /// the running values: a file put back to them says nothing (it repeated the warning).
    func testAReloadNamesTheSettingsThatWaitForARestart() throws {
        let original = config(webhooks: [stripe, vendor(path: "/webhooks/vendor")])
        let text = original
            .replacingOccurrences(of: #"{ "plugins""#, with: #"{ "workers": 7, "limits": { "maxBodyBytes": 5000 }, "plugins""#)
        let line = "limits, workers changed in the config; the running value stays until a restart"
        try server.writeConfig(text)
        XCTAssertTrue(server.waitUntil { server.logs.contains(line) }, server.logs)
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 200, "the running config still serves")
        try server.writeConfig(text.replacingOccurrences(of: #""maxBodyBytes": 5000"#, with: #""maxBodyBytes": 5000, "requestTimeout": "90s""#))
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.components(separatedBy: line).count - 1 == 2 }, server.logs)
        let reloads = { [server] in server!.logs.components(separatedBy: "config reloaded").count - 1 }
        let before = reloads()
        try server.writeConfig(original)
        XCTAssertTrue(server.waitUntil(timeout: 5) { reloads() > before }, server.logs)
        XCTAssertEqual(server.logs.components(separatedBy: "changed in the config").count - 1, 2, server.logs)
    }

    func testAnInvalidChangeIsRefusedWithItsErrorsAndTheRunningConfigStays() throws {
        try server.writeConfig(config(webhooks: [stripe, vendor(path: "/webhooks/vendor"),
                                                 #"{ "name": "broken", "provider": "nosuchprovider", "path": "/webhooks/broken" }"#]))
        XCTAssertTrue(server.waitUntil { server.logs.contains("config reload refused") }, server.logs)
        XCTAssertTrue(server.logs.contains("nosuchprovider"), "the refusal names the bad value: \(server.logs)")
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 200, "the running config stays")
        XCTAssertEqual(try postVendor("/webhooks/broken"), 404)

        try "{ not json".write(toFile: server.configPath, atomically: true, encoding: .utf8)
        XCTAssertTrue(server.waitUntil {
            server.logs.components(separatedBy: "config reload refused").count >= 3
        }, server.logs)
        XCTAssertEqual(try postVendor("/webhooks/vendor"), 200)
        XCTAssertTrue(server.isRunning)

        // An alert can see a refused reload, and that a later good one put things right.
        var metrics = try server.admin("GET", "/metrics").text
        XCTAssertTrue(metrics.contains(#"layeron_config_reloads_total{result="refused"} 2"#), metrics)
        XCTAssertTrue(metrics.contains("\nlayeron_config_last_reload_successful 0\n"), metrics)
        try server.writeConfig(config(webhooks: [stripe, vendor(path: "/webhooks/vendor")]))
        XCTAssertTrue(try server.waitUntil(timeout: 5) {
            try server.admin("GET", "/metrics").text.contains("\nlayeron_config_last_reload_successful 1\n")
        })
        metrics = try server.admin("GET", "/metrics").text
        XCTAssertTrue(metrics.contains(#"layeron_config_reloads_total{result="applied"} "#), metrics)
        XCTAssertTrue(metrics.contains(#"layeron_config_reloads_total{result="refused"} 2"#), metrics)
    }
}
