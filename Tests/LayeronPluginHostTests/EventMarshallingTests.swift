import CLayeronPlugin
import LayeronCore
@testable import LayeronPluginHost
import XCTest

/// What a handler sees through the C view: every field, byte for byte.
final class EventMarshallingTests: XCTestCase {
    private func bytes(_ b: layeron_bytes) -> [UInt8] {
        guard let ptr = b.ptr else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: Int(b.len)))
    }

    func testTheCViewHoldsEveryFieldAndTheBodyAsSent() {
        let body: [UInt8] = [0x7B, 0x00, 0xFF, 0x22, 0x7D]
        let event = HandlerEvent(id: "whevt_01", webhook: "shop", provider: "custom", type: "order.paid",
                                 providerEventID: "evt_9", headers: [("x-a", "1"), ("x-é", "ü")], body: body,
                                 receivedAtMilliseconds: 1_700_000_000_123, attempt: 3, replay: true)
        EventMarshalling.withCEvent(event, handler: "relay") { c in
            let e = c.pointee
            XCTAssertEqual(e.struct_size, UInt32(MemoryLayout<layeron_event>.size))
            XCTAssertEqual(bytes(e.id), Array("whevt_01".utf8))
            XCTAssertEqual(bytes(e.webhook), Array("shop".utf8))
            XCTAssertEqual(bytes(e.provider), Array("custom".utf8))
            XCTAssertEqual(bytes(e.type), Array("order.paid".utf8))
            XCTAssertEqual(bytes(e.provider_event_id), Array("evt_9".utf8))
            XCTAssertEqual(bytes(e.handler), Array("relay".utf8))
            XCTAssertEqual(bytes(e.body), body, "the body with its NUL and non-UTF-8 bytes")
            XCTAssertEqual(e.header_count, 2)
            XCTAssertEqual(bytes(e.headers[1].name), Array("x-é".utf8))
            XCTAssertEqual(bytes(e.headers[1].value), Array("ü".utf8))
            XCTAssertEqual(e.received_at_ms, 1_700_000_000_123)
            XCTAssertEqual(e.attempt, 3)
            XCTAssertEqual(e.flags & LAYERON_EVENT_REPLAY, LAYERON_EVENT_REPLAY)
        }
    }

    func testAnEmptyBodyIsANullPointerOfLengthZero() {
        let event = HandlerEvent(id: "whevt_02", webhook: "w", provider: "custom", type: "", providerEventID: "",
                                 headers: [], body: [], receivedAtMilliseconds: 0, attempt: 1, replay: false)
        EventMarshalling.withCEvent(event, handler: "h") { c in
            XCTAssertNil(c.pointee.body.ptr)
            XCTAssertEqual(c.pointee.body.len, 0)
            XCTAssertEqual(c.pointee.flags, 0)
        }
    }
}
