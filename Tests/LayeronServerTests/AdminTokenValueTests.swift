import Foundation
import LayeronCore
@testable import LayeronServer
import XCTest

/// An admin token whose value is also a signing secret opens the admin API to whoever holds that
/// secret (the provider, a destination's receivers): `serve` refuses it, naming both and no value.
final class AdminTokenValueTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-token-value-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("plugins"), withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func start(_ variables: [String: String]) throws -> ServeError? {
        let configPath = directory.appendingPathComponent("layeron.json").path
        try #"""
            { "plugins": { "dir": "\#(directory.appendingPathComponent("plugins").path)" },
              "admin": { "listen": "127.0.0.1:0", "token": { "secret": "ADMIN_TOKEN" },
                         "mount": { "path": "/support", "token": { "secret": "MOUNT_TOKEN" } } },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } } ],
              "outbound": [ { "name": "partner", "url": "https://partner.example.com/hooks", "secret": { "secret": "PARTNER_SIGNING_SECRET" },
                  "headers": { "Authorization": { "secret": "PARTNER_AUTHORIZATION" } } } ] }
            """#.write(toFile: configPath, atomically: true, encoding: .utf8)
        let options = ServeOptions(configPath: configPath, listen: ListenAddress(parsing: "127.0.0.1:0"),
                                   adminListen: ListenAddress(parsing: "127.0.0.1:0"),
                                   database: directory.appendingPathComponent("data/layeron.db").path, environment: "production")
        do {
            let server = try Server.start(options: options, resolver: DictionarySecretResolver(variables), logger: .discard)
            server.stop()
            return nil
        } catch {
            return error
        }
    }

    func testAnAdminTokenWithASigningSecretsValueIsRefused() throws {
        let partner = "whsec_" + Data(repeating: 7, count: 32).base64EncodedString()
        let distinct = ["ADMIN_TOKEN": "admin-token-value", "MOUNT_TOKEN": "mount-token-value",
                        "STRIPE_WEBHOOK_SECRET": "whsec_stripe_value", "PARTNER_SIGNING_SECRET": partner,
                        "PARTNER_AUTHORIZATION": "Bearer partner-api-key"]
        XCTAssertNil(try start(distinct).map { "\($0)" })

        var shared = distinct
        shared["ADMIN_TOKEN"] = "whsec_stripe_value"
        shared["MOUNT_TOKEN"] = partner
        guard case let .secrets(error)? = try start(shared) else { return XCTFail("serve started with an admin token equal to a signing secret") }
        let text = error.description
        XCTAssertTrue(text.contains("admin token admin: secret ADMIN_TOKEN has the same value as webhook stripe's signing secret: "
                                    + "whoever holds that value could use the admin API; give the token a value of its own"), text)
        XCTAssertTrue(text.contains("admin.mount.token: secret MOUNT_TOKEN has the same value as outbound partner's signing secret"), text)
        XCTAssertFalse(text.contains("whsec_stripe_value") || text.contains(partner), "a value was printed: \(text)")

        // A secret header's value goes to the destination's receiver with every delivery.
        var header = distinct
        header["ADMIN_TOKEN"] = "Bearer partner-api-key"
        guard case let .secrets(headerError)? = try start(header) else { return XCTFail("serve started with an admin token equal to a header sent to receivers") }
        XCTAssertTrue(headerError.description.contains("admin token admin: secret ADMIN_TOKEN has the same value as outbound partner's header Authorization, sent to its receiver"),
                      headerError.description)
    }
}
