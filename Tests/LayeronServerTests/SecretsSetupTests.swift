import Foundation
import LayeronCore
import LayeronServer
import LayeronStore
import XCTest

/// How `serve`, `check` and the `secrets` commands find the store and its master key.
final class SecretsSetupTests: XCTestCase {
    private var directory: URL!
    private var database: String { directory.appendingPathComponent("data/layeron.db").path }

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-setup-\(UUID().uuidString)")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// `check` refuses what `serve` refuses: outside development, no master key, even with every
    /// value in the environment and no store yet (it said ok, then `serve` did not start).
    func testCheckNeedsTheMasterKeyServeNeeds() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("layeron.json").path
        try #"{"plugins": {"dir": "\#(directory.path)"}, "admin": {"token": {"secret": "T"}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        let report = checkDeployment(configPath: config, secrets: SecretsContext(environment: "production", database: database, variables: ["T": "t"]))
        XCTAssertEqual(report.problems, ["\(config): secrets for environment production: environment production needs a master key for the secrets store: set LAYERON_MASTER_KEY (64 hex characters, from `openssl rand -hex 32`) or LAYERON_MASTER_KEY_FILE (a file holding one); only development makes its own key"])
        let key = String(repeating: "ab", count: 32)
        XCTAssertEqual(checkDeployment(configPath: config, secrets: SecretsContext(environment: "production", database: database,
                                                                                   variables: ["T": "t", "LAYERON_MASTER_KEY": key])).problems, [])
        XCTAssertEqual(checkDeployment(configPath: config, secrets: SecretsContext(environment: "development", database: database, variables: ["T": "t"])).problems, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: SecretStore.keyFile(besideDatabase: database)), "check creates nothing")
    }

    /// A development store whose `master.key` is gone (restored without it) is never given a new key,
    /// which could not open it and stood in the way of restoring the right one.
    func testAMissingKeyFileBesideAnExistingStoreIsNotReplaced() throws {
        let created = try SecretsSetup.openStore(database: database, environment: "development", variables: [:])
        _ = try created.store.set("A", environment: "development", value: SecretValue("a"), now: 0)
        let keyFile = SecretStore.keyFile(besideDatabase: database)
        try FileManager.default.removeItem(atPath: keyFile)
        XCTAssertThrowsError(try SecretsSetup.openStore(database: database, environment: "development", variables: [:])) { error in
            XCTAssertEqual("\(error)", "master key file \(keyFile) is missing, but the secrets store beside it exists and was sealed with the key it held (a new key would not open it): restore the file, or set LAYERON_MASTER_KEY or LAYERON_MASTER_KEY_FILE to that key")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: keyFile))
        XCTAssertThrowsError(try SecretsSetup.openExistingStore(database: database, environment: "development", variables: [:])) { error in
            XCTAssertTrue("\(error)".hasPrefix("master key file \(keyFile) is missing"), "\(error)")
        }
    }
}
