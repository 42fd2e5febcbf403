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

    /// A configured `[::1]` is kept as `::1`: every spelling of the address in a Host is given the same.
    func testIPv6LiteralsTakeTheirOneSpelling() {
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[0:0::1]:8080"), "::1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[0000:0000:0000:0000:0000:0000:0000:0001]"), "::1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[2001:DB8:0:0:1:0:0:1]"), "2001:db8::1:0:0:1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[::FFFF:C000:0201]:443"), "::ffff:192.0.2.1")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("[FE80::1%25ETH0]"), "fe80::1%25eth0", "not an address: kept as sent, lower-cased")
    }

    func testNonASCIIHostsAreLowerCasedLikeBefore() {
        XCTAssertEqual(InboundPipeline.hostWithoutPort("BÜCHER.example:80"), "bücher.example")
        XCTAssertEqual(InboundPipeline.hostWithoutPort("ÄÖ"), "äö")
    }
}
