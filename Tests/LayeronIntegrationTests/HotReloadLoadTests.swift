import Foundation
import LayeronCore
import XCTest

/// The plugin swap under continuous load: several client threads send signed events for about five
/// seconds while the billing plugin is swapped between two versions twenty times, alternately by
/// rename and by `cp` over the live file. Every request must get a 2xx, every event must run exactly
/// once, its attempt must name the version that ran it, and each new version must serve within one
/// second of its file landing.
final class HotReloadLoadTests: XCTestCase {
    let secret = "whsec_hot_reload_secret"

    func testTwentySwapsUnderLoadLoseNothingAndRunEverythingOnce() throws {
        let server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        defer { server.stop() }
        let output = server.path("billing.log")
        let builds = ["1.0.0": server.path("billing-1.so"), "2.0.0": server.path("billing-2.so")]
        for (version, file) in builds {
            try PluginBuilder.buildC(source: PluginBuilder.examplePath("billing"), output: file, defines: ["BILLING_VERSION=\"\(version)\""])
        }
        try PluginBuilder.landByRename(builds["1.0.0"]!, into: server.pluginsDir, name: "billing.so")
        try server.writeConfig("""
            {
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(output)" } } },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "on": { "checkout.session.completed": "billing.fulfill_checkout" } } ]
            }
            """)
        try server.start()
        XCTAssertEqual(try server.activeVersion(of: "billing"), "1.0.0")

        let load = LoadClients(server: server, secret: secret, threads: 4)
        load.start()
        var landings: [TimeInterval] = []
        for swap in 1...20 {
            let version = swap % 2 == 1 ? "2.0.0" : "1.0.0"
            if swap % 2 == 0 {
                try PluginBuilder.landByCopyInPlace(builds[version]!, into: server.pluginsDir, name: "billing.so")
            } else {
                try PluginBuilder.landByRename(builds[version]!, into: server.pluginsDir, name: "billing.so")
            }
            let landed = Date()
            let serving = try server.waitUntil(timeout: 3) { try server.activeVersion(of: "billing") == version }
            landings.append(Date().timeIntervalSince(landed))
            XCTAssertTrue(serving, "swap \(swap): \(version) never served")
            usleep(120_000)
        }
        let results = load.stop()

        XCTAssertTrue(server.isRunning)
        XCTAssertGreaterThan(results.count, 100, "the load was too light to mean anything")
        XCTAssertEqual(results.filter { $0.status != 200 }.map(\.status), [], "every request is acknowledged with a 2xx")
        XCTAssertLessThan(landings.max() ?? 99, 1.0, "each new version serves within 1 s of landing: \(landings)")
        let ids = results.compactMap(\.id)
        XCTAssertEqual(Set(ids).count, results.count)

        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil(timeout: 30) {
            try store.count("SELECT COUNT(*) FROM events WHERE status != 'processed'") == 0
        }, "events left unprocessed: \((try? store.rows("SELECT id, status FROM events WHERE status != 'processed' LIMIT 5")) ?? [])")
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM events"), ids.count, "no event lost, none invented")

        let attempts = try store.rows("""
            SELECT e.id, a.n, a.outcome, a.plugin_version FROM attempts a JOIN events e ON e.seq = a.event_seq ORDER BY e.seq, a.n
            """)
        XCTAssertEqual(attempts.count, ids.count, "exactly one attempt per event")
        XCTAssertEqual(attempts.filter { $0[1] != "1" || $0[2] != "ok" }.count, 0)
        var versionByID: [String: String] = [:]
        for row in attempts { versionByID[row[0]!] = row[3] ?? "none" }
        XCTAssertEqual(Set(versionByID.values), ["1.0.0", "2.0.0"], "both versions served")

        // The plugin's own record: each event ran once, on the version its attempt names.
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, ids.count, "no event ran twice")
        var ran: [String: String] = [:]
        for line in lines {
            let words = line.split(separator: " ")
            let id = String(words[1])
            XCTAssertNil(ran[id], "\(id) ran twice")
            ran[id] = words.first { $0.hasPrefix("version=") }.map { String($0.dropFirst("version=".count)) }
        }
        XCTAssertEqual(ran, versionByID)
        XCTAssertEqual(Set(ran.keys), Set(ids))
    }
}

/// Client threads posting signed Stripe events as fast as the server answers, until stopped.
private final class LoadClients: @unchecked Sendable {
    struct Result { let status: Int; let id: String? }
    private let server: TestServer
    private let secret: String
    private let threads: Int
    /// Guards `results` and `stopping`.
    private let lock = NSLock()
    private var results: [Result] = []
    private var stopping = false
    private let group = DispatchGroup()

    init(server: TestServer, secret: String, threads: Int) {
        self.server = server
        self.secret = secret
        self.threads = threads
    }

    func start() {
        for t in 0..<threads {
            group.enter()
            Thread { [self] in
                // Bounded: even if stop() never came, a thread gives up after this many requests.
                for n in 0..<20_000 {
                    lock.lock()
                    let stop = stopping
                    lock.unlock()
                    if stop { break }
                    let result: Result
                    do {
                        let sent = try server.postStripe(type: "checkout.session.completed", providerID: "evt_load_\(t)_\(n)", secret: secret)
                        result = Result(status: sent.status, id: sent.id)
                    } catch {
                        result = Result(status: -1, id: nil)
                    }
                    lock.lock()
                    results.append(result)
                    lock.unlock()
                }
                group.leave()
            }.start()
        }
    }

    func stop() -> [Result] {
        lock.lock()
        stopping = true
        lock.unlock()
        _ = group.wait(timeout: .now() + 30)
        lock.lock()
        defer { lock.unlock() }
        return results
    }
}
