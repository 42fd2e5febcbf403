import Foundation
@testable import LayeronServer
import XCTest

/// Every spelling of one database finds one lock file: a second server reached the same store
/// through a symbolic link, and handlers ran twice.
final class DatabaseLockPathTests: XCTestCase {
    func testALinkToADatabaseNotCreatedYetLocksBesideItsTarget() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-lockpath-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.db", withDestinationPath: "sub/later.db")
        try FileManager.default.createSymbolicLink(atPath: folder + "/link2.db", withDestinationPath: folder + "/link.db")
        let target = DatabaseLock.lockFile(besideDatabase: folder + "/sub/later.db")
        XCTAssertTrue(target.hasSuffix("/sub/later.db-serve.lock"), target)
        XCTAssertEqual(DatabaseLock.lockFile(besideDatabase: folder + "/link.db"), target)
        XCTAssertEqual(DatabaseLock.lockFile(besideDatabase: folder + "/link2.db"), target, "a chain of links")
        XCTAssertEqual(DatabaseLock.lockFile(besideDatabase: folder + "/sub/../sub/later.db"), target)
    }
}
