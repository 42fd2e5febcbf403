import Foundation
import LayeronCore
import LayeronHTTP
import LayeronStore

/// The public listener's request path: route, verify, extract, dedupe and record, then acknowledge.
/// The provider gets its 2xx only after the event (or its duplicate count) is committed.
final class InboundPipeline: Sendable {
    private let snapshots: SnapshotHolder
    private let store: EventStore
    private let dispatcher: Dispatcher
    private let metrics: Metrics
    private let logger: Logger

    init(snapshots: SnapshotHolder, store: EventStore, dispatcher: Dispatcher, metrics: Metrics, logger: Logger) {
        self.snapshots = snapshots
        self.store = store
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.logger = logger
    }

    func handle(_ http: HTTPRequest) -> HTTPReply {
        let snapshot = snapshots.snapshot
        let host = Self.hostWithoutPort(http.header("host") ?? "")
        let index: Int
        switch snapshot.router.match(host: host, path: http.path) {
        case let .webhook(i): index = i
        // The configured hosts are not named: a stranger learns no more than that the path exists.
        case .noHostMatch:
            metrics.countRefusal(listener: "public", reason: "no_webhook_for_host")
            return .now(InboundResponses.error(404, "no webhook is configured at \(http.path) for host \(host.isEmpty ? "(none)" : host); the path is served for another host"))
        case .notFound:
            metrics.countRefusal(listener: "public", reason: "no_webhook")
            return .now(InboundResponses.error(404, "no webhook is configured at \(http.path)"))
        }
        let webhook = snapshot.inbound[index]
        // The closure below keeps the counters only.
        let counters = webhook.metrics
        switch handle(http, webhook: webhook, host: host) {
        case let .now(response):
            counters.countRequest(status: response.status)
            return .now(response)
        case let .later(start):
            return .later { respond in
                start { response in
                    counters.countRequest(status: response.status)
                    respond(response)
                }
            }
        }
    }

