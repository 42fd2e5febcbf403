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
    /// failure: the event is still recorded, and a catch-all handler can still take it. Only the body
    /// members the fields name are built; the rest of the event is checked and skipped.
    public static func extract(from request: InboundRequest, webhook: WebhookConfig) -> EventFields {
        let paths = bodyPaths(of: webhook)
        let body = paths.isEmpty ? nil : try? JSONParser.parse(request.body, keepingPaths: paths)
        return EventFields(
            providerEventID: webhook.eventID?.value(in: request, body: body),
            type: webhook.eventType?.value(in: request, body: body) ?? "",
            dedupeKey: webhook.dedupe?.key.key(in: request, body: body),
            orderingKey: webhook.ordering?.key.value(in: request, body: body))
    }

    /// Every body path the webhook reads: event id, type, ordering key and the dedupe key's parts.
    /// Built for every request, so in one array without intermediate ones.
    static func bodyPaths(of webhook: WebhookConfig) -> [[String]] {
        var paths: [[String]] = []
        paths.reserveCapacity(3 + (webhook.dedupe?.key.parts.count ?? 0))
        for source in [webhook.eventID, webhook.eventType, webhook.ordering?.key] {
            if case let .body(path)? = source { paths.append(path) }
        }
        for part in webhook.dedupe?.key.parts ?? [] {
            if case let .field(.body(path)) = part { paths.append(path) }
        }
        return paths
    }
}
