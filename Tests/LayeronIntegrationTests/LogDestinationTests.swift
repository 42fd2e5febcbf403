import Foundation
import LayeronHTTP
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

    /// A log reader that stalls (a paused terminal, a stuck log shipper) filled the pipe, and the
    /// next HTTP thread to log (here: a rejected signature, one line each) blocked in `write`: the
    /// server stopped answering. Now lines wait in a backlog and the server answers on; once the
    /// reader reads again every line arrives, in order.
    func testAStalledLogReaderDoesNotStopTheServer() throws {
        let secret = "whsec_log_stall"
        let server = try TestServer.stripeOnly(secret: secret)
        server.stallsLogReader = true
        try server.start()
        // Read before stopping, whatever failed: a server blocked on its log could not stop.
        defer { server.readStalledLog(); server.stop() }
        // About 300 bytes of log each: 600 fill a pipe's 64 KB twice over.
        let body = Array(#"{"id": "evt_forged", "type": "invoice.paid"}"#.utf8)
        for i in 0..<600 {
            let reply = try HTTPClient.request(method: "POST", url: server.publicURL + "/webhooks/stripe",
                                               headers: [("Stripe-Signature", "t=\(Int(Date().timeIntervalSince1970)),v1=\(String(repeating: "0", count: 64))")],
                                               body: body, timeoutSeconds: 5)
            XCTAssertEqual(reply.status, 400, "request \(i)")
            if reply.status != 400 { break }
        }
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_after_stall", secret: secret).status, 200)
        server.readStalledLog()
        XCTAssertTrue(server.waitUntil(timeout: 10) { server.logs.components(separatedBy: "signature rejected").count - 1 == 600 },
                      "\(server.logs.components(separatedBy: "signature rejected").count - 1) rejection lines")
        XCTAssertFalse(server.logs.contains("log line(s) dropped"), "600 lines fit in the backlog")
    }
}
