import Foundation
import LayeronCore
import LayeronHTTP
import LayeronStore

/// The event routes of the admin API: list, show, replay (one, scheduled, or in bulk) and purge.
extension AdminAPI {
    /// Bulk replays run at most this many per second, so a support click cannot flood a handler.
    static let bulkReplaysPerSecond: Int64 = 20
    static let bulkReplayLimit = 1000

    func listEvents(_ request: HTTPRequest) -> HTTPResponse {
        var query: EventQuery
        do throws(AdminParameterError) {
            let params = try AdminParameters(query: request)
            try params.only(["webhook", "direction", "status", "type", "since", "until", "q", "limit", "cursor"])
            query = try params.eventQuery()
            query.limit = try params.integer("limit", in: 1...1000) ?? 25
            if let cursor = params["cursor"] {
                guard let seq = EventJSON.seq(fromCursor: cursor) else { throw AdminParameterError("invalid cursor \"\(cursor)\": pass next_cursor from the previous page unchanged") }
                query.beforeSeq = seq
            }
        } catch {
            return AdminResponses.error(400, error.description)
        }
        let pageSize = query.limit
        query.limit = pageSize + 1
        do {
            let rows = try store.list(query)
            let page = rows.prefix(pageSize)
            let next: JSONValue = rows.count > pageSize ? .string(EventJSON.cursor(afterSeq: page.last!.seq)) : .null
            return .json(200, JSONValue.object([
                ("events", .array(page.map { .object(EventJSON.summary($0)) })),
                ("next_cursor", next),
            ]).serialized())
        } catch {
            return AdminResponses.error(500, "cannot read events: \(error)")
        }
    }

    func showEvent(_ id: String) -> HTTPResponse {
        do {
            guard let event = try store.event(id: id) else { return AdminResponses.error(404, "no event \(id)") }
            let deliveries = event.direction == .outbound ? try store.deliveries(seq: event.seq) : [:]
            return .json(200, EventJSON.detail(event, attempts: try store.attempts(seq: event.seq), deliveries: deliveries,
                                               replaysWaiting: try store.replaysWaiting(seq: event.seq)).serialized())
        } catch {
            return AdminResponses.error(500, "cannot read event: \(error)")
        }
    }

    /// Replays now, or at `?at=`. A processed event needs `?force=true`, so that a stray click cannot
    /// fulfil an order twice. The 202 follows the commit of the replay's request, so a crash after it
    /// loses nothing; running it at once is only the shortcut. An `ignored` event is routed through
    /// the current config first, and its handler committed before the replay's request: so an
    /// operator who adds a handler for a type that came in unhandled can run the events of it.
    func replay(_ id: String, _ request: HTTPRequest) -> HTTPResponse {
        let force: Bool
        let at: Int64?
        do throws(AdminParameterError) {
            let params = try AdminParameters(query: request)
            try params.only(["force", "at"])
            force = try params.boolean("force") ?? false
            at = try params.time("at")
        } catch {
            return AdminResponses.error(400, error.description)
        }
        do {
            guard var event = try store.event(id: id) else { return AdminResponses.error(404, "no event \(id)") }
            if event.direction == .inbound, event.handler == nil {
                guard let handler = snapshots.snapshot.handler(forType: event.type, ofWebhook: event.webhook) else {
                    return AdminResponses.error(409, "event \(id) matched no handler (status ignored), and the config routes no handler for type \"\(event.type)\" of webhook \(event.webhook) now: add one to the webhook's \"on\" (or a catch-all \"handler\"), reload, and replay it again")
                }
                try store.assignHandlers([(event.seq, handler.description)])
                guard let routed = try store.event(id: id) else { return AdminResponses.error(404, "no event \(id)") }
                event = routed
            }
            if event.direction == .outbound {
                if let refusal = outboundReplayRefusal(event) { return AdminResponses.error(409, refusal) }
                if event.status == .processed, !force {
                    return AdminResponses.error(409, "event \(id) was already delivered; replaying it sends it to \(event.webhook) again: confirm with ?force=true (`layeron events replay \(id) --force`)")
                }
            } else {
                if event.status == .processed, !force {
                    return AdminResponses.error(409, "event \(id) was already processed; replaying it runs its handler again: confirm with ?force=true (`layeron events replay \(id) --force`)")
                }
            }
            let now = WallClock.nowMilliseconds()
            let runsAt = max(at ?? now, now)
            // Purged since it was read: a request for it would never run.
            guard try store.requestReplays([(event.seq, runsAt)]).isEmpty else { return AdminResponses.error(404, "no event \(id)") }
            if runsAt == now {
                if event.direction == .outbound {
                    outbound.replay(seq: event.seq)
                } else {
                    dispatcher.replay(seq: event.seq, webhook: event.webhook)
                }
            }
            var summary = EventJSON.summary(event)
            // When it runs: an `at` in the past runs now.
            summary.append(("replay_at", .string(WallClock.rfc3339(milliseconds: runsAt))))
            return .json(202, JSONValue.object([("event", .object(summary))]).serialized())
        } catch {
            return AdminResponses.error(500, "cannot replay: \(error)")
        }
    }

