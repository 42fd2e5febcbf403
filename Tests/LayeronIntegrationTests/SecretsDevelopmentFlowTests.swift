import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// What a newcomer does after `make run`: no environment variables, paste the printed `curl`, then
/// `layeron events list`. The printed lines name the secrets that were created, never their values.
final class SecretsDevelopmentFlowTests: XCTestCase {
    /// With `admin.listen` on port 0 in the config, only the running server knows its admin port:
    /// the printed `events list` names it.
    func testThePrintedListWorksWhenTheConfigAsksForAnyFreeAdminPort() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        server.setsAdminToken = false
        server.adminListen = nil
        try server.writeConfig("""
            {
              "admin": { "listen": "127.0.0.1:0", "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "database": "data/layeron.db",
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } } ]
            }
            """)
        try server.start()
        defer { server.stop() }
        XCTAssertTrue(server.waitUntil { server.output.contains("then list it:\n  ") && server.output.hasSuffix("\n") }, server.output)
        let lines = server.output.split(separator: "\n").map(String.init)
        let listAt = try XCTUnwrap(lines.firstIndex(of: "then list it:"))
        let list = lines[listAt + 1].trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(list.contains("--admin http://\(server.adminURL.dropFirst("http://".count))"), list)
        let listed = try CommandRun.bash(list, removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(listed.status, 0, listed.stderr)
    }

    /// An empty environment variable is no value (an HMAC key anyone can compute): in development the
    /// reference gets a random value as an unset one does, and the empty key verifies nothing.
    func testAnEmptyVariableInDevelopmentIsGivenARandomValue() throws {
        let server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": ""])
        server.removedVariables = secretVariables.subtracting(["STRIPE_WEBHOOK_SECRET"])
        try server.writeStripeConfig()
        try server.start()
        defer { server.stop() }
        XCTAssertTrue(server.waitUntil { server.output.contains("development secrets created with random values") }, server.output)
        XCTAssertTrue(server.output.contains("STRIPE_WEBHOOK_SECRET"), server.output)
        XCTAssertEqual(try server.stripeStatus(signedWith: ""), 400)
    }

    /// A custom scheme's `secretEncoding` decides the form of its random value: a `whsec_` value was
    /// made for every scheme, logged as "not hex" and answered 500. A public key is not made up at
    /// all (a random one verified nothing): `check` says to set it, and `serve` stops on it unset.
    func testDevelopmentSecretsTakeTheFormTheirSchemeReads() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        func config(_ hooks: [String]) -> String {
            #"{ "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } }, "database": "data/layeron.db", "plugins": { "dir": "\#(server.pluginsDir)" }, "webhooks": [ \#(hooks.joined(separator: ", ")) ] }"#
        }
        func custom(_ name: String, _ signature: String) -> String {
            #"{ "name": "\#(name)", "provider": "custom", "signature": { "header": "x-sig", \#(signature) } }"#
        }
        let hex = custom("hex", #""algorithm": "hmac-sha256", "secretEncoding": "hex", "secret": { "secret": "GEN_HEX" }"#)
        let base64 = custom("b64", #""algorithm": "hmac-sha256", "secretEncoding": "base64", "secret": { "secret": "GEN_B64" }"#)
        let publicKey = custom("pk", #""algorithm": "ed25519", "secret": { "secret": "GEN_PK" }"#)
        try server.writeConfig(config([hex, base64, publicKey]))
        let check = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", "development"],
                                           removing: secretVariables, directory: server.directory.path)
        XCTAssertNotEqual(check.status, 0, check.stdout)
        XCTAssertTrue((check.stdout + check.stderr).contains("webhook pk: secret GEN_PK is not set for environment development and holds a public key (an Ed25519 key: the provider signs with its private key and publishes this one), which serve cannot make up; set it to the provider's public key with `layeron secrets set GEN_PK --env development` or the environment variable GEN_PK"),
                      check.stdout + check.stderr)

        try server.writeConfig(config([hex, base64]))
        try server.start()
        defer { server.stop() }
        XCTAssertTrue(server.waitUntil { server.output.contains("development secrets created") }, server.output)
        let body = Array(#"{"type":"t"}"#.utf8)
        for (name, path, encoding) in [("GEN_HEX", "/webhooks/hex", ByteEncoding.hex), ("GEN_B64", "/webhooks/b64", .base64)] {
            let value = try server.secrets(["get", name])
            XCTAssertEqual(value.status, 0, value.stderr)
            let key = try XCTUnwrap(encoding.decode(value.stdout.trimmingCharacters(in: .whitespacesAndNewlines)[...]), value.stdout)
            XCTAssertEqual(key.count, 32)
            let signature = ByteEncoding.hex.encode(HMAC.authenticate(.sha256, key: key, message: body))
            XCTAssertEqual(try server.post(path, headers: [("X-Sig", signature)], body: body).status, 200, name)
        }
        XCTAssertFalse(server.logs.contains("is not hex"), server.logs)
    }

    /// A webhook added to the config of a running development server gets its random secret as it
    /// would at a start, instead of the reload being refused for an unset reference.
    func testAReloadInDevelopmentGivesANewReferenceItsRandomValue() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        let hook = #"{ "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } }"#
        let added = #"{ "name": "other", "provider": "stripe", "path": "/webhooks/other", "secret": { "secret": "VENDOR_WEBHOOK_SECRET" } }"#
        func config(_ hooks: String) -> String {
            #"{ "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } }, "database": "data/layeron.db", "plugins": { "dir": "\#(server.pluginsDir)" }, "webhooks": [ \#(hooks) ] }"#
        }
        try server.writeConfig(config(hook))
        try server.start()
        defer { server.stop() }
        try server.writeConfig(config(hook + ", " + added))
        XCTAssertTrue(server.waitUntil { server.logs.contains("config reloaded") }, server.logs)
        XCTAssertFalse(server.logs.contains("config reload refused"), server.logs)
        let value = try server.secrets(["get", "VENDOR_WEBHOOK_SECRET"])
        XCTAssertEqual(value.status, 0, value.stderr)
        XCTAssertFalse(server.logs.contains(value.stdout), "the value reached the log")
        let body = Array(#"{"id":"evt_dev_reload","type":"invoice.paid","data":{"object":{}}}"#.utf8)
        let sent = try server.post("/webhooks/other", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: value.stdout))], body: body)
        XCTAssertEqual(sent.status, 200, sent.body)
    }

    /// `secrets rm` of a name the config still uses keeps its running value; a config reload after it
    /// keeps it too, instead of giving the reference a new random value that refuses every sender
    /// still signing with the old one.
    func testAReloadInDevelopmentKeepsTheRunningValueOfASecretRemovedFromTheStore() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        try server.writeStripeConfig()
        try server.start()
        defer { server.stop() }
        let value = try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"])
        XCTAssertEqual(value.status, 0, value.stderr)
        XCTAssertEqual(try server.stripeStatus(signedWith: value.stdout), 200)

        XCTAssertEqual(try server.secrets(["rm", "STRIPE_WEBHOOK_SECRET"]).status, 0)
        XCTAssertTrue(server.waitUntil { server.logs.contains("secret STRIPE_WEBHOOK_SECRET is no longer set") }, server.logs)
        let reloads = server.logs.components(separatedBy: "config reloaded").count
        server.hangUp()
        XCTAssertTrue(server.waitUntil { server.logs.components(separatedBy: "config reloaded").count > reloads }, server.logs)
        XCTAssertFalse(server.logs.contains("development secrets created with random values"), server.logs)
        XCTAssertEqual(try server.stripeStatus(signedWith: value.stdout), 200, "the running value was replaced")
        XCTAssertNotEqual(try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"]).status, 0, "a value was saved in the store")
    }

    func testMakeRunThenThePrintedCurlThenEventsListJustWorks() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        server.setsAdminToken = false
        server.adminListen = nil
        let billingLog = server.path("data/billing.log")
        try PluginBuilder.install(source: PluginBuilder.examplePath("billing"), into: server.pluginsDir, name: "billing.so")
        try server.writeConfig("""
            {
              "admin": { "listen": "127.0.0.1:\(try Self.freePort())", "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "database": "data/layeron.db",
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "billing": { "output": "\(billingLog)" } } },
              "webhooks": [
                { "name": "stripe", "provider": "stripe", "path": "/webhooks/stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" },
                  "on": { "checkout.session.completed": "billing.fulfill_checkout" } },
                { "name": "vendor", "provider": "custom", "path": "/webhooks/vendor",
                  "signature": { "header": "x-vendor-signature", "algorithm": "hmac-sha256", "encoding": "hex",
                                 "secret": { "secret": "VENDOR_WEBHOOK_SECRET" }, "signedPayload": "rawBody" },
                  "handler": "billing.fulfill_checkout" }
              ]
            }
            """)
        try server.start()
        defer { server.stop() }
        XCTAssertTrue(server.waitUntil { server.output.contains("then list it:\n  ") && server.output.hasSuffix("\n") }, server.output)
        let lines = server.output.split(separator: "\n").map(String.init)
        let created = try XCTUnwrap(lines.first { $0.hasPrefix("development secrets created") }, server.output)
        for name in ["LAYERON_ADMIN_TOKEN", "STRIPE_WEBHOOK_SECRET", "VENDOR_WEBHOOK_SECRET"] {
            XCTAssertTrue(created.contains(name), created)
        }

        let example = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("send a signed test event") })
        let listAt = try XCTUnwrap(lines.firstIndex(of: "then list it:"))
        let paste = lines[(example + 1)..<listAt].joined(separator: "\n")
        XCTAssertTrue(paste.contains("curl") && paste.contains("secrets get STRIPE_WEBHOOK_SECRET"), paste)
        let sent = try CommandRun.bash(paste, removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(sent.status, 0, sent.stderr)
        let id = try XCTUnwrap(try JSONParser.parse(Array(sent.stdout.utf8))["id"]?.stringValue, sent.stdout + sent.stderr)

        let list = lines[listAt + 1].trimmingCharacters(in: .whitespaces)
        XCTAssertFalse(list.contains("--admin"), "the admin address comes from the config: \(list)")
        let listed = try CommandRun.bash(list, removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains(id) && listed.stdout.contains("checkout.session.completed"), listed.stdout)

        var values: [String] = []
        for name in ["LAYERON_ADMIN_TOKEN", "STRIPE_WEBHOOK_SECRET", "VENDOR_WEBHOOK_SECRET"] {
            let get = try server.secrets(["get", name])
            XCTAssertEqual(get.status, 0, get.stderr)
            if name == "LAYERON_ADMIN_TOKEN" {
                XCTAssertEqual(get.stdout.count, 64, "an admin token is 32 random bytes in hex")
            } else {
                XCTAssertTrue(get.stdout.hasPrefix("whsec_") && get.stdout.count == 50, "a webhook secret is whsec_ and 32 random bytes in base64: \(get.stdout.count) characters")
            }
            values.append(get.stdout)
        }
        XCTAssertEqual(Set(values).count, 3)
        for value in values {
            XCTAssertFalse(server.output.contains(value), "serve printed a secret value")
            XCTAssertFalse(server.logs.contains(value), "a log line holds a secret value")
            XCTAssertFalse(sent.stdout.contains(value) || listed.stdout.contains(value) || listed.stderr.contains(value))
        }
        for file in ["data/master.key", "data/secrets.db"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: server.path(file))[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, file)
        }

        // A second start keeps the values it made and creates nothing.
        server.stop()
        try server.start()
        XCTAssertTrue(server.waitUntil { server.output.components(separatedBy: "then list it:").count == 3 }, server.output)
        XCTAssertEqual(server.output.components(separatedBy: "development secrets created").count, 2, server.output)
        XCTAssertEqual(try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"]).stdout, values[1])
    }

    /// The config allows a secret from the environment variable when the store lacks it; the printed
    /// `curl`, pasted in the shell that exported it, signs with that value too.
    func testThePrintedCurlSignsWithTheEnvironmentVariableWhenTheStoreLacksTheSecret() throws {
        let secret = "whsec_from_the_environment"
        let (server, sent) = try pasteThePrintedExample(webhookFields: "", secret: secret)
        defer { server.stop() }
        XCTAssertTrue(sent.stderr.contains("wrote the environment variable STRIPE_WEBHOOK_SECRET"), sent.stderr)
    }

    /// A webhook that answers only its `host` is sent one it matches: the host itself, or for a
    /// wildcard a name under it (without a Host the server answers 404 for host 127.0.0.1).
    func testThePrintedCurlSendsAHostTheWebhooksHostMatches() throws {
        for (host, sends) in [("*.example.com", "dev.example.com"), ("hooks.example.com", "hooks.example.com"), ("[::1]", "[::1]")] {
            let (server, _) = try pasteThePrintedExample(webhookFields: #""host": "\#(host)", "#, secret: "whsec_for_\(sends)")
            defer { server.stop() }
            XCTAssertTrue(server.output.contains("-H 'Host: \(sends)'"), server.output)
        }
    }

    /// Starts a development server whose one Stripe webhook has `webhookFields`, its secret in the
    /// environment variable, and runs the printed example in a shell that exported it; it must be
    /// accepted (an event id in the answer).
    private func pasteThePrintedExample(webhookFields: String, secret: String,
                                        file: StaticString = #filePath, line: UInt = #line) throws -> (TestServer, CommandRun) {
        let server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": secret])
        try server.writeConfig("""
            {
              "database": "data/layeron.db",
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "stripe", "provider": "stripe", \(webhookFields)"path": "/webhooks/stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } } ]
            }
            """)
        try server.start()
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.output.contains("then list it:\n  ") && server.output.hasSuffix("\n") }, server.output, file: file, line: line)
        let lines = server.output.split(separator: "\n").map(String.init)
        XCTAssertFalse(lines.contains { $0.hasPrefix("development secrets created") && $0.contains("STRIPE_WEBHOOK_SECRET") }, server.output, file: file, line: line)
        let example = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("send a signed test event") }, file: file, line: line)
        let listAt = try XCTUnwrap(lines.firstIndex(of: "then list it:"), file: file, line: line)
        let paste = lines[(example + 1)..<listAt].joined(separator: "\n")
        let sent = try CommandRun.bash(paste, environment: ["STRIPE_WEBHOOK_SECRET": secret], removing: secretVariables,
                                       directory: server.directory.path)
        XCTAssertEqual(sent.status, 0, sent.stderr, file: file, line: line)
        XCTAssertNotNil(try JSONParser.parse(Array(sent.stdout.utf8))["id"]?.stringValue, sent.stdout + sent.stderr, file: file, line: line)
        return (server, sent)
    }

    /// A port nothing listens on right now, for a config that names its admin address.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind failed") }
        return UInt16(bigEndian: address.sin_port)
    }
}
