import LayeronCore
import LayeronHTTP
import LayeronStore

/// The outbound routes of the admin API: list destinations, emit an event, enable a disabled destination.
extension AdminAPI {
    func listOutbound() -> HTTPResponse {
        let items: [JSONValue] = snapshots.snapshot.config.outbound.map { d in
            let off = outbound.disabledState(d.name)
            return .object([
                ("name", .string(d.name)),
                ("url", .string(d.url)),
                ("events", .array(d.events.map { .string($0.description) })),
                ("state", .string(off == nil ? "active" : "disabled")),
                ("disabled_at", off.map { .string(WallClock.rfc3339(milliseconds: $0.at)) } ?? .null),
                ("disabled_reason", .optional(off?.reason)),
                ("in_flight", .int(Int64(outbound.inFlightCount(d.name)))),
                ("concurrency", .int(Int64(d.concurrency))),
                ("rate", .optional(d.rate?.description)),
                ("timeout", .string(d.timeout.description)),
                ("schedule", .array(d.schedule.delays.map { .string($0.description) })),
                ("allow_private", .bool(d.allowPrivate)),
            ])
        }
        return .json(200, JSONValue.object([("destinations", .array(items))]).serialized())
    }

    /// `{"type": "order.paid", "payload": {...}, "idempotency_key": "…"}` → 202 with the committed event.
    /// The answer waits for the commit with the connection suspended, not with a listener thread
    /// held: the admin listener has two threads, and emits waiting on them capped the emit rate.
    func emitOutbound(_ name: String, _ request: HTTPRequest) -> HTTPReply {
        let body: JSONValue
        do { body = try JSONParser.parse(request.body) } catch {
            return .now(AdminResponses.error(400, "the body is not JSON: \(error); send {\"type\", \"payload\", \"idempotency_key\"}"))
        }
        guard case let .object(members) = body else { return .now(AdminResponses.error(400, "the body must be an object {\"type\", \"payload\", \"idempotency_key\"}")) }
        if let unknown = members.first(where: { !["type", "payload", "idempotency_key"].contains($0.0) }) {
            return .now(AdminResponses.error(400, "unknown key \(unknown.0); expected type, payload and idempotency_key"))
        }
        guard let type = body["type"]?.stringValue else { return .now(AdminResponses.error(400, "type is required: a string like \"order.paid\"")) }
        guard let payload = body["payload"] else { return .now(AdminResponses.error(400, "payload is required: the JSON delivered as \"data\"")) }
        var key: String?
        switch body["idempotency_key"] {
        case nil, .null?: break
        case let .string(text)?: key = text
        case let other?: return .now(AdminResponses.error(400, "idempotency_key must be a string, found \(other.kindName)"))
        }
        let payloadBytes = Array(payload.serialized().utf8)
        return .later { [outbound, key] respond in
            outbound.emit(destinationName: name, type: type, payload: payloadBytes, idempotencyKey: key) { outcome in
                switch outcome {
                case let .refused(status, message):
                    respond(AdminResponses.error(status, message))
                case let .recorded(event, duplicate):
                    respond(.json(202, JSONValue.object([("event", .object(EventJSON.summary(event))), ("duplicate", .bool(duplicate))]).serialized()))
                }
            }
        }
    }

    func enableOutbound(_ name: String) -> HTTPResponse {
        guard snapshots.snapshot.config.outbound.contains(where: { $0.name == name }) else {
            return AdminResponses.error(404, "no outbound destination \"\(name)\"")
        }
        do { try outbound.enable(name) } catch { return AdminResponses.error(500, "cannot enable: \(error)") }
        return .json(200, JSONValue.object([("name", .string(name)), ("state", .string("active"))]).serialized())
    }

    /// Why an outbound event cannot be replayed now, or nil when it can.
    func outboundReplayRefusal(_ event: StoredEvent) -> String? {
        if event.status == .ignored { return "event \(event.id) was not delivered: destination \(event.webhook) does not subscribe to type \(event.type)" }
        guard snapshots.snapshot.config.outbound.contains(where: { $0.name == event.webhook }) else {
            return "outbound destination \(event.webhook) is no longer configured"
        }
        if outbound.disabledState(event.webhook) != nil {
            return "outbound destination \(event.webhook) is disabled; enable it with POST /admin/outbound/\(event.webhook)/enable first"
        }
        return nil
    }
}
