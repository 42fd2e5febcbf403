@testable import LayeronServer
import XCTest

final class HostWithoutPortTests: XCTestCase {
    func testPortIsCutAndHostLowerCased() {
        XCTAssertEqual(InboundPipeline.hostWithoutPort("Example.COM:8080"), "example.com")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("hooks.example.com"), "hooks.example.com")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("127.0.0.1:443"), "127.0.0.1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort(""), "")
    }

    func testIPv6LiteralsKeepTheirColons() {
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[::1]:8080"), "::1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[FE80::1]"), "fe80::1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[::1"), "[::1", "no closing bracket: left whole")
    }

    func testNonASCIIHostsAreLowerCasedLikeBefore() {
        XCTAssertEqual(InboundPipeline.hostWithoutPort("BÜCHER.example:80"), "bücher.example")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("ÄÖ"), "äö")
    }
}
