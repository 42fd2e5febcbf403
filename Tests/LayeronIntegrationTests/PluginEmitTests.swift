import Foundation
import LayeronCore
import XCTest

/// A plugin's `emit` on a server whose config has no outbound destination.
final class PluginEmitTests: XCTestCase {
    let secret = "shop-secret"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try PluginBuilder.install(source: PluginBuilder.fixturePath("emitter"), into: server.pluginsDir, name: "emitter.so")
        try server.writeBehavioursConfig(plugin: "{}", webhooks: [("shop", #""handler": "emitter.relay""#)])
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    /// plugin.h: LAYERON_UNSUPPORTED "when this host has no outbound delivery configured".
    func testEmitWithoutOutboundDeliveryIsUnsupported() throws {
        let sent = try server.postSigned("shop", #"{"id": "o-1", "type": "payment.succeeded"}"#, secret: secret)
        XCTAssertEqual(sent.status, 200, sent.body)
        let id = try XCTUnwrap(try JSONParser.parse(sent.body)["id"]?.stringValue, sent.body)
        XCTAssertTrue(try server.waitUntil { try server.event(id)["status"]?.stringValue == "failed" }, server.logs)
        XCTAssertEqual(try server.attempts(id).first?["error"]?.stringValue, "emit unsupported", "the fixture names the status it got")
        // The log line is written before the attempt is recorded, but reaches this process through a pipe.
        XCTAssertTrue(server.waitUntil(timeout: 5) { server.logs.contains("emit refused: this server has no outbound delivery configured") },
                      server.logs)
    }
}
