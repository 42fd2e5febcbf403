import Foundation
import LayeronCore
import XCTest

/// A plugin that takes one call at a time (no LAYERON_PLUGIN_CONCURRENT) holds one worker while
/// it is busy, not the whole pool.
final class SerialPluginTests: XCTestCase {
    let secret = "serial-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }
    /// `serial.gated` calls return once this file exists.
    var gate: String { server.path("gate") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret])
        try server.installBehaviours()
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "serial.so",
                                  defines: ["BEHAVIOURS_SERIAL"])
        func hook(_ name: String, _ handler: String, lease: String = "2s", _ extra: String = "") -> String {
            """
            {"name": "\(name)", "provider": "custom", "handler": "\(handler)", "lease": "\(lease)",\(extra)
             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
             "event": {"id": "body.id", "type": "body.type"}}
            """
        }
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "workers": 4,
              "plugins": { "dir": "\(server.pluginsDir)", "config": {
                  "behaviours": { "output": "\(output)" }, "serial": { "output": "\(output)", "sleep_ms": 1000, "gate": "\(gate)" } } },
              "webhooks": [ \(hook("slow", "serial.slow")), \(hook("quick", "behaviours.ok")), \(hook("serialok", "serial.ok")),
                            \(hook("held", "serial.gated", lease: "1h")),
                            \(hook("waiting", "serial.ok", #" "respond": "after-handler", "timeout": "300ms", "dedupe": {"key": "body.id"},"#)) ]
            }
            """)
        try server.start()
    }

    override func tearDown() {
        // A test that failed with the gate shut would hold the drain for the gated call's minute.
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        server.stop()
        server = nil
    }

    private func lines() -> [String] { TestServer.handledLines(output) }

    /// Four events for the serial plugin (each call waits for the gate, then writes its line), then
    /// one for another plugin: with four workers all waiting on the serial plugin, the other event
    /// would wait for the first serial call to end; it must be handled while that call still runs.
    func testABusySerialPluginLeavesTheOtherWorkersFree() throws {
        for i in 0..<4 {
            XCTAssertEqual(try server.postSigned("held", #"{"id": "s\#(i)", "type": "t"}"#, secret: secret).status, 200)
        }
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts") == 1 }, "the first serial call started")
        XCTAssertEqual(try server.postSigned("quick", #"{"id": "q", "type": "t"}"#, secret: secret).status, 200)
        // The gate stays shut until the other event is handled: that must not need the serial call to end.
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("ok ") } }, "the other plugin's event waited for the serial one: \(lines())")
        XCTAssertEqual(lines().filter { $0.hasPrefix("gated ") }, [], "the serial call ended with its gate shut")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().filter { $0.hasPrefix("gated ") }.count == 4 }, "\(lines())")
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == 5 })
    }

    /// Attempts parked behind the serial plugin have not started: their lease (2 s here) must not
    /// run out while they wait, or the scheduler hands their events to other workers and they run
    /// twice. Four 1 s calls in a row take 4 s: each event still runs once.
    func testParkedAttemptsDoNotOutliveTheirLeaseAndRunTwice() throws {
        for i in 0..<4 {
            XCTAssertEqual(try server.postSigned("slow", #"{"id": "l\#(i)", "type": "t"}"#, secret: secret).status, 200)
        }
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'processed'") == 4 })
        usleep(1_500_000)
        XCTAssertEqual(lines().filter { $0.hasPrefix("slow ") }.count, 4, "\(lines())")
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts"), 4)
    }

    /// Each version of a serial plugin has its own lock: a new build takes new calls at once while
    /// its predecessor's slow call finishes, as hot reload promises.
    func testANewVersionIsNotHeldUpByItsPredecessorsCall() throws {
        // Version 1's call is under way, and stays so until the gate opens, before version 2 lands
        // (building it takes longer than a call would on a loaded machine).
        _ = try server.startGatedCall("held", eventID: "v1-held", secret: secret, "version 1's call is under way")
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "serial.so",
                                  defines: ["BEHAVIOURS_SERIAL", #"PLUGIN_VERSION="2.0.0""#])
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/admin/plugins").text.contains(#""version":"2.0.0""#) })
        XCTAssertEqual(try server.postSigned("serialok", #"{"id": "v2-ok", "type": "t"}"#, secret: secret).status, 200)
        XCTAssertTrue(server.waitUntil { lines().contains { $0.hasPrefix("ok ") } }, "the new version waited for the old one's call: \(lines())")
        XCTAssertEqual(lines().filter { $0.hasPrefix("gated ") }, [], "the old version's call ended with its gate shut")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().count == 2 }, "\(lines())")
    }

    /// Attempts parked behind a call of a version that a new build replaces start over on the new
    /// version at once: they waited for the old version's call, which may never return.
    func testAttemptsParkedBehindTheOldVersionsCallRunOnTheNewVersion() throws {
        _ = try server.startGatedCall("held", eventID: "v1-stalled", secret: secret, "version 1's call is under way")
        XCTAssertEqual(try server.postSigned("serialok", #"{"id": "parked", "type": "t"}"#, secret: secret).status, 200)
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/metrics").text.contains("layeron_dispatch_queue_depth 0") })
        usleep(300_000)
        XCTAssertEqual(lines(), [], "the second event waits behind version 1's call")
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "serial.so",
                                  defines: ["BEHAVIOURS_SERIAL", #"PLUGIN_VERSION="2.0.0""#])
        XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/admin/plugins").text.contains(#""version":"2.0.0""#) })
        XCTAssertTrue(server.waitUntil(timeout: 10) { lines().contains { $0.hasPrefix("ok ") } },
                      "the parked attempt stayed behind version 1's call: \(lines())")
        XCTAssertEqual(lines().filter { $0.hasPrefix("gated ") }, [], "version 1's call ended with its gate shut")
        XCTAssertEqual(try store.rows("SELECT plugin_version FROM attempts a JOIN events e ON e.seq = a.event_seq WHERE e.provider_event_id = 'parked'").first?.first, "2.0.0")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil { lines().count == 2 }, "\(lines())")
    }

    /// Attempts moved from a replaced version to the new one keep their arrival order there: they are
    /// parked on it as they were, not handed to workers that race to park them again.
    func testAttemptsMovedToANewVersionKeepTheirArrivalOrder() throws {
        _ = try server.startGatedCall("held", eventID: "v1-stalled-order", secret: secret, "version 1's call is under way")
        var ids: [String] = []
        for k in 0..<8 {
            let sent = try server.postSigned("serialok", #"{"id": "moved-\#(k)", "type": "t"}"#, secret: secret)
            XCTAssertEqual(sent.status, 200, sent.body)
            ids.append(try XCTUnwrap(try JSONParser.parse(Array(sent.body.utf8))["id"]?.stringValue, sent.body))
            // Each parks before the next arrives: their arrival order is the order they were sent in.
            XCTAssertTrue(try server.waitUntil { try server.admin("GET", "/metrics").text.contains("layeron_dispatch_queue_depth 0") })
            usleep(50_000)
        }
        XCTAssertEqual(lines(), [], "the events wait behind version 1's call")
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "serial.so",
                                  defines: ["BEHAVIOURS_SERIAL", #"PLUGIN_VERSION="2.0.0""#])
        XCTAssertTrue(server.waitUntil(timeout: 10) { lines().filter { $0.hasPrefix("ok ") }.count == ids.count },
                      "the parked attempts stayed behind version 1's call: \(lines())")
        let ran = lines().filter { $0.hasPrefix("ok ") }.map { String($0.split(separator: " ")[1]) }
        XCTAssertEqual(ran, ids, "the moved attempts ran out of their arrival order")
    }

    /// An after-handler event whose serial plugin is in another event's call when its timeout passes
    /// is answered 503 saying the handler had not started and why, not that it did not finish; the
    /// event runs once the plugin is free.
    func testAnAfterHandlerTimeoutBehindABusySerialPluginSaysTheHandlerHadNotStarted() throws {
        _ = try server.startGatedCall("held", eventID: "busy", secret: secret, "the serial plugin's call is under way")
        let waited = try server.postSigned("waiting", #"{"id": "parked", "type": "t"}"#, secret: secret)
        XCTAssertEqual(waited.status, 503, waited.body)
        XCTAssertTrue(waited.body.contains("the handler had not started within 300ms: plugin serial takes one call at a time and was busy with another event"),
                      waited.body)
        XCTAssertFalse(waited.body.contains("did not finish"), waited.body)
        let id = try XCTUnwrap(try JSONParser.parse(Array(waited.body.utf8))["id"]?.stringValue, waited.body)
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil), "the gate file opens the handler")
        XCTAssertTrue(server.waitUntil(timeout: 10) { lines().contains { $0.hasPrefix("ok \(id) ") } }, "\(lines())")
    }
}
