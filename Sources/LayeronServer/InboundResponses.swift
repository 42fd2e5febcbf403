import LayeronCore
import LayeronHTTP
import LayeronPluginHost
import LayeronStore

/// The HTTP answers the public listener gives, in one place so that an event and its duplicates are
/// answered alike.
enum InboundResponses {
    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        .json(status, JSONValue.object([("error", .string(message))]).serialized())
    }

    /// `{"id":"…"}`, written directly as bytes: this is the answer to nearly every request, built on
    /// the store's completion thread, and our event ids (`EventID`: a prefix and base-32 characters)
    /// never need an escape.
    static func accepted(id: String) -> HTTPResponse {
        assert(EventID.isWellFormed(id), "accepted(id:) writes the id unescaped; \(id) is not an event id")
        var body: [UInt8] = []
        body.reserveCapacity(id.utf8.count + 10)
        body += #"{"id":""#.utf8
        body += id.utf8
        body += #""}"#.utf8
        return .json(200, body: body)
    }

    /// `after-handler`: ok → 200 or what the plugin set; retry → 503 with Retry-After; error, or a retry
    /// with no attempts left → 500. A call no plugin ran says why (its plugin is not loaded) instead
    /// of blaming the handler.
    static func forOutcome(_ outcome: HandlerOutcome, nextAttemptAt: Int64?, now: Int64, eventID: String) -> StoredResponse {
        let notRun = outcome.ran ? nil : outcome.message
        switch outcome.verdict {
        case .ok:
            let status = outcome.httpStatus.map(Int.init).flatMap { (200...599).contains($0) ? $0 : nil } ?? 200
            if let body = outcome.httpBody {
                let hasType = outcome.httpHeaders.contains { $0.name.lowercased() == "content-type" }
                let headers = hasType ? outcome.httpHeaders : [("Content-Type", "application/json")] + outcome.httpHeaders
                return StoredResponse(status: status, headers: headers, body: body)
            }
            // The body is ours, so is its type: a plugin's Content-Type without a body of its own
            // would be a second, wrong one.
            let headers = outcome.httpHeaders.filter { $0.name.lowercased() != "content-type" }
            return StoredResponse(status: status, headers: [("Content-Type", "application/json")] + headers,
                                  body: Array(JSONValue.object([("id", .string(eventID))]).serialized().utf8))
        case .retry where nextAttemptAt != nil:
            let seconds = max(1, ((nextAttemptAt ?? now) - now + 999) / 1000)
            return StoredResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", String(seconds))],
                                  body: Array(JSONValue.object([("id", .string(eventID)), ("error", .string(notRun ?? "the handler asked for a retry")),
                                                                ("retry_after", .int(seconds))]).serialized().utf8))
        case .retry, .error:
            // The id as in every other answer about a recorded event: the operator looks it up.
            return StoredResponse(status: 500, headers: [("Content-Type", "application/json")],
                                  body: Array(JSONValue.object([("id", .string(eventID)), ("error", .string(notRun ?? "the handler failed"))]).serialized().utf8))
        }
    }

    /// Why an after-handler event's handler had not even started when its timeout passed.
    enum NotStarted {
        /// The plugin takes one call at a time and was in another event's.
        case pluginBusy(String)
        /// Every worker was in another event's handler.
        case workersBusy
    }

    /// `after-handler`, when `timeout` passed first: 503, retry in 5 s. The handler goes on and
    /// records its outcome, which the provider's retry gets through dedupe. `notStarted` says why
    /// the handler has not even started, when it has not: saying "did not finish" would send the
    /// operator looking at a handler that never ran.
    static func timedOut(eventID: String, timeout: TimeSpan, notStarted: NotStarted?) -> HTTPResponse {
        let message = switch notStarted {
        case let .pluginBusy(plugin)?:
            "the handler had not started within \(timeout): plugin \(plugin) takes one call at a time and was busy with another event; this event is recorded and runs once the plugin is free"
        case .workersBusy?:
            "the handler had not started within \(timeout): every worker was busy with other events; this event is recorded and runs once one is free"
        case nil:
            "the handler did not finish within \(timeout)"
        }
        return HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "5")],
                            body: Array(JSONValue.object([("id", .string(eventID)), ("error", .string(message))]).serialized().utf8))
    }

    /// An event no handler takes, on a webhook with `"unhandled": "reject"`: recorded (ignored), and
    /// refused so the provider sees the delivery fail.
    static func rejected(type: String, id: String) -> HTTPResponse {
        error(422, "no handler for event type \"\(type)\" (recorded as \(id), status ignored)")
    }

    /// The answer to a retry of an event already recorded: what the original got. A rejected
    /// original (`ignored` under `"unhandled": "reject"`) is refused again, or the provider would take
    /// its retry's 200 for a delivery; `after-record` webhooks otherwise answer 200; `after-handler`
    /// ones answer the original's recorded response, or 503 while its first attempt still runs.
    static func forDuplicate(ofID id: String, type: String, status: EventStatus, response: StoredResponse?,
                             nextAttemptAt: Int64?, now: Int64,
                             rules: (respond: RespondMode, unhandled: UnhandledPolicy)) -> HTTPResponse {
        if status == .ignored, rules.unhandled == .reject { return rejected(type: type, id: id) }
        if rules.respond == .afterHandler {
            if let response {
                let answer = status == .pending ? (nextAttemptAt.map { retryingAt($0, response, now: now) } ?? response) : response
                return HTTPResponse(status: answer.status, headers: answer.headers, body: answer.body)
            }
            if status == .pending {
                return HTTPResponse(status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "5")],
                                    body: Array(JSONValue.object([("id", .string(id)), ("duplicate", .bool(true)), ("error", .string("the original is still being handled"))]).serialized().utf8))
            }
        }
        return .json(200, JSONValue.object([("id", .string(id)), ("duplicate", .bool(true))]).serialized())
    }

    /// A recorded "retry later" answer, told again: its `Retry-After` (header and `retry_after` in
    /// the body) counts down to the original's next attempt, so a provider retrying early is not told
    /// to wait the whole delay again. Other answers are returned as recorded.
    private static func retryingAt(_ next: Int64, _ response: StoredResponse, now: Int64) -> StoredResponse {
        guard let place = response.headers.firstIndex(where: { $0.name.lowercased() == "retry-after" }) else { return response }
        let seconds = max(1, (next - now + 999) / 1000)
        var answer = response
        answer.headers[place].value = String(seconds)
        if case let .object(members)? = try? JSONParser.parse(response.body) {
            answer.body = Array(JSONValue.object(members.map { $0.0 == "retry_after" ? ($0.0, .int(seconds)) : $0 }).serialized().utf8)
        }
        return answer
    }

    static func http(_ r: StoredResponse) -> HTTPResponse {
        HTTPResponse(status: r.status, headers: r.headers, body: r.body)
    }
}
