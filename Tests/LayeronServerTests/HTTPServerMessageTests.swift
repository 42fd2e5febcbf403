@testable import LayeronHTTP
import XCTest

/// libmicrohttpd's messages sorted into a client's broken request (logged at info) and the
/// listener's own trouble (warn), on its 0.9.75 texts.
final class HTTPServerMessageTests: XCTestCase {
    private func assertConcern(_ concern: HTTPServerMessage.Concern, of texts: [String], line: UInt = #line) {
        for text in texts {
            XCTAssertEqual(HTTPServerMessage(libraryText: text).concern, concern, text, line: line)
        }
    }

    func testAClientsBrokenRequestIsTheClients() {
        assertConcern(.client, of: ["Failed to parse `Content-Length' header. Closing connection.",
                                    "Connection was closed by remote side with incomplete request.",
                                    "Error processing request (HTTP response code is 431 ('<html>…</html>')). Closing connection.",
                                    "Not enough memory in pool to allocate header record!",
                                    "Failed to send the response headers for the request for `/webhooks/stripe'. Error: Broken pipe"])
    }

    func testTheListenersOwnTroubleAndUnknownTextsAreTheServers() {
        assertConcern(.server, of: ["Server reached connection limit. Closing inbound connection.",
                                    "Failed to create a thread: Resource temporarily unavailable",
                                    "Application reported internal error, closing connection.",
                                    "Failed to bind to port 0: Address already in use",
                                    "A message this version does not print"])
    }

    func testAFailedStartGivesTheSystemsReason() {
        XCTAssertEqual(HTTPServerMessage(libraryText: "Failed to bind to port 0: Address already in use").systemReason,
                       "Address already in use")
        XCTAssertEqual(HTTPServerMessage(libraryText: "Failed to listen for connections: Permission denied").systemReason,
                       "Permission denied")
        XCTAssertNil(HTTPServerMessage(libraryText: "Server reached connection limit. Closing inbound connection.").systemReason)
    }
}
