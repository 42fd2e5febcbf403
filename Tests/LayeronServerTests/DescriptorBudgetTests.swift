@testable import LayeronServer
import XCTest

/// The open-file budget `serve` checks at start: the public listener's connections, a reserve for
/// the admin listener and what the server opens beside them.
final class DescriptorBudgetTests: XCTestCase {
    private func budget(limit: UInt64, publicConnections: Int = 1024) -> DescriptorBudget {
        DescriptorBudget(limit: limit, publicConnections: publicConnections, adminConnections: 1024, open: 40)
    }

    /// A hard limit of 2048 covers the default 1024 public connections with room to spare; counting
    /// the admin listener's 1024 in full asked for 2,216 and warned there.
    func testAnOrdinaryHardLimitDrawsNoWarning() {
        XCTAssertEqual(budget(limit: 2048).needed, 1024 + 32 + 40 + 128)
        XCTAssertNil(budget(limit: 2048).warning)
        XCTAssertNil(budget(limit: 1224).warning)
        XCTAssertNil(budget(limit: 1024, publicConnections: 512).warning)
    }

    /// One descriptor short is short: the public listener's connections alone can then exhaust it.
    func testALimitBelowThePublicConnectionsAndReserveWarns() throws {
        let warning = try XCTUnwrap(budget(limit: 1223).warning)
        XCTAssertTrue(warning.contains("raise the hard limit to 1224 or more (LimitNOFILE=1224 in the systemd unit, `ulimit -n 1224` before starting"), warning)
        XCTAssertTrue(warning.hasSuffix(", or lower limits.maxConnections to 1023 or less"), warning)
    }

    /// The whole line for a limit far too low: each number, the sum, which limit to raise to what,
    /// and the lower public limit that would fit.
    func testTheWarningNamesEachNumberAndTheLimitToRaise() {
        XCTAssertEqual(budget(limit: 256).warning,
                       "the open-file limit (256) is below what the server may hold: limits.maxConnections 1024 + 32 for the admin listener's "
                       + "probes and tools + 40 descriptors open now + 128 for plugins, outbound connections and the store = 1224. Once it is "
                       + "reached, new clients wait unanswered and file watches, outbound deliveries and the store fail with 'Too many open "
                       + "files'. serve raises the soft limit to the hard one: raise the hard limit to 1224 or more (LimitNOFILE=1224 in the "
                       + "systemd unit, `ulimit -n 1224` before starting, --ulimit nofile=1224 for docker run), or lower limits.maxConnections "
                       + "to 56 or less")
    }

    /// Below the reserve and what is open, no public limit fits: only raising the limit is offered.
    func testALimitThatFitsNoConnectionOffersOnlyARaise() throws {
        let warning = try XCTUnwrap(budget(limit: 64).warning)
        XCTAssertTrue(warning.hasSuffix("--ulimit nofile=1224 for docker run)"), warning)
    }
}
