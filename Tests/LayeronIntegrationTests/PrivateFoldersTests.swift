import Foundation
import XCTest

/// The folders the server makes for its files are its own, whatever the umask: under `umask 000`
/// they were made 0777, and any local user could delete or swap the master key and the secrets
/// store in them (taking effect at the next start).
final class PrivateFoldersTests: XCTestCase {
    func testFoldersMadeForTheStoreAndItsSecretsAre0700UnderALooseUmask() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-folders-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask 000; echo value | exec \"$0\" secrets set FOO --database \"$1\"", TestServer.binaryPath, root + "/new/sub/events.db"]
        process.environment = ChildEnvironment.inherited(removing: ["LAYERON_ENV", "LAYERON_MASTER_KEY", "LAYERON_MASTER_KEY_FILE"])
        process.currentDirectoryURL = URL(fileURLWithPath: root)
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        for folder in ["new", "new/sub"] {
            let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: "\(root)/\(folder)")[.posixPermissions] as? Int)
            XCTAssertEqual(mode, 0o700, "\(folder): \(String(mode, radix: 8))")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/new/sub/secrets.db"))
    }
}
