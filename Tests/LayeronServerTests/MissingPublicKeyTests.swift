import Foundation
import LayeronCore
@testable import LayeronServer
import XCTest

/// `serve` stopping on an unset secret that holds a provider's public key said only "set it with…",
/// as for a shared secret, while `layeron check` said what it holds: both now say it.
final class MissingPublicKeyTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-public-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("plugins"), withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    func testServeSaysAnUnsetPublicKeyIsOneAndHowToSetIt() throws {
        let configPath = directory.appendingPathComponent("layeron.json").path
        try #"""
            { "plugins": { "dir": "\#(directory.appendingPathComponent("plugins").path)" }, "webhooks": [
              { "name": "discord", "provider": "discord", "secret": { "secret": "DISCORD_PUBLIC_KEY" } },
              { "name": "sendgrid", "provider": "sendgrid", "secret": { "secret": "SENDGRID_VERIFICATION_KEY" } },
              { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } } ] }
            """#.write(toFile: configPath, atomically: true, encoding: .utf8)
        let options = ServeOptions(configPath: configPath, listen: ListenAddress(parsing: "127.0.0.1:0"),
                                   adminListen: ListenAddress(parsing: "127.0.0.1:0"),
                                   database: directory.appendingPathComponent("data/layeron.db").path, environment: "production")
        let failure: ServeError
        do {
            let server = try Server.start(options: options, resolver: DictionarySecretResolver([:]), logger: .discard)
            server.stop()
            return XCTFail("serve started with its secrets unset")
        } catch {
            failure = error
        }
        guard case let .secrets(error) = failure else { return XCTFail("\(failure)") }
        let lines = error.description.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            "\(configPath): webhook discord: secret DISCORD_PUBLIC_KEY is not set for environment production and holds a public key (an Ed25519 "
                + "key: the provider signs with its private key and publishes this one), which serve cannot make up; set it to the provider's "
                + "public key with `layeron secrets set DISCORD_PUBLIC_KEY --env production` or the environment variable DISCORD_PUBLIC_KEY",
            "\(configPath): webhook sendgrid: secret SENDGRID_VERIFICATION_KEY is not set for environment production and holds a public key "
                + "(an ECDSA P-256 key: the provider signs with its private key and publishes this one), which serve cannot make up; set it to "
                + "the provider's public key with `layeron secrets set SENDGRID_VERIFICATION_KEY --env production` or the environment variable "
                + "SENDGRID_VERIFICATION_KEY",
            "\(configPath): webhook stripe: secret STRIPE_WEBHOOK_SECRET is not set for environment production; set it with "
                + "`layeron secrets set STRIPE_WEBHOOK_SECRET --env production` or the environment variable STRIPE_WEBHOOK_SECRET",
        ])
    }
}
