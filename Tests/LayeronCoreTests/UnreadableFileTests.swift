import Foundation
import LayeronCore
import XCTest

/// A config or key file that cannot be read is reported with the system's reason, not a guess.
final class UnreadableFileTests: XCTestCase {
    func testTheReasonIsTheSystems() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unreadable-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        XCTAssertEqual(UnreadableFile.reason(folder), "is a directory")
        XCTAssertEqual(UnreadableFile.reason("\(folder)/missing.json"), "no such file or directory")
        let file = "\(folder)/plain"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        XCTAssertEqual(UnreadableFile.reason("\(file)/below"), "not a directory")
    }
}
