/// What the pipeline reads out of a verified request, from one parse of the body.
public struct EventFields: Sendable, Equatable {
    public var providerEventID: String?
    public var type: String
    public var dedupeKey: String?
    public var orderingKey: String?

    public init(providerEventID: String?, type: String, dedupeKey: String?, orderingKey: String? = nil) {
        self.providerEventID = providerEventID
        self.type = type
        self.dedupeKey = dedupeKey
        self.orderingKey = orderingKey
    }

    /// Extracts the fields `webhook` names. A body that is not JSON yields an empty type rather than a
    /// failure: the event is still recorded, and a catch-all handler can still take it.
    public static func extract(from request: InboundRequest, webhook: WebhookConfig) -> EventFields {
        let needsBody = [webhook.eventID, webhook.eventType, webhook.ordering?.key].contains { if case .body? = $0 { true } else { false } }
            || webhook.dedupe?.key.parts.contains { if case .field(.body) = $0 { true } else { false } } == true
        let body = needsBody ? try? JSONParser.parse(request.body) : nil
        return EventFields(
            providerEventID: webhook.eventID?.value(in: request, body: body),
            type: webhook.eventType?.value(in: request, body: body) ?? "",
            dedupeKey: webhook.dedupe?.key.key(in: request, body: body),
            orderingKey: webhook.ordering?.key.value(in: request, body: body))
    }
}
