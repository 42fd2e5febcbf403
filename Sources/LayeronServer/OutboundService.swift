import Foundation
import LayeronCore
import LayeronOutbound
import LayeronPluginHost
import LayeronStore

/// Outbound webhooks: records emitted events, and delivers them to their destinations with the
/// Standard Webhooks signature, each destination's concurrency and rate caps, and its retry schedule.
/// The store is the source of truth for what is due (`next_attempt_at`), as for inbound events, so a
/// restart resumes every schedule; the scheduler is only woken early by an emit or a finished attempt.
final class OutboundService: OutboundEmitter, @unchecked Sendable {
    /// What an emit came to.
    enum EmitOutcome: Sendable {
        /// Committed (or, for a repeated idempotency key, the first event with that key).
        case recorded(StoredEvent, duplicate: Bool)
        /// Not recorded: an HTTP status and a message naming what to fix.
        case refused(status: Int, message: String)
    }

    /// An idempotency key returns the first event for this long.
    static let idempotencyWindow = TimeSpan.seconds(86_400)

    private let store: EventStore
    private let snapshots: SnapshotHolder
    private let logger: Logger
    private let metrics: Metrics
    private let engine: DeliveryEngine

    /// Guards `inFlight`, `replaysWaiting`, `perDestination`, `limiters`, `disabled` and `stopping`.
    private let stateCondition = MonotonicCondition()
    private var inFlight: Set<Int64> = []
    /// Replays asked for while their event was being delivered, by event: each is sent when the
    /// delivery before it is recorded (`release`), which hands the event's slot on to it. Only a
    /// shortcut: every replay is a request in the store until its delivery starts.
    private var replaysWaiting: [Int64: Int] = [:]
    private var perDestination: [String: Int] = [:]
    private var limiters: [String: RateLimiter] = [:]
    private var disabled: [String: DisabledDestination] = [:]
    private var stopping = false
    private var wakeRequested = false
    /// Held by each change of a destination's disabled state, an operator's enable or a 410's
    /// disable, from its commit to its update of `disabled`, so that memory takes the changes in
    /// the order the store committed them. Without it, an enable committed after a 410's disable
    /// could clear `disabled` before the recorder put the disable back: the store enabled, memory
    /// disabled, every emit refused until another enable. Only enables and 410s take it.
    private let toggling = NSLock()

    /// Records attempts off the libcurl thread, waiting for each commit before the event may be picked again.
    private let recorder = DispatchQueue(label: "layeron-outbound-recorder", attributes: .concurrent)
    private let recording = DispatchGroup()
    private let schedulerDone = DispatchSemaphore(value: 0)

    init(store: EventStore, snapshots: SnapshotHolder, metrics: Metrics, logger: Logger) {
        self.store = store
        self.snapshots = snapshots
        self.metrics = metrics
        self.logger = logger
        engine = DeliveryEngine(userAgent: "layeron-webhooks/1 (+https://www.standardwebhooks.com)")
        disabled = (try? store.disabledDestinations()) ?? [:]
    }

    func start() {
        engine.start()
        Thread.startNamed("outbound-sched") { [self] in
            schedulerLoop()
            schedulerDone.signal()
        }
    }

    /// Stops scheduling, aborts deliveries in flight (recorded as interrupted; they run again after a
    /// restart) and waits until every attempt is recorded.
    func stop() {
        stateCondition.lock()
        stopping = true
        stateCondition.broadcast()
        stateCondition.unlock()
        schedulerDone.wait()
        engine.stop()
        recording.wait()
    }

    // MARK: Emitting

    /// Records an event for `destinationName`; returns once it is committed.
    func emit(destinationName: String, type: String, payload: [UInt8], idempotencyKey: String?) -> EmitOutcome {
        let box = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        emit(destinationName: destinationName, type: type, payload: payload, idempotencyKey: idempotencyKey) { outcome in
            box.outcome = outcome
            done.signal()
        }
        done.wait()
        return box.outcome!
    }

