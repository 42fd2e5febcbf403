import CLayeronPlugin

/// One event, copied out of the host's borrowed `layeron_event` so it may be kept, captured or sent
/// anywhere. (A C plugin reads the borrowed event in place and copies only what it needs.)
public struct PluginEvent: Sendable {
    /// Our event id, `whevt_…`.
    public let id: String
    /// The configured webhook's name.
    public let webhook: String
    public let provider: String
    /// The event type, e.g. `invoice.paid`; may be empty.
    public let type: String
    /// The provider's own id (Stripe's `evt_…`); may be empty.
    public let providerEventID: String
    /// The handler being called.
    public let handler: String
    /// Headers as received, names lower-case, in order.
    public let headers: [(name: String, value: String)]
    /// The raw body, exactly as signed.
    public let body: [UInt8]
    public let receivedAtMilliseconds: Int64
    /// 1 for the first attempt.
    public let attempt: UInt32
    /// True when an operator's replay started this attempt.
    public let isReplay: Bool

    /// The first header called `name` (any case).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    init(_ e: UnsafePointer<layeron_event>) {
        let event = e.pointee
        id = event.id.copiedText
        webhook = event.webhook.copiedText
        provider = event.provider.copiedText
        type = event.type.copiedText
        providerEventID = event.provider_event_id.copiedText
        handler = event.handler.copiedText
        let count = Int(event.header_count)
        headers = event.headers.map { list in
            (0..<count).map { (list[$0].name.copiedText, list[$0].value.copiedText) }
        } ?? []
        body = event.body.copiedBytes
        receivedAtMilliseconds = event.received_at_ms
        attempt = event.attempt
        isReplay = event.flags & LAYERON_EVENT_REPLAY != 0
    }
}

extension layeron_bytes {
    /// A copy of the borrowed bytes; the pointer dies with the call.
    var copiedBytes: [UInt8] {
        guard let ptr, len > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: ptr, count: Int(len)))
    }

    var copiedText: String { String(decoding: copiedBytes, as: UTF8.self) }

    /// Lends `bytes` to C as a `layeron_bytes` for the duration of `body`.
    static func lending<T>(_ bytes: [UInt8], _ body: (layeron_bytes) -> T) -> T {
        bytes.withUnsafeBufferPointer { body(layeron_bytes(ptr: $0.baseAddress, len: UInt64($0.count))) }
    }
}