    /// `POST /admin/events/replay` with a filter body; queues at most `bulkReplayLimit` events, spaced
    /// `bulkReplaysPerSecond` apart and oldest first (the list is newest first: replayed in its order,
    /// a key's later events ran before its earlier ones), and says how many. Events purged between
    /// the list and the requests are left out of the answer, as nothing was queued for them.
    func bulkReplay(_ request: HTTPRequest) -> HTTPResponse {
        // The list takes these filters in its query, so a user will try them there; ignored, they
        // widened the replay to every event.
        guard request.rawQuery.isEmpty else {
            return AdminResponses.error(400, "a bulk replay takes its filters in a JSON body, not in the query: "
                                        + "send {\"webhook\": …, \"status\": …} and no ?query")
        }
        let body: JSONValue
        do { body = request.body.isEmpty ? .object([]) : try JSONParser.parse(request.body) } catch {
            return AdminResponses.error(400, "the body is not JSON: \(error)")
        }
        guard case let .object(members) = body else { return AdminResponses.error(400, "the body must be a JSON object of filters") }
        var query: EventQuery
        let force: Bool
        do throws(AdminParameterError) {
            let params = try AdminParameters(filters: members, known: ["webhook", "direction", "status", "type", "since", "until", "q", "limit", "force"])
            query = try params.eventQuery()
            query.limit = try params.integer("limit", in: 1...Self.bulkReplayLimit) ?? 100
            force = try params.boolean("force") ?? false
        } catch {
            return AdminResponses.error(400, error.description)
        }
        do {
            let events = try store.list(query).sorted { $0.seq < $1.seq }
            var chosen: [StoredEvent] = []
            var requests: [(seq: Int64, at: Int64)] = []
            var routes: [(seq: Int64, handler: String)] = []
            let start = WallClock.nowMilliseconds()
            let snapshot = snapshots.snapshot
            for event in events {
                let replayable: Bool
                if event.direction == .outbound {
                    replayable = outboundReplayRefusal(event) == nil
                } else if event.handler == nil, let handler = snapshot.handler(forType: event.type, ofWebhook: event.webhook) {
                    routes.append((event.seq, handler.description))
                    replayable = true
                } else {
                    replayable = event.handler != nil
                }
                guard replayable, force || event.status != .processed else { continue }
                requests.append((event.seq, start + Int64(chosen.count) * 1000 / Self.bulkReplaysPerSecond))
                chosen.append(event)
            }
            // Ignored events the config routes now take their handlers before their replays are asked for.
            try store.assignHandlers(routes)
            let gone = try store.requestReplays(requests)
            let queued = chosen.filter { !gone.contains($0.seq) }.map(\.id)
            let skipped = events.count - chosen.count
            return .json(202, JSONValue.object([
                ("queued", .int(Int64(queued.count))),
                ("skipped", .int(Int64(skipped))),
                ("ids", .array(queued.map(JSONValue.string))),
            ]).serialized())
        } catch {
            return AdminResponses.error(500, "cannot replay: \(error)")
        }
    }

    /// `POST /admin/events/purge?before=RFC3339`: deletes older events now, in batches.
    func purge(_ request: HTTPRequest) -> HTTPResponse {
        let before: Int64
        do throws(AdminParameterError) {
            let params = try AdminParameters(query: request)
            try params.only(["before"])
            guard let t = try params.time("before") else { throw AdminParameterError("before is required: an RFC 3339 time such as 2026-01-01T00:00:00Z") }
            before = t
        } catch {
            return AdminResponses.error(400, error.description)
        }
        var deleted = 0
        do {
            while true {
                let n = try store.purge(before: before)
                deleted += n
                if n == 0 { break }
            }
        } catch {
            return AdminResponses.error(500, "purge stopped after \(deleted) events: \(error)")
        }
        return .json(200, JSONValue.object([("deleted", .int(Int64(deleted)))]).serialized())
    }
}