    /// Records an event for `destinationName` without holding the caller's thread: `completion` gets
    /// the outcome once the event is committed (the emit joins the writer's next group commit), or at
    /// once when the emit is refused.
    func emit(destinationName: String, type: String, payload: [UInt8], idempotencyKey: String?,
              completion: @escaping @Sendable (EmitOutcome) -> Void) {
        let destinations = snapshots.snapshot.config.outbound
        guard let destination = destinations.first(where: { $0.name == destinationName }) else {
            // Not counted: the name comes from the request, and metric labels only take config names.
            return completion(.refused(status: 404, message: Self.unknownDestination(destinationName, configured: destinations.map(\.name))))
        }
        let counted: @Sendable (EmitOutcome) -> Void = { [metrics] outcome in
            switch outcome {
            case let .recorded(_, duplicate): metrics.countEmit(destination: destination.name, result: duplicate ? "duplicate" : "recorded")
            case .refused: metrics.countEmit(destination: destination.name, result: "refused")
            }
            completion(outcome)
        }
        switch newEvent(for: destination, type: type, payload: payload, idempotencyKey: idempotencyKey) {
        case let .failure(refusal):
            counted(.refused(status: refusal.status, message: refusal.message))
        case let .success(event):
            store.appendOutbound(event, deliver: destination.subscribes(to: type)) { [self] result in
                // On the store's completion thread: the read of the stored event goes elsewhere.
                recorder.async { [self] in counted(recorded(result)) }
            }
        }
    }

    /// The largest payload an emit takes, from a plugin or the admin API (whose request body limit
    /// is the same 1 MiB): every attempt reads the event's body back, and `events show` returns it.
    static let maximumPayloadBytes = 1 << 20

    /// Why an emit was refused before it reached the store.
    struct Refusal: Error {
        let status: Int
        let message: String
    }

    static func unknownDestination(_ name: String, configured: [String]) -> String {
        "no outbound destination \"\(name)\"; configured: \(configured.isEmpty ? "none" : configured.joined(separator: ", "))"
    }

