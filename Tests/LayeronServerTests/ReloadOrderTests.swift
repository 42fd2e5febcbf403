import Foundation
import LayeronCore
@testable import LayeronServer
import Synchronization
import XCTest

/// Config reloads (SIGHUP, the config folder's watcher) and secrets reloads (the store's watcher) come
/// from different threads, each building the next snapshot from what it read: whichever finishes last
/// must not install a snapshot of a config the other one has replaced.
final class ReloadOrderTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("plugins"), withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private var configPath: String { directory.appendingPathComponent("layeron.json").path }

    private func writeConfig(webhook: String) throws {
        let plugins = directory.appendingPathComponent("plugins").path
        try #"{ "plugins": { "dir": "\#(plugins)" }, "webhooks": [ { "name": "\#(webhook)", "provider": "stripe", "secret": { "secret": "HOOK_SECRET" } } ] }"#
            .write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func testSecretsReloadsDuringAConfigReloadEndOnTheNewConfig() throws {
        try writeConfig(webhook: "hook0")
        let options = ServeOptions(configPath: configPath, listen: ListenAddress(parsing: "127.0.0.1:0"),
                                   adminListen: ListenAddress(parsing: "127.0.0.1:0"),
                                   database: directory.appendingPathComponent("data/layeron.db").path, environment: "test")
        let server = try Server.start(options: options, resolver: DictionarySecretResolver(["HOOK_SECRET": "whsec_reload_order"]),
                                      logger: .discard)
        defer { server.stop() }
        for round in 1...20 {
            try writeConfig(webhook: "hook\(round)")
            // Secrets reloads one after another for as long as the config reload runs, and the one
            // under way when it ends: that one may have read the config before the swap.
            let configReloaded = Mutex(false)
            let secretsReloads = DispatchGroup()
            DispatchQueue.global().async(group: secretsReloads) {
                while !configReloaded.withLock({ $0 }) { server.reloadSecrets() }
            }
            server.reload()
            configReloaded.withLock { $0 = true }
            secretsReloads.wait()
            XCTAssertEqual(server.snapshots.snapshot.config.webhooks.map(\.name), ["hook\(round)"], "round \(round)")
        }
    }
}
