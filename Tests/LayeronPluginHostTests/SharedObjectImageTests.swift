import Foundation
@testable import LayeronPluginHost
import XCTest

/// The check before `dlopen`, on prefixes of a real ELF file (`/bin/true`): only a file whose
/// headers name bytes it does not have is refused; what dlopen refuses cleanly is left to it.
final class SharedObjectImageTests: XCTestCase {
    private var directory: String!
    private var image: Data!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-image-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        image = try Data(contentsOf: URL(fileURLWithPath: "/bin/true"))
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func file(_ bytes: Data) throws -> String {
        let path = "\(directory!)/\(UUID().uuidString).so"
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testAWholeFileAndFilesDlopenRefusesItselfPass() throws {
        XCTAssertNoThrow(try SharedObjectImage.check(file(image)))
        XCTAssertNoThrow(try SharedObjectImage.check(file(image.prefix(40))), "too short for a header: dlopen says so")
        XCTAssertNoThrow(try SharedObjectImage.check(file(Data("this is not an ELF file".utf8))))
    }

    func testHeadersPointingPastAnyFileAreRefusedWithoutOverflow() throws {
        var garbled = image!
        garbled.replaceSubrange(0x20..<0x28, with: [UInt8](repeating: 0xFF, count: 8))  // e_phoff
        XCTAssertThrowsError(try SharedObjectImage.check(file(garbled))) { error in
            guard case .truncated? = error as? SharedObjectImageError else { return XCTFail("\(error)") }
        }
    }

    func testAFileCutShortIsRefusedWithTheBytesItLacks() throws {
        // (The section headers at the end are not the loader's business: a file short of only
        // those maps safely, and dlopen judges it.)
        for length in [100, 1000, image.count / 2] {
            XCTAssertThrowsError(try SharedObjectImage.check(file(image.prefix(length))), "\(length) bytes") { error in
                guard case let .truncated(needed, size) = error as? SharedObjectImageError else {
                    return XCTFail("\(length) bytes: \(error)")
                }
                XCTAssertEqual(size, UInt64(length))
                XCTAssertGreaterThan(needed, size)
            }
        }
    }
}
