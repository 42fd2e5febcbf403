@testable import LayeronOutbound
import XCTest

final class AddressGuardTests: XCTestCase {
    private func v4(_ text: String) -> [UInt8] { text.split(separator: ".").map { UInt8($0)! } }

    private func v6(_ text: String) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(inet_pton(AF_INET6, text, &out), 1, text)
        return out
    }

    func testRefusesInsideIPv4Ranges() {
        for address in ["127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "169.254.1.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.1", "255.255.255.255"] {
            XCTAssertNotNil(AddressGuard.refusal(v4(address)), address)
        }
        XCTAssertEqual(AddressGuard.refusal(v4("169.254.169.254")), "the cloud metadata address")
        XCTAssertEqual(AddressGuard.refusal(v4("127.0.0.1")), "a loopback address")
    }

    func testAllowsPublicIPv4() {
        for address in ["8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255", "100.128.0.1", "93.184.216.34", "192.169.0.1"] {
            XCTAssertNil(AddressGuard.refusal(v4(address)), address)
        }
    }

    func testRefusesInsideIPv6AndMappedForms() {
        for address in ["::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "::ffff:127.0.0.1",
                        "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::", "fd00:ec2::254"] {
            XCTAssertNotNil(AddressGuard.refusal(v6(address)), address)
        }
        XCTAssertEqual(AddressGuard.refusal(v6("::ffff:127.0.0.1")), "an IPv4-mapped form of a loopback address")
    }

    func testRefusesInsideIPv4InLocalUseNAT64AndTranslatedForms() {
        for address in ["64:ff9b:1::7f00:1", "64:ff9b:1:ab:cd:ef:a9fe:a9fe", "64:ff9b:1::a00:1", "::ffff:0:7f00:1", "::ffff:0:c0a8:101"] {
            XCTAssertNotNil(AddressGuard.refusal(v6(address)), address)
        }
        XCTAssertEqual(AddressGuard.refusal(v6("64:ff9b:1::7f00:1")), "a local-use NAT64 (64:ff9b:1::/48) form of a loopback address")
        XCTAssertEqual(AddressGuard.refusal(v6("::ffff:0:a9fe:a9fe")), "an IPv4-translated (::ffff:0:0:0/96) form of the cloud metadata address")
        for address in ["64:ff9b:1::808:808", "64:ff9b:1:ab::101:101", "::ffff:0:808:808"] {
            XCTAssertNil(AddressGuard.refusal(v6(address)), address)
        }
    }

    func testAllowsPublicIPv6() {
        for address in ["2606:4700:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"] {
            XCTAssertNil(AddressGuard.refusal(v6(address)), address)
        }
    }
}
