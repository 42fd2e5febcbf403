import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

final class SecretStoreTests: XCTestCase {
    var directory: URL!
    var path: String { directory.appendingPathComponent("data/secrets.db").path }
    let key = MasterKey.random()
    let t0: Int64 = 1_800_000_000_000

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-secrets-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func open(_ key: MasterKey? = nil) throws -> SecretStore {
        try SecretStore(path: path, key: key ?? self.key)
    }

    private func texts(_ values: [SecretValue]) -> [String] { values.map(\.text) }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testSetListRotateRemoveRoundTrip() throws {
        let store = try open()
        XCTAssertEqual(try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("whsec_one"), now: t0), 1)
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0)), ["whsec_one"])
        XCTAssertEqual(try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("whsec_two"), now: t0 + 1), 2)
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0 + 1)), ["whsec_two"],
                       "set replaces: the old value stops verifying at once")

        let rotated = try store.rotate("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("whsec_three"),
                                       grace: .seconds(60), now: t0 + 10)
        XCTAssertEqual(rotated.version, 3)
        XCTAssertEqual(rotated.graceEndsAt, t0 + 60_010)
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0 + 60_009)), ["whsec_three", "whsec_two"])
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0 + 60_010)), ["whsec_three"])
        XCTAssertEqual(try store.nextGraceEnd(environment: "development", after: t0 + 10), t0 + 60_010)
        XCTAssertNil(try store.nextGraceEnd(environment: "development", after: t0 + 60_010))
        XCTAssertNil(try store.nextGraceEnd(environment: "production", after: t0))

        try store.set("VENDOR_WEBHOOK_SECRET", environment: "development", value: SecretValue("vendor"), now: t0 + 20)
        let listed = try store.list(now: t0 + 30)
        XCTAssertEqual(listed, [
            SecretListing(name: "STRIPE_WEBHOOK_SECRET", environment: "development", version: 3, liveValues: 2, updatedAt: t0 + 10, graceEndsAt: t0 + 60_010),
            SecretListing(name: "VENDOR_WEBHOOK_SECRET", environment: "development", version: 1, liveValues: 1, updatedAt: t0 + 20, graceEndsAt: nil),
        ])
        XCTAssertEqual(try store.list(now: t0 + 70_000).first?.liveValues, 1)

        try store.remove("VENDOR_WEBHOOK_SECRET", environment: "development", now: t0 + 40)
        XCTAssertEqual(try store.values("VENDOR_WEBHOOK_SECRET", environment: "development", now: t0 + 40), [])
        XCTAssertThrowsError(try store.remove("VENDOR_WEBHOOK_SECRET", environment: "development", now: t0 + 41)) { error in
            guard case .notFound("VENDOR_WEBHOOK_SECRET", "development")? = error as? SecretStoreError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try store.rotate("NEVER_SET", environment: "development", value: SecretValue("x"), grace: .seconds(1), now: t0))
        XCTAssertThrowsError(try store.set("not a name", environment: "development", value: SecretValue("x"), now: t0))
        XCTAssertThrowsError(try store.set("EMPTY", environment: "development", value: SecretValue(""), now: t0))

        // A reopened store (another process, the CLI) sees the same state.
        XCTAssertEqual(texts(try open().values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0 + 50)), ["whsec_three", "whsec_two"])
    }

    func testTheFileIsPrivateAndHoldsNoPlaintext() throws {
        let store = try open()
        let values = ["whsec_plaintext_must_not_appear", "vendor-plaintext-must-not-appear"]
        try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue(values[0]), now: t0)
        try store.rotate("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue(values[1]), grace: .seconds(5), now: t0 + 1)
        XCTAssertEqual(try mode(path), 0o600)
        let files = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: (path as NSString).deletingLastPathComponent + "/" + file))
            for value in values {
                XCTAssertNil(bytes.range(of: Data(value.utf8)), "\(file) holds a plaintext value")
            }
        }
        XCTAssertThrowsError(try open(MasterKey.random())) { error in
            guard case .wrongKey? = error as? SecretStoreError else { return XCTFail("\(error)") }
        }
    }

    func testTamperedOrMovedValuesRefuseToDecrypt() throws {
        let store = try open()
        try store.set("STRIPE_WEBHOOK_SECRET", environment: "production", value: SecretValue("whsec_bound"), now: t0)
        let db = try SQLiteConnection(path: path)

        try db.execute("UPDATE secret_versions SET name = 'OTHER_SECRET' WHERE name = 'STRIPE_WEBHOOK_SECRET'")
        assertCannotDecrypt(try store.values("OTHER_SECRET", environment: "production", now: t0), name: "OTHER_SECRET")
        try db.execute("UPDATE secret_versions SET name = 'STRIPE_WEBHOOK_SECRET', environment = 'development'")
        assertCannotDecrypt(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0), name: "STRIPE_WEBHOOK_SECRET")
        try db.execute("UPDATE secret_versions SET environment = 'production', version = 2")
        assertCannotDecrypt(try store.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0), name: "STRIPE_WEBHOOK_SECRET")
        try db.execute("UPDATE secret_versions SET version = 1")
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0)), ["whsec_bound"])

        // Flip one ciphertext byte (just past the 12-byte nonce).
        let read = try db.statement("SELECT sealed FROM secret_versions")
        XCTAssertTrue(try read.step())
        var sealed = read.blob(0)
        read.reset()
        sealed[12] ^= 0x01
        try db.statement("UPDATE secret_versions SET sealed = ?1").bind(1, blob: sealed).run()
        assertCannotDecrypt(try store.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0), name: "STRIPE_WEBHOOK_SECRET")
    }

    /// A rekey reseals every value of every environment, grace values included, under the new key:
    /// afterwards only the new key opens the store, and every value reads as before.
    func testRekeyResealsEveryValueUnderTheNewKey() throws {
        let store = try open()
        try store.set("STRIPE_WEBHOOK_SECRET", environment: "production", value: SecretValue("whsec_old"), now: t0)
        try store.rotate("STRIPE_WEBHOOK_SECRET", environment: "production", value: SecretValue("whsec_new"),
                         grace: TimeSpan(parsing: "1h")!, now: t0 + 1)
        try store.set("VENDOR_WEBHOOK_SECRET", environment: "development", value: SecretValue("vendor"), now: t0 + 2)
        let newKey = MasterKey.random()

        XCTAssertEqual(try store.rekey(to: newKey, now: t0 + 3), 3)

        XCTAssertThrowsError(try open()) { error in
            guard case SecretStoreError.wrongKey = error else { return XCTFail("\(error)") }
        }
        let reopened = try open(newKey)
        XCTAssertEqual(texts(try reopened.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0 + 4)), ["whsec_new", "whsec_old"])
        XCTAssertEqual(texts(try reopened.values("VENDOR_WEBHOOK_SECRET", environment: "development", now: t0 + 4)), ["vendor"])
        XCTAssertEqual(try reopened.list(now: t0 + 4).count, 2)
    }

    private func assertCannotDecrypt(_ body: @autoclosure () throws -> [SecretValue], name: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case let .cannotDecrypt(_, failed, _, _)? = error as? SecretStoreError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(failed, name, line: line)
            XCTAssertFalse("\(error)".contains("whsec_bound"), line: line)
        }
    }

    func testEnvironmentsAreSeparate() throws {
        let store = try open()
        try store.set("STRIPE_WEBHOOK_SECRET", environment: "development", value: SecretValue("dev"), now: t0)
        try store.set("STRIPE_WEBHOOK_SECRET", environment: "production", value: SecretValue("prod"), now: t0)
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0)), ["dev"])
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0)), ["prod"])
        XCTAssertEqual(try store.values("STRIPE_WEBHOOK_SECRET", environment: "staging", now: t0), [])
        try store.remove("STRIPE_WEBHOOK_SECRET", environment: "development", now: t0)
        XCTAssertEqual(texts(try store.values("STRIPE_WEBHOOK_SECRET", environment: "production", now: t0)), ["prod"])
        XCTAssertEqual(try store.allValues(environment: "development", now: t0).count, 0)
    }

    func testResolutionOrderIsTheStoreThenTheEnvironment() throws {
        let store = try open()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try store.set("IN_BOTH", environment: "production", value: SecretValue("from-store"), now: now)
        try store.set("IN_BOTH", environment: "development", value: SecretValue("other-environment"), now: now)
        try store.set("ROTATING", environment: "production", value: SecretValue("old"), now: now)
        try store.rotate("ROTATING", environment: "production", value: SecretValue("new"), grace: .seconds(3600), now: now)
        let failures = FailureLog()
        let resolver = ChainedSecretResolver([
            SecretStoreResolver(store: store, environment: "production") { failures.add("\($0)") },
            DictionarySecretResolver(["IN_BOTH": "from-env", "ENV_ONLY": "env-value", "ROTATING": "env-rotating"]),
        ])
        for view in [resolver, resolver.current()] as [any SecretResolver] {
            XCTAssertEqual(view.resolve(SecretReference(name: "IN_BOTH"))?.text, "from-store")
            XCTAssertEqual(view.resolve(SecretReference(name: "ENV_ONLY"))?.text, "env-value")
            XCTAssertEqual(texts(view.resolveAll(SecretReference(name: "ROTATING"))), ["new", "old"])
            XCTAssertNil(view.resolve(SecretReference(name: "NOWHERE")))
        }
        XCTAssertEqual(failures.lines, [])
    }

    /// A store that cannot be read (resealed under another key) holds the values: an environment
    /// variable of the same name must not answer in its place, and an empty variable is no value.
    func testAnUnreadableStoreIsNotReplacedByTheEnvironment() throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try open().set("IN_BOTH", environment: "production", value: SecretValue("from-store"), now: now)
        let stale = try open()
        XCTAssertEqual(try open().rekey(to: MasterKey.random(), now: now), 1)
        let failures = FailureLog()
        let resolver = ChainedSecretResolver([
            SecretStoreResolver(store: stale, environment: "production") { failures.add("\($0)") },
            DictionarySecretResolver(["IN_BOTH": "stale-env", "EMPTY": ""]),
        ])
        let view = resolver.current()
        XCTAssertNotNil(view.unreadable)
        XCTAssertEqual(view.resolveAll(SecretReference(name: "IN_BOTH")), [])
        XCTAssertEqual(failures.lines.count, 1)
        XCTAssertNil(DictionarySecretResolver(["EMPTY": ""]).resolve(SecretReference(name: "EMPTY")))
    }

    func testMasterKeySources() throws {
        let keyFile = directory.appendingPathComponent("data/master.key").path
        XCTAssertThrowsError(try MasterKey.load(variables: [:], developmentFile: nil, create: true, environment: "production")) { error in
            guard case .noMasterKey("production")? = error as? SecretStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("LAYERON_MASTER_KEY"))
        }
        let created = try MasterKey.load(variables: [:], developmentFile: keyFile, create: true, environment: "development")
        XCTAssertEqual(created.source, .created(keyFile))
        XCTAssertEqual(try mode(keyFile), 0o600)
        let again = try MasterKey.load(variables: [:], developmentFile: keyFile, create: true, environment: "development")
        XCTAssertEqual(again.source, .file(keyFile))
        XCTAssertEqual(again.key.bytes, created.key.bytes)
        XCTAssertEqual("\(created.key)", "<master key>")

        let hex = String(repeating: "ab", count: 32)
        let fromEnvironment = try MasterKey.load(variables: ["LAYERON_MASTER_KEY": hex], developmentFile: nil, create: false, environment: "production")
        XCTAssertEqual(fromEnvironment.key.bytes, [UInt8](repeating: 0xab, count: 32))
        let base64 = Data(repeating: 0xab, count: 32).base64EncodedString()
        XCTAssertEqual(try MasterKey.load(variables: ["LAYERON_MASTER_KEY": base64], developmentFile: nil, create: false, environment: "production").key.bytes,
                       fromEnvironment.key.bytes)
        XCTAssertEqual(try MasterKey.load(variables: ["LAYERON_MASTER_KEY_FILE": keyFile], developmentFile: nil, create: false, environment: "production").key.bytes,
                       created.key.bytes)
        XCTAssertThrowsError(try MasterKey.load(variables: ["LAYERON_MASTER_KEY": "too-short-secret-key"], developmentFile: nil, create: false,
                                                environment: "production")) { error in
            XCTAssertFalse("\(error)".contains("too-short-secret-key"), "\(error)")
        }
    }
}

/// Failures a resolver reported, gathered from any thread.
private final class FailureLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
