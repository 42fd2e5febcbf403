@testable import LayeronServer
import XCTest

/// Admin tokens are compared by digest; a header cannot carry spaces or tabs around a value, so a
/// configured value stored with them (a paste into `secrets set`) must still match.
final class AdminTokenDigestTests: XCTestCase {
    func testBlanksAroundAConfiguredTokenDoNotKeepItFromMatching() {
        let presented = AdminAPI.tokenDigest(AdminAPI.bearerToken("Bearer  s3cret\t") ?? [])
        XCTAssertEqual(AdminAPI.tokenDigest(Array(" s3cret \t".utf8)), presented)
        XCTAssertEqual(AdminAPI.tokenDigest(Array("s3cret".utf8)), presented)
        XCTAssertNotEqual(AdminAPI.tokenDigest(Array("s3cre t".utf8)), presented, "only the blanks around it")
    }
}
