import LayeronPluginHost
@testable import LayeronServer
import XCTest

/// The answers an after-handler webhook gives from a handler's outcome.
final class InboundResponsesTests: XCTestCase {
    /// A plugin's Content-Type without a body of its own: the body is ours (`{"id":…}`), and so is
    /// its one Content-Type.
    func testAPluginsContentTypeWithoutItsBodyIsNotSentTwice() {
        var outcome = HandlerOutcome(verdict: .ok, message: nil, plugin: "p", pluginVersion: "1")
        outcome.httpHeaders = [("content-type", "text/plain"), ("X-Handled-By", "p")]
        let response = InboundResponses.forOutcome(outcome, nextAttemptAt: nil, now: 0, eventID: "whevt_01M94DV6JQXPYF2K5SXZP4RP8Y")
        XCTAssertEqual(response.headers.filter { $0.name.lowercased() == "content-type" }.map(\.value), ["application/json"])
        XCTAssertTrue(response.headers.contains { $0.name == "X-Handled-By" })
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), #"{"id":"whevt_01M94DV6JQXPYF2K5SXZP4RP8Y"}"#)
    }

    /// A retry or a failure names the event too, as every answer about a recorded event does.
    func testRetriesAndFailuresNameTheEvent() {
        let id = "whevt_01M94DV6JQXPYF2K5SXZP4RP8Y"
        let retry = InboundResponses.forOutcome(HandlerOutcome(verdict: .retry, message: nil, plugin: "p", pluginVersion: "1"),
                                                nextAttemptAt: 5_000, now: 0, eventID: id)
        XCTAssertEqual(retry.status, 503)
        XCTAssertEqual(String(decoding: retry.body, as: UTF8.self), #"{"id":"\#(id)","error":"the handler asked for a retry","retry_after":5}"#)
        let failed = InboundResponses.forOutcome(HandlerOutcome(verdict: .error, message: nil, plugin: "p", pluginVersion: "1"),
                                                 nextAttemptAt: nil, now: 0, eventID: id)
        XCTAssertEqual(failed.status, 500)
        XCTAssertEqual(String(decoding: failed.body, as: UTF8.self), #"{"id":"\#(id)","error":"the handler failed"}"#)
    }
}
