import Foundation
import LayeronCore
@testable import LayeronStore
import XCTest

/// Two deliveries in flight to one receiver may both come back 410: the destination is disabled since
/// the first, and a second answer does not move the time or the reason the admin API shows.
final class DestinationDisableTests: XCTestCase {
    private var directory: URL!
    private var store: EventStore!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-disable-\(UUID().uuidString)")
        store = try EventStore(path: directory.appendingPathComponent("events.db").path)
    }

    override func tearDown() {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    private func emitted(_ n: Int) throws -> Int64 {
        let event = NewEvent(id: EventID.make(nowMilliseconds: 1_000), webhook: "partner", direction: .outbound, provider: "standard-webhooks",
                             type: "t", providerEventID: "msg_\(n)", dedupeKey: nil, dedupeExpiresAt: nil, receivedAt: 1_000,
                             headers: [], body: Array("{}".utf8), handler: nil)
        guard case let .recorded(seq) = try store.appendOutbound(event, deliver: true) else { throw XCTSkip("not recorded") }
        return seq
    }

    func testASecond410KeepsTheFirstDisablesTimeAndReason() throws {
        let gone = DeliveryRecord(statusCode: 410, latencyMilliseconds: 3, responseHeaders: [], responseBody: [], transportError: nil)
        for (n, at) in [(1, Int64(2_000)), (2, Int64(2_500))] {
            let seq = try emitted(n)
            let attempt = AttemptRecord(n: 1, startedAt: at - 10, finishedAt: at, outcome: .error, error: "410", replay: false,
                                        plugin: nil, pluginVersion: nil)
            try store.finishDelivery(seq: seq, attempt: attempt, delivery: gone, status: .failed, nextAttemptAt: nil,
                                     disabling: DisabledDestination(name: "partner", at: at, reason: "the receiver answered 410 Gone to event \(n)"))
        }
        let disabled = try XCTUnwrap(try store.disabledDestinations()["partner"])
        XCTAssertEqual(disabled.at, 2_000)
        XCTAssertEqual(disabled.reason, "the receiver answered 410 Gone to event 1")
    }
}