    private func handle(_ http: HTTPRequest, webhook inbound: InboundWebhook, host: String) -> HTTPReply {
        let webhook = inbound.config
        if http.method == "HEAD", webhook.scheme.answersHeadProbe {
            return .now(HTTPResponse(status: 200))
        }
        guard http.method == "POST" else {
            var response = InboundResponses.error(405, "webhooks are delivered with POST")
            // RFC 9110 §10.2.1: the methods the resource answers, HEAD too where the scheme answers its probe.
            response.headers.append(("Allow", webhook.scheme.answersHeadProbe ? "POST, HEAD" : "POST"))
            return .now(response)
        }
        let request = InboundRequest(method: http.method, path: http.path, query: http.rawQuery, host: host,
                                     headers: http.headers, invalidUTF8HeaderValues: http.invalidUTF8HeaderValues, body: http.body)
        let receivedAt = WallClock.nowMilliseconds()
        let url = webhook.scheme.usesRequestURL ? "https://\(host)\(http.pathAsSent)\(http.rawQuery.isEmpty ? "" : "?" + http.rawQuery)" : ""
        let secrets = inbound.secrets
        let verified: VerifiedSignature
        switch webhook.scheme.verify(request, url: url, secrets: secrets, now: receivedAt / 1000) {
        case let .success(v): verified = v
        case let .failure(failure):
            inbound.metrics.countRejection(reason: failure.code)
            let fields = [("webhook", webhook.name), ("secrets", webhook.secrets.map(\.name).joined(separator: ","))]
            // No secret of the webhook can verify anything: the server's misconfiguration, not the
            // sender's fault, so a 500 the provider retries once the operator has fixed the secret.
            if case .unusableKey = failure {
                logger.error("signature not checked: \(failure)", fields)
                return .now(InboundResponses.error(500, "the webhook's configured secret cannot verify any request; the server's operator must fix it"))
            }
            logger.info("signature rejected: \(failure)", fields)
            return .now(InboundResponses.error(webhook.scheme.rejectionStatus, "invalid signature: \(failure)"))
        }
        // Provider handshakes (Zoom url_validation, Slack url_verification, …) are answered, not recorded.
        if let challenge = webhook.scheme.challenge?.response(to: request, secret: verified.secretIndex.map { secrets[$0] }) {
            return .now(HTTPResponse(status: 200, headers: [("Content-Type", challenge.contentType)], body: challenge.body))
        }

        let fields = EventFields.extract(from: request, webhook: webhook)
        let handler = webhook.routes.handler(for: fields.type)
        let rules = AnswerRules(webhook)
        let event = NewEvent(
            id: EventID.make(nowMilliseconds: receivedAt), webhook: webhook.name, direction: .inbound,
            provider: webhook.provider, type: fields.type, providerEventID: fields.providerEventID,
            dedupeKey: fields.dedupeKey, dedupeExpiresAt: webhook.dedupe.map { receivedAt + $0.ttl.milliseconds },
            receivedAt: receivedAt, headers: webhook.scheme.recordable(http.headers), body: http.body, handler: handler?.description,
            orderingKey: fields.orderingKey,
            firstAttemptAt: rules.respond == .afterHandler ? receivedAt + rules.timeout.milliseconds : nil)

        // The HTTP thread does not wait for the commit: the connection is suspended and resumed by
        // the writer's completion, so all waiting connections share one group commit.
        let hasHandler = handler != nil
        // Decided here, so the closures below capture one optional and not the whole request.
        let bodyNotJSON = fields.bodyError.flatMap { Self.isForm(http) ? nil : $0 }
        return .later { [self] respond in
            let appendStarted = WallClock.monotonicNanoseconds()
            store.append(event) { [self] outcome in
                switch outcome {
                case let .failure(error):
                    logger.error("cannot record event: \(error)", [("webhook", event.webhook), ("event", event.id)])
                    // Not acknowledged, so the provider retries: nothing is lost.
                    respond(InboundResponses.error(503, "the event could not be recorded; retry later"))
                case let .success(result):
                    metrics.commit.observe(seconds: WallClock.secondsSince(appendStarted))
                    if case .recorded = result, let bodyNotJSON { warnBodyNotJSON(bodyNotJSON, event: event) }
                    switch recorded(result, event: event, rules: rules, hasHandler: hasHandler, counters: inbound.metrics) {
                    case let .now(response): respond(response)
                    case let .later(start): start(respond)
                    }
                }
            }
        }
    }

    /// A signed body that the webhook reads fields from but that is not JSON is recorded without
    /// them: routed as an event without a type (unless the type is a header), and not folded with its
    /// retries (unless the key is headers only). Said at warn level, naming the event, since nothing
    /// else shows it; once committed, as the line says it was recorded. A form body (Slack's slash
    /// commands and interactions) is not JSON by design. A key or handler the event lacks is left out
    /// rather than written as a word a real key could be.
    private func warnBodyNotJSON(_ error: JSONSyntaxError, event: NewEvent) {
        var fields = [("event", event.id), ("webhook", event.webhook), ("type", event.type)]
        if let handler = event.handler { fields.append(("handler", handler)) }
        if let key = event.dedupeKey { fields.append(("dedupe_key", key)) }
        logger.warn("event recorded without the fields read from its body: \(error)", fields)
    }

