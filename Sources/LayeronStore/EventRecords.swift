/// Where an event is in its life.
public enum EventStatus: String, Sendable, CaseIterable {
    case pending, processed, failed, ignored
}

public enum EventDirection: String, Sendable, CaseIterable {
    case inbound, outbound
}

public enum AttemptOutcome: String, Sendable {
    case ok, retry, error
}

/// An event about to be recorded. A class of constants, not a struct: an event passes from an HTTP
/// thread to the writer and the completion thread, and each copy of a struct retained every one of
/// its strings and arrays, atomic operations on cache lines another core last wrote; a copy of a
/// reference is one (docs/performance.md, item 49).
public final class NewEvent: Sendable {
    public let id: String
    public let webhook: String
    public let direction: EventDirection
    public let provider: String
    public let type: String
    public let providerEventID: String?
    public let dedupeKey: String?
    /// When the dedupe key stops folding retries into this event, Unix ms.
    public let dedupeExpiresAt: Int64?
    public let receivedAt: Int64
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// Nil when no handler matched: the event is recorded as `ignored`.
    public let handler: String?
    public let orderingKey: String?
    /// When the scheduler may first run its handler, Unix ms: `receivedAt` unless something else is
    /// about to run it. An `after-handler` event's waiting run starts from the append's completion,
    /// and a scheduler pass between the commit and that start would run the handler a second time;
    /// recording it due a grace later leaves the scheduler only runs that a crash interrupted.
    public let firstAttemptAt: Int64

    public init(id: String, webhook: String, direction: EventDirection, provider: String, type: String,
                providerEventID: String?, dedupeKey: String?, dedupeExpiresAt: Int64?, receivedAt: Int64,
                headers: [(name: String, value: String)], body: [UInt8], handler: String?, orderingKey: String? = nil,
                firstAttemptAt: Int64? = nil) {
        self.orderingKey = orderingKey
        self.firstAttemptAt = firstAttemptAt ?? receivedAt
        self.id = id
        self.webhook = webhook
        self.direction = direction
        self.provider = provider
        self.type = type
        self.providerEventID = providerEventID
        self.dedupeKey = dedupeKey
        self.dedupeExpiresAt = dedupeExpiresAt
        self.receivedAt = receivedAt
        self.headers = headers
        self.body = body
        self.handler = handler
    }
}

/// The outcome of `EventStore.append`.
public enum AppendResult: Sendable, Equatable {
    /// Committed as a new event with this row number.
    case recorded(seq: Int64)
    /// The dedupe key matched a live event: nothing new was stored and its `duplicates` went up.
    /// `status`, `response` and `nextAttemptAt` are the original's, so the duplicate can be answered
    /// the same way, with the time left until the original's next attempt. `handlerDidNotRun`: the
    /// original is pending with an answer on record and its last attempt (replays aside) could not
    /// run its handler (no plugin version recorded), the one case a provider's retry may run it.
    case duplicate(ofID: String, seq: Int64, status: EventStatus, response: StoredResponse?, nextAttemptAt: Int64?,
                   handlerDidNotRun: Bool = false)
    /// The dedupe key matched a live `ignored` event of the same type, and the retry names a handler
    /// for it (the config routes the type now): the event took that handler and is pending, due at
    /// the retry's `firstAttemptAt`, committed with the fold. Its first attempt is still to run.
    case routed(ofID: String, seq: Int64)
}

/// The HTTP answer an `after-handler` event got, kept so its duplicates get the same one.
public struct StoredResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: StoredResponse, b: StoredResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.elementsEqual(b.headers, by: { $0 == $1 })
    }
}

/// An event as stored. A class of constants for the same reason as `NewEvent`: a fresh event goes
/// from the completion thread to the dispatcher's queue and a worker.
public final class StoredEvent: Sendable {
    public let seq: Int64
    public let id: String
    public let webhook: String
    public let direction: EventDirection
    public let provider: String
    public let type: String
    public let providerEventID: String?
    public let dedupeKey: String?
    public let status: EventStatus
    public let receivedAt: Int64
    public let duplicates: Int64
    public let attemptCount: Int64
    public let handler: String?
    public let nextAttemptAt: Int64?
    public let orderingKey: String?
    /// Loaded only for the single-event view and for handler calls.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    public let response: StoredResponse?

    public init(seq: Int64, id: String, webhook: String, direction: EventDirection, provider: String, type: String,
                providerEventID: String?, dedupeKey: String?, status: EventStatus, receivedAt: Int64,
                duplicates: Int64, attemptCount: Int64, handler: String?, nextAttemptAt: Int64?,
                orderingKey: String? = nil, headers: [(name: String, value: String)], body: [UInt8],
                response: StoredResponse? = nil) {
        self.orderingKey = orderingKey
        self.response = response
        self.seq = seq
        self.id = id
        self.webhook = webhook
        self.direction = direction
        self.provider = provider
        self.type = type
        self.providerEventID = providerEventID
        self.dedupeKey = dedupeKey
        self.status = status
        self.receivedAt = receivedAt
        self.duplicates = duplicates
        self.attemptCount = attemptCount
        self.handler = handler
        self.nextAttemptAt = nextAttemptAt
        self.headers = headers
        self.body = body
    }
}

/// One handler attempt.
public struct AttemptRecord: Sendable {
    public var n: Int64
    public var startedAt: Int64
    public var finishedAt: Int64?
    public var outcome: AttemptOutcome?
    public var error: String?
    public var replay: Bool
    public var plugin: String?
    public var pluginVersion: String?

    public init(n: Int64, startedAt: Int64, finishedAt: Int64?, outcome: AttemptOutcome?, error: String?,
                replay: Bool, plugin: String?, pluginVersion: String?) {
        self.n = n
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.error = error
        self.replay = replay
        self.plugin = plugin
        self.pluginVersion = pluginVersion
    }
}

/// Filters of the admin event list. Every field narrows; nil means "any".
public struct EventQuery: Sendable {
    public var webhook: String?
    public var direction: EventDirection?
    public var status: EventStatus?
    public var type: String?
    /// Types starting with this (`invoice.` for `invoice.*`).
    public var typePrefix: String?
    /// Received at or after / before, Unix ms.
    public var since: Int64?
    public var until: Int64?
    /// The dedupe key or the provider's event id.
    public var search: String?
    /// Only events older than this row (the cursor of the previous page).
    public var beforeSeq: Int64?
    public var limit: Int

    public init(webhook: String? = nil, direction: EventDirection? = nil, status: EventStatus? = nil,
                type: String? = nil, typePrefix: String? = nil, since: Int64? = nil, until: Int64? = nil,
                search: String? = nil, beforeSeq: Int64? = nil, limit: Int = 25) {
        self.webhook = webhook
        self.direction = direction
        self.status = status
        self.type = type
        self.typePrefix = typePrefix
        self.since = since
        self.until = until
        self.search = search
        self.beforeSeq = beforeSeq
        self.limit = limit
    }
}