/// A query parameter that cannot be used, named in the message.
struct AdminParameterError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Typed access to query parameters (or a filter body), with 400-ready messages naming the parameter.
struct AdminParameters {
    private let pairs: [(name: String, value: String)]

    /// A request's query parameters. Empty components (`?&limit=1`) are skipped, and of a name given
    /// twice the last counts (a script appending an override); a `%00` is refused: libmicrohttpd
    /// hands values on as C strings, so `cursor=abc%00def` would be read as `abc`.
    init(query request: HTTPRequest) throws(AdminParameterError) {
        if request.rawQuery.range(of: "%00") != nil {
            throw AdminParameterError("a query value holds %00 (a NUL byte), which no parameter takes")
        }
        pairs = request.query.filter { !$0.name.isEmpty }
    }

    /// A bulk replay's filter body. Each filter takes one value: an array or an object is refused by
    /// name, since dropping it would widen the filter to every webhook, type or status and replay
    /// all of them. `null` leaves the filter unset, like a missing member.
    init(filters members: [(String, JSONValue)], known: Set<String>) throws(AdminParameterError) {
        var pairs: [(name: String, value: String)] = []
        for (name, value) in members {
            guard known.contains(name) else { throw Self.unknown(name, known) }
            guard !pairs.contains(where: { $0.name == name }) else {
                throw AdminParameterError("member \(name) is given twice; give it once")
            }
            if value == .null { continue }
            guard let text = value.scalarText else {
                throw AdminParameterError("invalid \(name) \(value.serialized()); expected one string, number or boolean (a filter takes a single value: send one bulk replay per value)")
            }
            // `{"webhook": "$WH"}` with WH unset: read as no filter, it replayed every webhook's events.
            guard !text.isEmpty else {
                throw AdminParameterError("invalid \(name) \"\"; an empty filter would match every event: leave \(name) out, or null, to mean any")
            }
            pairs.append((name, text))
        }
        self.pairs = pairs
    }

    subscript(name: String) -> String? {
        pairs.last(where: { $0.name == name }).flatMap { $0.value.isEmpty ? nil : $0.value }
    }

    func only(_ known: Set<String>) throws(AdminParameterError) {
        if let unknown = pairs.first(where: { !known.contains($0.name) }) { throw Self.unknown(unknown.name, known) }
    }

    private static func unknown(_ name: String, _ known: Set<String>) -> AdminParameterError {
        AdminParameterError("unknown parameter \(name); expected one of: \(known.sorted().joined(separator: ", "))")
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(AdminParameterError) -> Int? {
        guard let text = self[name] else { return nil }
        guard let n = Int(text), range.contains(n) else {
            throw AdminParameterError("invalid \(name) \"\(text)\"; expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }

    func boolean(_ name: String) throws(AdminParameterError) -> Bool? {
        guard let text = self[name] else { return nil }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw AdminParameterError("invalid \(name) \"\(text)\"; expected true or false")
        }
    }

    func time(_ name: String) throws(AdminParameterError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let ms = RFC3339.unixMilliseconds(text) else {
            let plus = text.contains(" ") ? " (a + in a query is read as a space: send it as %2B)" : ""
            throw AdminParameterError("invalid \(name) \"\(text)\"; expected an RFC 3339 time such as 2026-12-04T17:00:00Z\(plus)")
        }
        return ms
    }

    /// The filters shared by the list and the bulk replay.
    func eventQuery() throws(AdminParameterError) -> EventQuery {
        var query = EventQuery()
        query.webhook = self["webhook"]
        if let text = self["direction"] {
            guard let d = EventDirection(rawValue: text) else { throw AdminParameterError("invalid direction \"\(text)\"; expected inbound or outbound") }
            query.direction = d
        }
        if let text = self["status"] {
            guard let s = EventStatus(rawValue: text) else {
                throw AdminParameterError("invalid status \"\(text)\"; expected one of: \(EventStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            query.status = s
        }
        if let text = self["type"] {
            if text == "*" {
                query.type = nil
            } else if text.hasSuffix(".*") {
                query.typePrefix = String(text.dropLast())
            } else if text.contains("*") {
                throw AdminParameterError("invalid type \"\(text)\"; a pattern may only end in .* (like invoice.*)")
            } else {
                query.type = text
            }
        }
        query.since = try time("since")
        query.until = try time("until")
        if let since = query.since, let until = query.until, until <= since {
            throw AdminParameterError("until must be later than since")
        }
        query.search = self["q"]
        return query
    }
}