    /// Why an emit's type, payload or key is refused, whatever its destination; nil when they pass.
    /// `layeron check` asks the same of the emits plugins make as they start (`CheckEmitter`).
    static func refusal(type: String, payload: [UInt8], idempotencyKey: String?) -> Refusal? {
        if type.isEmpty || type.utf8.count > 200 || type.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) {
            return Refusal(status: 400, message: "type must be 1 to 200 printable characters without spaces, like \"order.paid\"")
        }
        if let key = idempotencyKey, key.isEmpty || key.utf8.count > 255 {
            return Refusal(status: 400, message: "idempotency_key must be 1 to 255 bytes")
        }
        // A plugin's emit has no request body limit in front of it, as an admin emit has.
        if payload.count > maximumPayloadBytes {
            return Refusal(status: 413, message: "payload is \(payload.count) bytes; the limit is \(maximumPayloadBytes) (1 MiB)")
        }
        guard (try? JSONParser.parse(payload)) != nil else {
            return Refusal(status: 400, message: "payload is not JSON")
        }
        return nil
    }

    /// The emit's rules for a configured destination, and the event they make.
    private func newEvent(for destination: OutboundDestination, type: String, payload: [UInt8],
                          idempotencyKey: String?) -> Result<NewEvent, Refusal> {
        let destinationName = destination.name
        if let off = disabledState(destinationName) {
            return .failure(Refusal(status: 409, message: "outbound destination \(destinationName) is disabled since \(WallClock.rfc3339(milliseconds: off.at)) (\(off.reason)); enable it with POST /admin/outbound/\(destinationName)/enable"))
        }
        if let refusal = Self.refusal(type: type, payload: payload, idempotencyKey: idempotencyKey) { return .failure(refusal) }
        let now = WallClock.nowMilliseconds()
        // The Standard Webhooks envelope; the payload's own bytes are kept as given, but for a byte
        // order mark: the parse above steps over one, and inside the envelope it is not JSON.
        let data = payload.starts(with: JSONParser.byteOrderMark) ? payload.dropFirst(JSONParser.byteOrderMark.count) : payload[...]
        let body = Array("{\"type\":\(JSONValue.string(type).serialized()),\"timestamp\":\"\(WallClock.rfc3339(milliseconds: now))\",\"data\":".utf8)
            + data + Array("}".utf8)
        return .success(NewEvent(id: EventID.make(nowMilliseconds: now), webhook: destinationName, direction: .outbound,
                                 provider: "standard-webhooks", type: type, providerEventID: nil, dedupeKey: idempotencyKey,
                                 dedupeExpiresAt: idempotencyKey.map { _ in now + Self.idempotencyWindow.milliseconds },
                                 receivedAt: now, headers: [("content-type", "application/json")] + destination.headers.map { ($0.name, $0.value.recorded) },
                                 body: body, handler: nil))
    }

    /// What a committed (or failed) append means for the emitter: the stored event, read back.
    private func recorded(_ result: Result<AppendResult, SQLiteError>) -> EmitOutcome {
        do {
            let seq: Int64
            let duplicate: Bool
            switch try result.get() {
            case let .recorded(s): (seq, duplicate) = (s, false)
            // Emits are not routed by type (`routed` is the inbound append's).
            case let .duplicate(_, s, _, _, _, _), let .routed(_, s): (seq, duplicate) = (s, true)
            }
            guard let stored = try store.event(seq: seq) else { return .refused(status: 500, message: "the event vanished after its commit") }
            if !duplicate { wake() }
            return .recorded(stored, duplicate: duplicate)
        } catch {
            return .refused(status: 503, message: "cannot record the event: \(error)")
        }
    }

    /// The plugin ABI's `emit`: the same path as the admin route.
    func emit(destination: String, type: String, payload: [UInt8], idempotencyKey: String?) -> EmitResult {
        // No destination at all is no outbound delivery, which plugin.h answers with
        // LAYERON_UNSUPPORTED, not with an unknown destination's LAYERON_INVALID.
        guard !snapshots.snapshot.config.outbound.isEmpty else { return .unsupported }
        switch emit(destinationName: destination, type: type, payload: payload, idempotencyKey: idempotencyKey) {
        case .recorded: return .emitted
        case let .refused(_, message): return .invalid(message)
        }
    }

    // MARK: Destinations

    func disabledState(_ name: String) -> DisabledDestination? {
        stateCondition.lock()
        defer { stateCondition.unlock() }
        return disabled[name]
    }

    func enable(_ name: String) throws(SQLiteError) {
        toggling.lock()
        defer { toggling.unlock() }
        try store.enableDestination(name)
        stateCondition.lock()
        disabled[name] = nil
        stateCondition.unlock()
        wake()
    }

    func inFlightCount(_ name: String) -> Int {
        stateCondition.lock()
        defer { stateCondition.unlock() }
        return perDestination[name, default: 0]
    }

    // MARK: Scheduling

    /// Sends `count` of an operator's replays of `seq`, each requested in the store first
    /// (`EventStore.requestReplays`), now, outside its schedule and caps; each is recorded as a replay
    /// attempt. While the event is being delivered, they are sent one after another once that
    /// delivery is recorded. A destination disabled or removed since they were asked for (`?at=`,
    /// bulk) skips them: their requests are taken, and the log says so.
    func replay(seq: Int64, count: Int = 1) {
        guard let event = try? store.event(seq: seq) else { return }
        guard let destination = snapshots.snapshot.config.outbound.first(where: { $0.name == event.webhook }) else {
            logger.warn("replay skipped: destination \(event.webhook) is no longer configured", [("event", event.id)])
            skipReplays(of: event, count)
            return
        }
        stateCondition.lock()
        let off = disabled[destination.name]
        let admitted = !stopping && off == nil && inFlight.insert(seq).inserted
        if admitted {
            perDestination[destination.name, default: 0] += 1
            if count > 1 { replaysWaiting[seq, default: 0] += count - 1 }
        } else if !stopping && off == nil {
            replaysWaiting[seq, default: 0] += count
        }
        stateCondition.unlock()
        if let off {
            logger.warn("replay skipped: destination \(destination.name) is disabled (\(off.reason)); enable it and replay again",
                        [("event", event.id)])
            skipReplays(of: event, count)
        }
        if admitted { deliver(event, to: destination, replay: true, progress: DeliveryProgress(scheduledAttempts: 0, notSentSince: nil)) }
    }

    /// Takes `count` of `event`'s due replay requests without sending them, so that they do not stay due.
    private func skipReplays(of event: StoredEvent, _ count: Int) {
        let now = WallClock.nowMilliseconds()
        for _ in 0..<count { _ = try? store.takeReplay(seq: event.seq, now: now, starting: nil) }
    }

    private func wake() {
        stateCondition.lock()
        wakeRequested = true
        stateCondition.signal()
        stateCondition.unlock()
    }

    private func schedulerLoop() {
        while true {
            stateCondition.lock()
            if !stopping && !wakeRequested { stateCondition.wait(seconds: 0.25) }
            wakeRequested = false
            let stop = stopping
            stateCondition.unlock()
            if stop { return }
            let now = WallClock.nowMilliseconds()
            for destination in snapshots.snapshot.config.outbound { scheduleDue(destination, now: now) }
            // Replays due in the store that nothing here holds: scheduled (`?at=`, bulk) or asked
            // for before the last stop. The others wait behind their event's delivery already.
            for event in (try? store.dueReplays(now: now, limit: 64, direction: .outbound)) ?? [] {
                stateCondition.lock()
                let held = inFlight.contains(event.seq) || replaysWaiting[event.seq] != nil
                stateCondition.unlock()
                if !held { replay(seq: event.seq, count: event.count) }
            }
        }
    }

    /// Starts as many due deliveries of `destination` as its concurrency and rate allow. The rate's
    /// bucket fills on the monotonic clock, as `now` (the wall clock, for the stored schedule) may step.
    private func scheduleDue(_ destination: OutboundDestination, now: Int64) {
        let uptime = WallClock.monotonicMilliseconds()
        stateCondition.lock()
        var room = disabled[destination.name] == nil ? destination.concurrency - perDestination[destination.name, default: 0] : 0
        if let cap = destination.rate {
            if limiters[destination.name]?.cap != cap { limiters[destination.name] = RateLimiter(cap: cap, nowMilliseconds: uptime) }
            room = min(room, limiters[destination.name]!.available(nowMilliseconds: uptime))
        }
        stateCondition.unlock()
        guard room > 0, let due = try? store.dueDeliveries(destination: destination.name, now: now, limit: min(room + 16, 512)) else { return }
        var started = 0
        for seq in due where started < room {
            stateCondition.lock()
            let admitted = !stopping && !inFlight.contains(seq)
                && (destination.rate == nil || limiters[destination.name]!.take(nowMilliseconds: uptime))
            if admitted {
                inFlight.insert(seq)
                perDestination[destination.name, default: 0] += 1
            }
            stateCondition.unlock()
            guard admitted else { continue }
            started += 1
            // Re-read: the list may predate the commit of an attempt that just settled this event.
            guard let event = try? store.event(seq: seq), event.status == .pending, let at = event.nextAttemptAt, at <= now,
                  let progress = try? store.deliveryProgress(seq: seq) else {
                release(seq, destination: destination.name)
                continue
            }
            deliver(event, to: destination, replay: false, progress: progress)
        }
    }

    private func release(_ seq: Int64, destination: String) {
        stateCondition.lock()
        inFlight.remove(seq)
        if let n = perDestination[destination] { perDestination[destination] = n > 1 ? n - 1 : nil }
        let waiting = replaysWaiting.isEmpty ? nil : replaysWaiting[seq]
        if let waiting { replaysWaiting[seq] = waiting > 1 ? waiting - 1 : nil }
        wakeRequested = true
        stateCondition.signal()
        stateCondition.unlock()
        if waiting != nil { replay(seq: seq) }
    }

    // MARK: Delivering

    /// One attempt: sign, record its start, hand it to libcurl; the answer is recorded in `settle`.
    private func deliver(_ event: StoredEvent, to destination: OutboundDestination, replay: Bool, progress: DeliveryProgress) {
        let n = event.attemptCount + 1
        let startedAt = WallClock.nowMilliseconds()
        let snapshot = snapshots.snapshot
        let secrets = snapshot.outboundSecrets[destination.name] ?? []
        let start = AttemptRecord(n: n, startedAt: startedAt, finishedAt: nil, outcome: nil, error: nil, replay: replay, plugin: nil, pluginVersion: nil)
        if replay {
            // A replay is sent only once its start has taken one of the event's replay requests:
            // none left means another send took it.
            do throws(SQLiteError) {
                guard try store.takeReplay(seq: event.seq, now: startedAt, starting: start) else {
                    release(event.seq, destination: destination.name)
                    return
                }
            } catch {
                logger.error("cannot record the start of a replay; it is sent later: \(error)", [("event", event.id)])
                release(event.seq, destination: destination.name)
                return
            }
        } else {
            store.startAttempt(seq: event.seq, attempt: start)
        }
        let context = AttemptContext(event: event, destination: destination, n: n, startedAt: startedAt, replay: replay,
                                     scheduledAttempt: progress.scheduledAttempts + 1, notSentSince: progress.notSentSince ?? startedAt,
                                     scrubber: snapshot.outboundScrubbers[destination.name] ?? EchoedSecretScrubber(headerValues: [], signingSecrets: []))
        let signature: [(name: String, value: String)]
        do {
            signature = try OutboundSigner.headers(id: event.id, timestamp: startedAt / 1000, body: event.body,
                                                   secrets: secrets, extra: destination.extraSignatures)
        } catch {
            settle(context, DeliveryResult(status: nil, headers: [], bodySnippet: [], transportError: "cannot sign: \(error)", latencyMilliseconds: 0))
            return
        }
        let request = DeliveryRequest(url: destination.url,
                                      headers: [("Content-Type", "application/json")] + (snapshot.outboundHeaders[destination.name] ?? []) + signature,
                                      body: event.body, timeoutMilliseconds: destination.timeout.milliseconds,
                                      allowPrivate: destination.allowPrivate)
        recording.enter()
        engine.submit(request) { [self] result in
            recorder.async { [self] in
                settle(context, result)
                recording.leave()
            }
        }
    }

    private struct AttemptContext: Sendable {
        let event: StoredEvent
        let destination: OutboundDestination
        let n: Int64
        let startedAt: Int64
        let replay: Bool
        /// This attempt's place in the destination's schedule (replays do not take one).
        let scheduledAttempt: Int
        /// When the run of deliveries not sent that this attempt would extend began (`startedAt`
        /// when the attempt before it was sent).
        let notSentSince: Int64
        /// Cuts the secrets this attempt sent out of its answer; from the snapshot it was sent with,
        /// as a reload may change them while it is in flight.
        let scrubber: EchoedSecretScrubber
    }

    /// Records what the attempt got and what happens next; only then may the event be picked again.
    private func settle(_ context: AttemptContext, _ result: DeliveryResult) {
        let finishedAt = WallClock.nowMilliseconds()
        let event = context.event
        let decision = OutboundOutcome.decide(result, schedule: context.destination.schedule, scheduledAttempt: context.scheduledAttempt,
                                              replay: context.replay, previousStatus: event.status,
                                              previousNextAttempt: event.nextAttemptAt, notSentSince: context.notSentSince, finishedAt: finishedAt)
        let attempt = AttemptRecord(n: context.n, startedAt: context.startedAt, finishedAt: finishedAt, outcome: decision.outcome,
                                    error: decision.message, replay: context.replay, plugin: nil, pluginVersion: nil)
        // The receiver's answer may echo the request's credentials, which the store must never hold.
        let answer = context.scrubber.scrub(result)
        let delivery = DeliveryRecord(statusCode: result.status, latencyMilliseconds: result.latencyMilliseconds,
                                      responseHeaders: answer.headers, responseBody: answer.bodySnippet, transportError: result.transportError)
        metrics.countDelivery(destination: context.destination.name, outcome: decision.outcome.rawValue,
                              seconds: Double(result.latencyMilliseconds) / 1000)
        switch decision.outcome {
        case .ok: logger.debug("delivered", Self.fields(context))
        case .retry, .error: logger.warn("delivery failed: \(decision.message ?? "")", Self.fields(context))
        }
        var disabling: DisabledDestination?
        if decision.disablesDestination {
            // The receiver's word holds from its answer on: no delivery starts to the destination
            // while the store is yet to take the disable (which it takes with this attempt's end).
            // Under `toggling`: an enable committing now would otherwise clear it again, and
            // deliveries could start until this attempt's end is written.
            let off = DisabledDestination(name: context.destination.name, at: finishedAt,
                                          reason: "the receiver answered 410 Gone to event \(event.id)")
            toggling.lock()
            stateCondition.lock()
            if disabled[off.name] == nil { disabled[off.name] = off }
            stateCondition.unlock()
            toggling.unlock()
            disabling = off
        }
        recordFinish(context, attempt, delivery, decision, disabling: disabling)
    }

    /// The fields of a delivery's log lines, built only for a line that is written.
    private static func fields(_ context: AttemptContext) -> [(String, String)] {
        [("event", context.event.id), ("destination", context.destination.name), ("attempt", String(context.n))]
    }

    /// Writes a delivery's end, and again every second while the store refuses it (a full disk): the
    /// receiver has had the request, so the event stays in `inFlight` until its outcome is recorded,
    /// and no pass of the scheduler sends it again meanwhile (the store still has it pending and due).
    /// A stop gives up: the next start finds the attempt open and closes it as interrupted. Only a
    /// recorded end releases the event. After a 410 the destination's disable (`disabling`, in force
    /// in memory since the answer) is written in the same transaction as the end, and so retried with
    /// it: a 410 is never recorded without its disable, which a restart would otherwise forget.
    private func recordFinish(_ context: AttemptContext, _ attempt: AttemptRecord, _ delivery: DeliveryRecord,
                              _ decision: OutboundOutcome, disabling: DisabledDestination?, refusals: Int = 0) {
        let event = context.event
        func fields() -> [(String, String)] { Self.fields(context) }
        do throws(SQLiteError) {
            try commitFinish(event.seq, attempt, delivery, decision, disabling: disabling)
        } catch {
            stateCondition.lock()
            let stop = stopping
            stateCondition.unlock()
            if stop {
                logger.warn("the server stopped before the delivery's end could be recorded; its event is sent again after the next start"
                            + (disabling == nil ? "" : ", and the destination, not recorded as disabled, is disabled again if its receiver answers 410 Gone again")
                            + ": \(error)", fields())
                return
            }
            if refusals == 0 {
                logger.error("cannot record how the delivery ended"
                             + (disabling == nil ? "" : " nor disable the destination after its 410 Gone (no delivery to it starts meanwhile)")
                             + "; its event is held, and the record written again every second until the store takes it: \(error)", fields())
            }
            recording.enter()
            recorder.asyncAfter(deadline: .now() + 1) { [self] in
                recordFinish(context, attempt, delivery, decision, disabling: disabling, refusals: refusals + 1)
                recording.leave()
            }
            return
        }
        if refusals > 0 { logger.info("recorded how the delivery ended, after the store had refused it \(refusals) time(s)", fields()) }
        if let disabling { logger.warn("outbound destination disabled: \(disabling.reason)", [("destination", disabling.name)]) }
        release(event.seq, destination: context.destination.name)
    }

    /// Commits a delivery's end, with the destination's disable after a 410. The disable is put in
    /// force in memory again once committed: an enable asked for while the store refused it came
    /// before the 410 was recorded. Both under `toggling`, so an enable that commits after this one
    /// also clears `disabled` after it, and the destination is not left disabled in memory only.
    private func commitFinish(_ seq: Int64, _ attempt: AttemptRecord, _ delivery: DeliveryRecord, _ decision: OutboundOutcome,
                              disabling: DisabledDestination?) throws(SQLiteError) {
        guard let disabling else {
            return try store.finishDelivery(seq: seq, attempt: attempt, delivery: delivery, status: decision.status,
                                            nextAttemptAt: decision.nextAttemptAt)
        }
        toggling.lock()
        defer { toggling.unlock() }
        try store.finishDelivery(seq: seq, attempt: attempt, delivery: delivery, status: decision.status,
                                 nextAttemptAt: decision.nextAttemptAt, disabling: disabling)
        stateCondition.lock()
        // The first 410 of a run of them stays the one shown, as in the store.
        if disabled[disabling.name] == nil { disabled[disabling.name] = disabling }
        stateCondition.unlock()
    }
}

/// Carries an emit's outcome from the completion to the caller waiting for it.
private final class OutcomeBox: @unchecked Sendable {
    var outcome: OutboundService.EmitOutcome?
}
