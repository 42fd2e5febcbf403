import LayeronCore
import XCTest

final class ResponseHeadLineTests: XCTestCase {
    func testLinesAsLibcurlHandsThemOver() {
        XCTAssertEqual(ResponseHeadLine("HTTP/1.1 100 Continue\r\n"), .status)
        XCTAssertEqual(ResponseHeadLine("HTTP/2 404\r\n"), .status)
        XCTAssertEqual(ResponseHeadLine("\r\n"), .end)
        XCTAssertEqual(ResponseHeadLine("\n"), .end)
        XCTAssertEqual(ResponseHeadLine("Layeron-Admin-API: 1\r\n"), .field(name: "Layeron-Admin-API", value: "1"))
        XCTAssertEqual(ResponseHeadLine("Location:  http://a:8080/x \t\r\n"), .field(name: "Location", value: "http://a:8080/x"))
        XCTAssertEqual(ResponseHeadLine("X-Empty:\r\n"), .field(name: "X-Empty", value: ""))
        XCTAssertEqual(ResponseHeadLine("  folded continuation\r\n"), .other)
        let bytes: [CChar] = Array("Content-Type: text/plain\r\n".utf8CString.dropLast())
        XCTAssertEqual(bytes.withUnsafeBufferPointer { ResponseHeadLine($0.baseAddress!, count: $0.count) },
                       .field(name: "Content-Type", value: "text/plain"))
    }
}
