/// What the pipeline reads out of a verified request, from one parse of the body.
public struct EventFields: Sendable, Equatable {
    public var providerEventID: String?
    public var type: String
    public var dedupeKey: String?
    public var orderingKey: String?
    /// Why the body is not JSON, when the webhook reads fields from it and it is not: every body
    /// field is then missing. The event is still recorded; the caller says so in the log, since a
    /// signed event without its type or dedupe key is otherwise easy to miss.
    public var bodyError: JSONSyntaxError?

    public init(providerEventID: String?, type: String, dedupeKey: String?, orderingKey: String? = nil,
                bodyError: JSONSyntaxError? = nil) {
        self.providerEventID = providerEventID
        self.type = type
        self.dedupeKey = dedupeKey
        self.orderingKey = orderingKey
        self.bodyError = bodyError
    }

    /// Extracts the fields `webhook` names. A body that is not JSON yields an empty type rather than a
    /// failure: the event is still recorded and routed as an event without a type (`"*"`, else the
    /// catch-all `handler`), and `bodyError` says why. Only the body members the fields name are
    /// built; the rest of the event is checked and skipped. The type, id and ordering key keep U+FFFD
    /// for what they could not hold: two types or ordering keys read alike route alike or wait for
    /// each other, and lose nothing, where a dedupe key read alike would drop an event.
    public static func extract(from request: InboundRequest, webhook: WebhookConfig) -> EventFields {
        let paths = bodyPaths(of: webhook)
        var body: JSONValue?
        var bodyError: JSONSyntaxError?
        var builtLoneSurrogate = false
        if !paths.isEmpty {
            do {
                body = try JSONParser.parse(request.body, keepingPaths: paths, builtLoneSurrogate: &builtLoneSurrogate)
            } catch {
                bodyError = error
            }
        }
        return EventFields(
            providerEventID: webhook.eventID?.value(in: request, body: body),
            type: webhook.eventType?.value(in: request, body: body) ?? "",
            dedupeKey: webhook.dedupe?.key.key(in: request, body: body, bodyBuiltLoneSurrogate: builtLoneSurrogate),
            orderingKey: webhook.ordering?.key.value(in: request, body: body),
            bodyError: bodyError)
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
