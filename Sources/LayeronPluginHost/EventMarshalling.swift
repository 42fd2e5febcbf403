import CLayeronPlugin

/// Lays a `HandlerEvent` out as a borrowed `layeron_event`: every string goes into one arena
/// allocated for the call, so the C view costs one allocation and is freed when the call returns. The
/// body is lent where it lies: it is the event's largest part, and copying it made the arena a large
/// allocation, glibc's slow path, on every attempt.
enum EventMarshalling {
    /// `handler` is the handler name being called, passed along so one C function can serve several.
    static func withCEvent<T>(_ event: HandlerEvent, handler: String, _ body: (UnsafePointer<layeron_event>) -> T) -> T {
        var total = event.id.utf8.count + event.webhook.utf8.count + event.provider.utf8.count + event.type.utf8.count
            + event.providerEventID.utf8.count + handler.utf8.count
        for h in event.headers { total += h.name.utf8.count + h.value.utf8.count }

        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 8)
        defer { arena.deallocate() }
        var offset = 0
        func place<C: Collection>(_ bytes: C) -> layeron_bytes where C.Element == UInt8 {
            let start = arena.baseAddress!.advanced(by: offset).assumingMemoryBound(to: UInt8.self)
            let count = bytes.count
            UnsafeMutableRawBufferPointer(rebasing: arena[offset..<(offset + count)]).copyBytes(from: bytes)
            offset += count
            return layeron_bytes(ptr: count == 0 ? nil : UnsafePointer(start), len: UInt64(count))
        }

        var headers: [layeron_header] = []
        headers.reserveCapacity(event.headers.count)
        for h in event.headers {
            headers.append(layeron_header(name: place(h.name.utf8), value: place(h.value.utf8)))
        }
        var cEvent = layeron_event()
        cEvent.struct_size = UInt32(MemoryLayout<layeron_event>.size)
        cEvent.abi_version = LAYERON_PLUGIN_ABI_VERSION
        cEvent.flags = event.replay ? LAYERON_EVENT_REPLAY : 0
        cEvent.id = place(event.id.utf8)
        cEvent.webhook = place(event.webhook.utf8)
        cEvent.provider = place(event.provider.utf8)
        cEvent.type = place(event.type.utf8)
        cEvent.provider_event_id = place(event.providerEventID.utf8)
        cEvent.handler = place(handler.utf8)
        cEvent.header_count = UInt64(headers.count)
        cEvent.received_at_ms = event.receivedAtMilliseconds
        cEvent.attempt = event.attempt
        return event.body.withUnsafeBufferPointer { bodyBuffer in
            cEvent.body = layeron_bytes(ptr: bodyBuffer.isEmpty ? nil : bodyBuffer.baseAddress, len: UInt64(bodyBuffer.count))
            return headers.withUnsafeBufferPointer { headerBuffer in
                cEvent.headers = headerBuffer.baseAddress
                return withUnsafePointer(to: &cEvent) { body($0) }
            }
        }
    }
}
