import LayeronCore
import XCTest

/// `layeron verify`'s input: a request that is not shaped as one is refused with what to write,
/// rather than read as a request without headers.
final class SavedRequestTests: XCTestCase {
    private func refusal(_ text: String) -> String? {
        do {
            _ = try SavedRequest(parsing: Array(text.utf8))
            return nil
        } catch {
            return error.description
        }
    }

    func testAShapelessRequestIsRefusedNamingTheMember() {
        XCTAssertEqual(refusal("[]")?.hasPrefix("the request must be a JSON object"), true)
        XCTAssertEqual(refusal(#"{"headers": []}"#)?.hasPrefix("headers must be an object"), true)
        XCTAssertEqual(refusal(#"{"headers": "Stripe-Signature: x"}"#)?.hasPrefix("headers must be an object"), true)
        XCTAssertEqual(refusal(#"{"url": 5}"#), "url must be a string")
        XCTAssertEqual(refusal(#"{"body_base64": null}"#), "body_base64 must be a string")
        XCTAssertEqual(refusal(#"{"headers": {"X": ["a"]}}"#), "header X must be a string")
    }

    func testAWellFormedRequestReads() throws {
        let request = try SavedRequest(parsing: Array(#"{"url": "https://x/h", "headers": {"X-Sig": "ab"}, "body_base64": "e30="}"#.utf8))
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.headers.map(\.name), ["x-sig"])
        XCTAssertEqual(request.body, Array("{}".utf8))
        XCTAssertEqual(try SavedRequest(parsing: Array("{}".utf8)).url, "https://localhost/")
    }
}
