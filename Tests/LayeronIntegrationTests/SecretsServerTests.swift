import CSQLite
import Foundation
import LayeronCore
import XCTest

/// Every environment variable that could hand a test server a secret or a key it was not given.
let secretVariables: Set<String> = ["STRIPE_WEBHOOK_SECRET", "VENDOR_WEBHOOK_SECRET", "GITLAB_WEBHOOK_TOKEN", "LAYERON_ADMIN_TOKEN", "LAYERON_MASTER_KEY",
                                    "LAYERON_MASTER_KEY_FILE", "LAYERON_ENV", "LAYERON_CONFIG", "LAYERON_ADMIN_URL"]

/// A master key for runs in an environment other than development, which refuse to start without one.
let testMasterKey = String(repeating: "5a", count: 32)

extension TestServer {
    /// `layeron secrets …` against this server's config and database, the value (if any) on stdin.
    @discardableResult
    func secrets(_ words: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> CommandRun {
        let run = try CommandRun.layeron(["secrets"] + words + ["--config", configPath, "--database", databasePath], stdin: stdin,
                                         environment: environment, removing: secretVariables, directory: directory.path)
        return run
    }

    /// Posts a fresh Stripe event signed with `secret` and returns the status.
    func stripeStatus(signedWith secret: String) throws -> Int {
        let body = Array(#"{"id":"evt_\#(UUID().uuidString)","type":"invoice.paid","data":{"object":{}}}"#.utf8)
        return try post("/webhooks/stripe", headers: [("Stripe-Signature", Signing.stripeHeader(body: body, secret: secret))], body: body).status
    }
}

/// The running server and the store: a set and a rotation land without a restart, and environments
/// other than development refuse to start without a key or with a reference that resolves nowhere.
final class SecretsServerTests: XCTestCase {
    /// A refusal names what was wrong: the --grace given, a removal of a name the store lacks (not the
    /// advice to set it), and a list beside a database with no store (not just an empty table).
    func testSecretsCommandsSayWhatWasWrong() throws {
        let server = try TestServer()
        let list = try server.secrets(["list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertEqual(list.stderr, "layeron secrets list: there is no secrets store at \(server.path("data/secrets.db")) yet\n")
        XCTAssertEqual(try server.secrets(["set", "A"], stdin: "a").status, 0)
        let rotate = try server.secrets(["rotate", "A", "--grace", "24 h"], stdin: "b")
        XCTAssertEqual(rotate.status, 2, rotate.stderr)
        XCTAssertTrue(rotate.stderr.hasPrefix("layeron: --grace \"24 h\" is not a duration; write whole digits and one unit, like 24h, 30m or 0s\n"), rotate.stderr)
        let rm = try server.secrets(["rm", "NOPE"])
        XCTAssertEqual(rm.status, 1, rm.stderr)
        XCTAssertEqual(rm.stderr, "layeron secrets rm: secret NOPE is not in the store for environment development, so there is nothing to remove; `layeron secrets list` shows the names it holds\n")
    }

    /// One line ending is dropped from a value, `\n` or `\r\n`, and nothing else: a value of raw bytes
    /// ending in a carriage return lost it.
    func testOnlyOneLineEndingIsDroppedFromAValue() throws {
        let server = try TestServer()
        for (stdin, stored) in [("a\r", "a\r"), ("a\r\n", "a"), ("a\n", "a"), ("a\n\n", "a\n"), ("a\r\r\n", "a\r")] {
            XCTAssertEqual(try server.secrets(["set", "CR"], stdin: stdin).status, 0)
            XCTAssertEqual(try server.secrets(["get", "CR"]).stdout, stored, "\(Array(stdin.utf8))")
        }
    }

    func testRunningServerPicksUpASetAndARotationAndTheGraceEnds() throws {
        let server = try TestServer(environment: ["STRIPE_WEBHOOK_SECRET": "env_value"])
        server.removedVariables = secretVariables
        try server.writeStripeConfig()
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try server.stripeStatus(signedWith: "env_value"), 200, "the environment variable is the fallback")

        let set = try server.secrets(["set", "STRIPE_WEBHOOK_SECRET"], stdin: "store_v1\n")
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "store_v1") == 200 }, server.logs)
        XCTAssertEqual(try server.stripeStatus(signedWith: "env_value"), 400, "the store comes before the environment")

        // The grace starts while the command runs, some time after this: elapsed times from here are
        // at least the grace's own, however long the command takes on a loaded machine.
        let rotating = Date()
        // The grace is long enough for the rotation to land and the old value to be tried well
        // inside it on a loaded machine; an answer received before it ends was given inside it
        // (half a second kept for the store's clock, as for the end below).
        let grace: TimeInterval = 12
        let rotate = try server.secrets(["rotate", "STRIPE_WEBHOOK_SECRET", "--grace", "\(Int(grace))s"], stdin: "store_v2")
        XCTAssertEqual(rotate.status, 0, rotate.stderr)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "store_v2") == 200 }, server.logs)
        let old = try server.stripeStatus(signedWith: "store_v1")
        let answeredAfter = Date().timeIntervalSince(rotating)
        if answeredAfter < grace - 0.5 {
            XCTAssertEqual(old, 200, "inside the grace the old value still verifies")
        } else {
            XCTFail("the rotation took \(answeredAfter)s to land, longer than its \(grace)s grace: nothing checked the grace")
        }
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "store_v1") == 400 }, server.logs)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(rotating), grace - 0.5, "the old value stopped verifying before its grace ended")
        XCTAssertEqual(try server.stripeStatus(signedWith: "store_v2"), 200)
        XCTAssertTrue(server.logs.contains("secrets store changed; reloading"), server.logs)
        XCTAssertTrue(server.logs.contains("a rotation's grace ended"), server.logs)

        // Reading the store is no change to it: the server does not reload for a list.
        let reloads = server.logs.components(separatedBy: "secrets store changed; reloading").count
        XCTAssertEqual(try server.secrets(["list"]).status, 0)
        usleep(1_500_000)
        XCTAssertEqual(server.logs.components(separatedBy: "secrets store changed; reloading").count, reloads, server.logs)

        let removed = try server.secrets(["rm", "STRIPE_WEBHOOK_SECRET"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "env_value") == 200 },
                      "after rm the environment variable resolves again")

        // An admin token has no grace: rotate says so instead of promising one.
        XCTAssertEqual(try server.secrets(["set", "LAYERON_ADMIN_TOKEN"], stdin: "admin-token-v1").status, 0)
        let rotated = try server.secrets(["rotate", "LAYERON_ADMIN_TOKEN", "--grace", "1h"], stdin: "admin-token-v2")
        XCTAssertEqual(rotated.status, 0, rotated.stderr)
        XCTAssertTrue(rotated.stdout.contains("it is an admin token, which has no grace"), rotated.stdout)
    }

    /// A secrets change is applied to the running config: a config file left half-edited cannot hold
    /// back the replacement of a leaked value, and `rm` of a name the config still uses (its value
    /// kept, said in the log) does not hold back the changes after it.
    func testSecretChangesLandWhileTheConfigFileIsBrokenOrAReferenceWasRemoved() throws {
        let server = try TestServer(environment: [:])
        server.removedVariables = secretVariables
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } },
                            { "name": "other", "provider": "stripe", "path": "/webhooks/other", "secret": { "secret": "VENDOR_WEBHOOK_SECRET" } } ]
            }
            """)
        for (name, value) in [("STRIPE_WEBHOOK_SECRET", "leaked_v1"), ("VENDOR_WEBHOOK_SECRET", "other_v1")] {
            XCTAssertEqual(try server.secrets(["set", name], stdin: value).status, 0)
        }
        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try server.stripeStatus(signedWith: "leaked_v1"), 200)

        try "{ \"webhooks\": [".write(toFile: server.configPath, atomically: true, encoding: .utf8)
        XCTAssertTrue(server.waitUntil { server.logs.contains("config reload refused") }, server.logs)
        XCTAssertEqual(try server.secrets(["set", "STRIPE_WEBHOOK_SECRET"], stdin: "fresh_v2").status, 0)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "fresh_v2") == 200 }, server.logs)
        XCTAssertEqual(try server.stripeStatus(signedWith: "leaked_v1"), 400, "the leaked value still verifies")

        XCTAssertEqual(try server.secrets(["rm", "VENDOR_WEBHOOK_SECRET"]).status, 0)
        XCTAssertTrue(server.waitUntil { server.logs.contains("secret VENDOR_WEBHOOK_SECRET is no longer set") }, server.logs)
        XCTAssertEqual(try server.secrets(["set", "STRIPE_WEBHOOK_SECRET"], stdin: "fresh_v3").status, 0)
        XCTAssertTrue(try server.waitUntil { try server.stripeStatus(signedWith: "fresh_v3") == 200 }, server.logs)
        XCTAssertFalse(server.logs.contains("fresh_v3") || server.logs.contains("other_v1"), "a value reached the log")
    }

    func testProductionNeedsAKeyAndEveryReferenceAndKeepsItsValuesApart() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        server.environment = ["LAYERON_ENV": "production"]
        try server.writeStripeConfig()
        XCTAssertThrowsError(try server.start(timeout: 10)) { error in
            XCTAssertTrue("\(error)".contains("environment production needs a master key"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.path("data/master.key")), "only development makes a key")

        let key = String(repeating: "5a", count: 32)
        server.environment["LAYERON_MASTER_KEY"] = key
        XCTAssertThrowsError(try server.start(timeout: 10)) { error in
            XCTAssertTrue("\(error)".contains("webhook stripe: secret STRIPE_WEBHOOK_SECRET is not set for environment production"), "\(error)")
        }

        for (environment, value) in [("production", "prod_value"), ("development", "dev_value")] {
            let run = try server.secrets(["set", "STRIPE_WEBHOOK_SECRET", "--env", environment], stdin: value,
                                         environment: ["LAYERON_MASTER_KEY": key])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let withoutKey = try server.secrets(["list", "--env", "production"])
        XCTAssertEqual(withoutKey.status, 1)
        XCTAssertTrue(withoutKey.stderr.contains("LAYERON_MASTER_KEY"), withoutKey.stderr)
        let wrongKey = try server.secrets(["list"], environment: ["LAYERON_MASTER_KEY": String(repeating: "77", count: 32)])
        XCTAssertEqual(wrongKey.status, 1)
        XCTAssertTrue(wrongKey.stderr.contains("the master key does not open"), wrongKey.stderr)

        try server.start()
        defer { server.stop() }
        XCTAssertEqual(try server.stripeStatus(signedWith: "prod_value"), 200)
        XCTAssertEqual(try server.stripeStatus(signedWith: "dev_value"), 400, "development's value must not verify in production")
        XCTAssertFalse(server.output.contains("send a signed test event"), "only development prints the example")
    }

    /// One value of the store that does not decrypt (a damaged row) makes the whole store unreadable
    /// for the start: neither the server nor `check` may run on environment variables of the same
    /// names, which are older than the store's values.
    func testAStoreWithAValueThatDoesNotDecryptIsNotReplacedByTheEnvironment() throws {
        let server = try TestServer()
        try server.writeStripeConfig()
        let production = ["LAYERON_ENV": "production", "LAYERON_MASTER_KEY": String(repeating: "5a", count: 32)]
        for name in ["STRIPE_WEBHOOK_SECRET", "LAYERON_ADMIN_TOKEN"] {
            XCTAssertEqual(try server.secrets(["set", name], stdin: "store_\(name)", environment: production).status, 0)
        }
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open_v2(server.path("data/secrets.db"), &db, SQLITE_OPEN_READWRITE, nil), SQLITE_OK)
        XCTAssertEqual(sqlite3_exec(db, """
            UPDATE secret_versions SET sealed = (SELECT sealed FROM secret_versions WHERE name = 'STRIPE_WEBHOOK_SECRET')
            WHERE name = 'LAYERON_ADMIN_TOKEN'
            """, nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)
        let stale = production.merging(["STRIPE_WEBHOOK_SECRET": "stale_env", "LAYERON_ADMIN_TOKEN": "stale_token"]) { $1 }

        let check = try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath],
                                           environment: stale, removing: secretVariables, directory: server.directory.path)
        XCTAssertEqual(check.status, 1, check.stdout + check.stderr)
        XCTAssertTrue(check.stderr.contains("cannot read the secrets store for environment production"), check.stderr)
        server.removedVariables = secretVariables
        server.environment = stale
        XCTAssertThrowsError(try server.start(timeout: 10))
        XCTAssertTrue(server.logs.contains("cannot read the secrets store for environment production"), server.logs)
    }

    /// `layeron secrets rekey` reseals the store under the key on standard input. With a key from
    /// `LAYERON_MASTER_KEY` the old key stops opening the store and the new one reads every value; in
    /// development the key file beside the database is replaced, so the next command just works.
    func testRekeyMovesTheStoreToANewMasterKey() throws {
        let server = try TestServer()
        try server.writeStripeConfig()
        let oldKey = String(repeating: "5a", count: 32)
        let newKey = String(repeating: "c3", count: 32)
        let production = ["LAYERON_ENV": "production"]
        XCTAssertEqual(try server.secrets(["set", "STRIPE_WEBHOOK_SECRET"], stdin: "prod_value",
                                          environment: production.merging(["LAYERON_MASTER_KEY": oldKey]) { $1 }).status, 0)
        server.removedVariables = secretVariables
        // An environment variable left from before the value moved into the store: it must never
        // take over from a store that holds the value but cannot be read.
        server.environment = production.merging(["LAYERON_MASTER_KEY": oldKey, "LAYERON_ADMIN_TOKEN": "t",
                                                 "STRIPE_WEBHOOK_SECRET": "stale_env"]) { $1 }
        try server.start()
        defer { server.stop() }

        let refused = try server.secrets(["rekey"], stdin: "not a key", environment: production.merging(["LAYERON_MASTER_KEY": oldKey]) { $1 })
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("standard input is not 32 bytes"), refused.stderr)
        let rekeyed = try server.secrets(["rekey"], stdin: newKey + "\n", environment: production.merging(["LAYERON_MASTER_KEY": oldKey]) { $1 })
        XCTAssertEqual(rekeyed.status, 0, rekeyed.stderr)
        XCTAssertTrue(rekeyed.stdout.contains("resealed 1 value"), rekeyed.stdout)
        XCTAssertTrue(rekeyed.stdout.contains("set LAYERON_MASTER_KEY to the new key"), rekeyed.stdout)
        XCTAssertFalse((rekeyed.stdout + rekeyed.stderr).contains(newKey), "the key is never printed")

        let withOld = try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"], environment: production.merging(["LAYERON_MASTER_KEY": oldKey]) { $1 })
        XCTAssertEqual(withOld.status, 1)
        XCTAssertTrue(withOld.stderr.contains("the master key does not open"), withOld.stderr)
        let withNew = try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"], environment: production.merging(["LAYERON_MASTER_KEY": newKey]) { $1 })
        XCTAssertEqual(withNew.status, 0, withNew.stderr)
        XCTAssertEqual(withNew.stdout, "prod_value")

        // The running server, still on the old key, cannot read the resealed store: it says so, refuses
        // the reload and goes on verifying with the values it has.
        XCTAssertTrue(server.waitUntil { server.logs.contains("secrets reload refused, keeping the running values: cannot read the secrets store: the master key does not open") }, server.logs)
        XCTAssertEqual(try server.stripeStatus(signedWith: "prod_value"), 200)
        XCTAssertEqual(try server.stripeStatus(signedWith: "stale_env"), 400)
        // A start on the old key refuses, rather than run on the stale environment variable.
        server.stop()
        XCTAssertThrowsError(try server.start(timeout: 10))
        XCTAssertTrue(server.logs.contains("layeron serve: the master key does not open the secrets store"), server.logs)

        // Development: the key file layeron made is replaced once the store is resealed.
        let developmentServer = try TestServer()
        try developmentServer.writeStripeConfig()
        XCTAssertEqual(try developmentServer.secrets(["set", "STRIPE_WEBHOOK_SECRET"], stdin: "dev_value").status, 0)
        let keyFile = developmentServer.path("data/master.key")
        let before = try String(contentsOfFile: keyFile, encoding: .utf8)
        let developmentRekey = try developmentServer.secrets(["rekey"], stdin: newKey)
        XCTAssertEqual(developmentRekey.status, 0, developmentRekey.stderr)
        XCTAssertTrue(developmentRekey.stdout.contains("now holds the new key"), developmentRekey.stdout)
        let after = try String(contentsOfFile: keyFile, encoding: .utf8)
        XCTAssertNotEqual(before, after)
        XCTAssertEqual(after.trimmingCharacters(in: .whitespacesAndNewlines), newKey)
        XCTAssertEqual(try mode(keyFile), 0o600)
        let read = try developmentServer.secrets(["get", "STRIPE_WEBHOOK_SECRET"])
        XCTAssertEqual(read.status, 0, read.stderr)
        XCTAssertEqual(read.stdout, "dev_value")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: developmentServer.path("data")).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// `layeron check` resolves the config's secrets as `serve` would: outside development a reference
    /// that resolves nowhere fails the check, naming the file, the owner and the reference; in
    /// development it is a note, since `serve` will generate it. No value is ever printed.
    func testCheckReportsReferencesThatResolveNowhere() throws {
        let server = try TestServer()
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "plugins": { "dir": "\(server.pluginsDir)" },
              "webhooks": [ { "name": "stripe", "provider": "stripe", "secret": { "secret": "STRIPE_WEBHOOK_SECRET" } } ]
            }
            """)
        let check = { (environment: String, variables: [String: String]) throws -> CommandRun in
            try CommandRun.layeron(["check", "--config", server.configPath, "--database", server.databasePath, "--env", environment],
                                   environment: variables, removing: secretVariables, directory: server.directory.path)
        }
        let development = try check("development", [:])
        XCTAssertEqual(development.status, 0, development.stderr)
        XCTAssertTrue(development.stdout.contains("\(server.configPath): webhook stripe: secret STRIPE_WEBHOOK_SECRET is not set for development; serve will give it a random value"), development.stdout)

        let key = String(repeating: "5a", count: 32)
        let missing = try check("production", ["LAYERON_MASTER_KEY": key])
        XCTAssertEqual(missing.status, 1, missing.stdout)
        XCTAssertTrue(missing.stderr.contains("\(server.configPath): webhook stripe: secret STRIPE_WEBHOOK_SECRET is not set for environment production"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("secret LAYERON_ADMIN_TOKEN is not set for environment production"), missing.stderr)

        XCTAssertEqual(try server.secrets(["set", "STRIPE_WEBHOOK_SECRET", "--env", "production"], stdin: "prod_value",
                                          environment: ["LAYERON_MASTER_KEY": key]).status, 0)
        let resolved = try check("production", ["LAYERON_MASTER_KEY": key, "LAYERON_ADMIN_TOKEN": "admin_value"])
        XCTAssertEqual(resolved.status, 0, resolved.stderr)
        XCTAssertTrue(resolved.stdout.contains("ok (environment production)"), resolved.stdout)
        let withoutKey = try check("production", ["LAYERON_ADMIN_TOKEN": "admin_value"])
        XCTAssertEqual(withoutKey.status, 1, "the store exists but cannot be opened: serve would not start either")
        XCTAssertTrue(withoutKey.stderr.contains("LAYERON_MASTER_KEY"), withoutKey.stderr)
        for run in [development, missing, resolved, withoutKey] {
            XCTAssertFalse((run.stdout + run.stderr).contains("prod_value") || (run.stdout + run.stderr).contains("admin_value"))
        }
    }

    func testAValueMovedToAnotherNameStopsTheStartInsteadOfBeingReplaced() throws {
        let server = try TestServer()
        server.removedVariables = secretVariables
        try server.writeStripeConfig()
        let set = try server.secrets(["set", "SOME_OTHER_SECRET"], stdin: "moved_value")
        XCTAssertEqual(set.status, 0, set.stderr)
        var db: OpaquePointer?
        XCTAssertEqual(sqlite3_open(server.path("data/secrets.db"), &db), SQLITE_OK)
        XCTAssertEqual(sqlite3_exec(db, "UPDATE secret_versions SET name = 'STRIPE_WEBHOOK_SECRET'", nil, nil, nil), SQLITE_OK)
        sqlite3_close(db)

        XCTAssertThrowsError(try server.start(timeout: 10)) { error in
            XCTAssertTrue("\(error)".contains("secret STRIPE_WEBHOOK_SECRET (environment development, version 1)"), "\(error)")
            XCTAssertTrue("\(error)".contains("does not decrypt"), "\(error)")
            XCTAssertFalse("\(error)".contains("moved_value"))
        }
        let get = try server.secrets(["get", "STRIPE_WEBHOOK_SECRET"])
        XCTAssertEqual(get.status, 1, "the moved value must not open under its new name")
        XCTAssertTrue(get.stderr.contains("does not decrypt"), get.stderr)
    }
}