    private static func isForm(_ http: HTTPRequest) -> Bool {
        http.header("content-type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
    }

    /// What a committed append is answered with: a duplicate's original answer, or an acknowledgement
    /// once the event is handed to the dispatcher (after-handler: the handler's outcome).
    private func recorded(_ result: AppendResult, event: NewEvent, rules: AnswerRules, hasHandler: Bool,
                          counters: WebhookMetrics) -> HTTPReply {
        let receivedAt = event.receivedAt
        let seq: Int64
        switch result {
        case let .duplicate(originalID, originalSeq, status, response, nextAttemptAt, handlerDidNotRun):
            counters.countDuplicate()
            logger.debug("duplicate folded", [("event", originalID), ("webhook", event.webhook)])
            let recordedAnswer = InboundResponses.forDuplicate(ofID: originalID, type: event.type, status: status, response: response,
                                                               nextAttemptAt: nextAttemptAt, now: WallClock.nowMilliseconds(),
                                                               rules: (rules.respond, rules.unhandled))
            // A pending after-handler event with an answer on record was answered "retry": when its
            // handler could not even run then and can now, the provider's retry runs it. Any other
            // retry is answered from the record at once, without a worker.
            guard rules.respond == .afterHandler, status == .pending, response != nil, handlerDidNotRun,
                  dispatcher.canRunHandler(event.handler) else { return .now(recordedAnswer) }
            return answerAfterHandler(seq: originalSeq, eventID: originalID, handler: event.handler, webhook: event.webhook, rules: rules) {
                [dispatcher] answer in
                dispatcher.providerRetry(seq: originalSeq) { result in
                    answer(result.map { Self.answer(to: $0, eventID: originalID) } ?? recordedAnswer)
                }
            }
        case let .routed(originalID, originalSeq):
            counters.countDuplicate()
            logger.info("the provider sent an event recorded as ignored again, and its type now has a handler: running it",
                        [("event", originalID), ("webhook", event.webhook), ("type", event.type), ("handler", event.handler ?? "")])
            return routed(originalID: originalID, seq: originalSeq, event: event, rules: rules)
        case let .recorded(s):
            seq = s
        }
        logger.debug("event recorded", [("event", event.id), ("webhook", event.webhook), ("type", event.type)])
        guard hasHandler else {
            if rules.unhandled == .reject {
                return .now(InboundResponses.rejected(type: event.type, id: event.id))
            }
            return .now(InboundResponses.accepted(id: event.id))
        }
        let stored = StoredEvent(
            seq: seq, id: event.id, webhook: event.webhook, direction: .inbound, provider: event.provider,
            type: event.type, providerEventID: event.providerEventID, dedupeKey: event.dedupeKey,
            status: .pending, receivedAt: receivedAt, duplicates: 0, attemptCount: 0,
            handler: event.handler, nextAttemptAt: event.firstAttemptAt, orderingKey: event.orderingKey,
            headers: event.headers, body: event.body)
        guard rules.respond == .afterHandler else {
            dispatcher.submit(stored)
            return .now(InboundResponses.accepted(id: event.id))
        }
        return answerAfterHandler(seq: seq, eventID: event.id, handler: event.handler, webhook: event.webhook, rules: rules) {
            [dispatcher] answer in
            dispatcher.submitWaited(stored) { answer(Self.answer(to: $0, eventID: event.id)) }
        }
    }

    /// A provider's retry of an `ignored` event that the store gave the handler its type has now
    /// (`AppendResult.routed`), answered as a first delivery: after-record, 200 once it is queued;
    /// after-handler, the outcome of its first attempt. Should that attempt not run now (an attempt of
    /// it is under way, the server is stopping), the answer is a duplicate's while its original runs.
    private func routed(originalID: String, seq: Int64, event: NewEvent, rules: AnswerRules) -> HTTPReply {
        guard rules.respond == .afterHandler else {
            dispatcher.runRouted(seq: seq, webhook: event.webhook)
            return .now(InboundResponses.accepted(id: originalID))
        }
        let stillRunning = InboundResponses.forDuplicate(ofID: originalID, type: event.type, status: .pending, response: nil,
                                                         nextAttemptAt: nil, now: event.receivedAt,
                                                         rules: (rules.respond, rules.unhandled))
        return answerAfterHandler(seq: seq, eventID: originalID, handler: event.handler, webhook: event.webhook, rules: rules) {
            [dispatcher] answer in
            dispatcher.runRouted(seq: seq) { result in
                answer(result.map { Self.answer(to: $0, eventID: originalID) } ?? stillRunning)
            }
        }
    }

    /// An after-handler answer: `run` starts the event's attempt and gives `answer` what to send.
    /// Whichever comes first answers: that, or the timeout. A handler that finishes after the
    /// timeout still records its attempt; the provider's retry then gets the recorded outcome
    /// through dedupe.
    private func answerAfterHandler(seq: Int64, eventID: String, handler: String?, webhook: String, rules: AnswerRules,
                                    run: @escaping @Sendable (_ answer: @escaping @Sendable (HTTPResponse) -> Void) -> Void) -> HTTPReply {
        .later { [dispatcher] respond in
            let once = AnswerOnce(respond)
            run { once.answer($0) }
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(rules.timeout.milliseconds))) {
                let notStarted: InboundResponses.NotStarted? = dispatcher.parkedBehind(seq: seq).map { .pluginBusy($0) }
                    ?? (dispatcher.waitingForWorker(seq: seq) ? .workersBusy : nil)
                let answered = once.answer(InboundResponses.timedOut(eventID: eventID, timeout: rules.timeout, notStarted: notStarted))
                if answered { dispatcher.serialTimeouts.timedOut(handler: handler, webhook: webhook, timeout: rules.timeout) }
            }
        }
    }

    /// The provider's answer to an attempt it waited for.
    private static func answer(to result: Dispatcher.AttemptResult, eventID: String) -> HTTPResponse {
        InboundResponses.http(InboundResponses.forOutcome(result.outcome, nextAttemptAt: result.nextAttemptAt,
                                                          now: WallClock.nowMilliseconds(), eventID: eventID))
    }

    /// The Host header without its port, lower-cased: `Example.com:8080` → `example.com`, `[::1]:80` → `::1`.
    /// An IPv6 literal takes its one spelling (`IPv6Literal`), as a configured `host` does:
    /// `[0:0::1]` → `::1`.
    static func hostWithoutPort(_ header: String) -> String {
        var header = header
        // Host headers are ASCII in practice: cut and lower-case the bytes. Anything else takes the
        // general path, which lower-cases with the full Unicode mapping.
        var bracketed = false
        let ascii: String? = header.withUTF8 { utf8 in
            guard !utf8.contains(where: { $0 >= 0x80 }) else { return nil }
            var host = utf8[...]
            if host.first == UInt8(ascii: "[") {
                if let close = host.firstIndex(of: UInt8(ascii: "]")) {
                    host = host[(host.startIndex + 1)..<close]
                    bracketed = true
                }
            } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
                host = host[..<colon]
            }
            return String(unsafeUninitializedCapacity: host.count) { out in
                for (i, byte) in host.enumerated() { out[i] = byte &- 65 < 26 ? byte | 0x20 : byte }
                return host.count
            }
        }
        guard let ascii else { return unicodeHostWithoutPort(header) }
        // Not an address (a zone, a typo): kept as sent, for the 404 to name.
        return bracketed ? IPv6Literal.canonical(ascii) ?? ascii : ascii
    }

    private static func unicodeHostWithoutPort(_ header: String) -> String {
        var host = Substring(header.lowercased())
        if host.hasPrefix("[") {
            if let close = host.firstIndex(of: "]") { host = host[host.index(after: host.startIndex)..<close] }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return String(host)
    }
}

/// Lets the first of several racing answers through and drops the rest.
private final class AnswerOnce: @unchecked Sendable {
    /// Guards `respond`.
    private let lock = NSLock()
    private var respond: (@Sendable (HTTPResponse) -> Void)?

    init(_ respond: @escaping @Sendable (HTTPResponse) -> Void) { self.respond = respond }

    /// True when `response` was the first, and went out.
    @discardableResult
    func answer(_ response: HTTPResponse) -> Bool {
        lock.lock()
        let r = respond
        respond = nil
        lock.unlock()
        r?(response)
        return r != nil
    }
}

/// What answering a recorded event needs from its webhook. The completion closures capture this
/// instead of the whole `WebhookConfig`, whose every copy retains (and, on the completion thread,
/// releases) each of its fields, shared by every request of the webhook (item 42).
private struct AnswerRules: Sendable {
    let respond: RespondMode
    let unhandled: UnhandledPolicy
    let timeout: TimeSpan

    init(_ webhook: WebhookConfig) {
        respond = webhook.respond
        unhandled = webhook.unhandled
        timeout = webhook.timeout
    }
}
