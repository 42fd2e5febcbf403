import Foundation
import XCTest

/// The server outlives the program its log goes to: with the reading end of its standard error
/// closed (`serve 2>&1 | tee log`, and `tee` stopped), each log line fails with EPIPE and is
/// dropped (and counted in `/metrics`), and the server serves on and stops cleanly. It used to die at
/// its next line.
final class LogDestinationTests: XCTestCase {
    func testAClosedLogPipeDropsLinesAndTheServerServesOn() throws {
        let secret = "whsec_log_destination"
        let server = try TestServer.stripeOnly(secret: secret)
        server.closesLogReader = true
        try server.start()
        defer { server.stop() }
        for i in 0..<3 {
            XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_log_\(i)", secret: secret).status, 200)
        }
        XCTAssertEqual(try server.admin("GET", "/admin/events").status, 200)
        let metrics = try server.admin("GET", "/metrics").text
        let dropped = metrics.split(separator: "\n").first { $0.hasPrefix("layeron_log_lines_dropped_total ") }
        XCTAssertGreaterThan(Int(dropped?.split(separator: " ").last ?? "") ?? 0, 0, "the lost lines are counted: \(dropped ?? "none")")
        XCTAssertTrue(server.isRunning)
        server.stop()
        let exit = try XCTUnwrap(server.exit)
        XCTAssertEqual(exit.reason, .exit, "ended by a signal: \(exit.status)")
        XCTAssertEqual(exit.status, 0)
    }
}
