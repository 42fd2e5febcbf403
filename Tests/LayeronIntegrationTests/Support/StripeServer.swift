import Foundation
import XCTest

/// A test class around one running Stripe-only server (`TestServer.stripeOnly`), started before each
/// test and stopped after it.
class RunningStripeServerTestCase: XCTestCase {
    let secret = "whsec_running_stripe_server"
    var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer.stripeOnly(secret: secret)
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }
}

extension TestServer {
    /// A server (not started) whose config is `writeStripeConfig`'s, with `secret` as STRIPE_WEBHOOK_SECRET.
    static func stripeOnly(secret: String) throws -> TestServer {
        let server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        try server.writeStripeConfig()
        return server
    }

    /// A config with one Stripe webhook (`STRIPE_WEBHOOK_SECRET`, handler `billing.fulfill_checkout`)
    /// and this server's plugins folder.
    func writeStripeConfig() throws {
        try writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(pluginsDir)" },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                              "handler": "billing.fulfill_checkout" } ]
            }
            """)
    }

    /// Another `layeron serve` of this server's config, run to its end (a start expected to fail), with
    /// `stripeSecret` as STRIPE_WEBHOOK_SECRET and `environment` added.
    func serveAnother(listen: String = "127.0.0.1:0", admin: String = "127.0.0.1:0", database: String,
                      stripeSecret: String, environment: [String: String] = [:]) throws -> CommandRun {
        try CommandRun.layeron(
            ["serve", "--config", configPath, "--listen", listen, "--admin-listen", admin,
             "--database", database, "--log-format", "json"],
            environment: ["STRIPE_WEBHOOK_SECRET": stripeSecret, "LAYERON_ADMIN_TOKEN": adminToken].merging(environment) { $1 },
            directory: directory.path)
    }
}
