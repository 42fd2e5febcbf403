import Foundation
import LayeronCore
import LayeronPluginHost
import LayeronStore

/// Runs handlers for recorded events on a worker pool, off the HTTP threads. The store is the source
/// of truth for what is due (`next_attempt_at`); the in-memory queue is only a shortcut for events
/// just received, so a full queue, a crash or a restart loses nothing: the scheduler finds every due
/// event in the store again.
final class Dispatcher: @unchecked Sendable {
    enum Job {
        /// A new event, handed over by the pipeline right after its commit.
        case fresh(StoredEvent)
        /// An event the scheduler found due in the store.
        case due(seq: Int64)
        /// An operator's replay: runs whatever the status.
        case replay(seq: Int64)
    }

    private let store: EventStore
    private let plugins: PluginRegistry
    private let snapshots: SnapshotHolder
    private let metrics: Metrics
    private let logger: Logger
    private let maxQueued = 10_000

    /// Guards `queue`, `inFlight` and `stopping`.
    private let queueCondition = NSCondition()
    private var queue: [Job] = []
    private var queueHead = 0
    private var inFlight: Set<Int64> = []
    private var stopping = false
    private var threads: [Thread] = []
    private let finished = DispatchGroup()

    init(store: EventStore, plugins: PluginRegistry, snapshots: SnapshotHolder, metrics: Metrics, logger: Logger) {
        self.store = store
        self.plugins = plugins
        self.snapshots = snapshots
        self.metrics = metrics
        self.logger = logger
    }

    func start(workers: Int) {
        for i in 0..<max(1, workers) {
            finished.enter()
            let thread = Thread { [self] in
                workerLoop()
                finished.leave()
            }
            thread.name = "layeron-worker-\(i)"
            thread.start()
        }
        finished.enter()
        let scheduler = Thread { [self] in
            schedulerLoop()
            finished.leave()
        }
        scheduler.name = "layeron-scheduler"
        scheduler.start()
    }

    /// Stops taking jobs and waits for running handlers to finish; queued events stay due in the store.
    func stop() {
        queueCondition.lock()
        stopping = true
        queueCondition.broadcast()
        queueCondition.unlock()
        finished.wait()
    }

    /// Hands a just-committed event to the workers. When the queue is full the event simply waits in
    /// the store for the scheduler.
    func submit(_ event: StoredEvent) {
        enqueue(.fresh(event), seq: event.seq)
    }

    func replay(seq: Int64) {
        queueCondition.lock()
        queue.append(.replay(seq: seq))
        queueCondition.signal()
        queueCondition.unlock()
    }

    private func enqueue(_ job: Job, seq: Int64) {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        guard !stopping, queue.count - queueHead < maxQueued, !inFlight.contains(seq) else { return }
        inFlight.insert(seq)
        queue.append(job)
        queueCondition.signal()
    }

    private func nextJob() -> Job? {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        while queueHead == queue.count && !stopping { queueCondition.wait() }
        if stopping { return nil }
        let job = queue[queueHead]
        queueHead += 1
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return job
    }

    private func done(_ seq: Int64) {
        queueCondition.lock()
        inFlight.remove(seq)
        queueCondition.unlock()
    }

    var queueDepth: Int {
        queueCondition.lock()
        defer { queueCondition.unlock() }
        return queue.count - queueHead
    }

    private func workerLoop() {
        while let job = nextJob() {
            switch job {
            case let .fresh(event):
                // Between the commit and this hand-over the scheduler may already have found the
                // event in the store and run it: re-check like a due event, or it runs twice.
                runIfStillDue(seq: event.seq)
                done(event.seq)
            case let .due(seq):
                runIfStillDue(seq: seq)
                done(seq)
            case let .replay(seq):
                if let event = try? store.event(seq: seq) { run(event, replay: true) }
            }
        }
    }

    /// The scheduler's read may predate a worker's commit: re-read and re-check before running.
    private func runIfStillDue(seq: Int64) {
        if let event = try? store.event(seq: seq), event.status == .pending,
           let due = event.nextAttemptAt, due <= WallClock.nowMilliseconds() {
            run(event, replay: false)
        }
    }

    private func schedulerLoop() {
        while true {
            queueCondition.lock()
            let stop = stopping
            queueCondition.unlock()
            if stop { return }
            if let due = try? store.dueEvents(now: WallClock.nowMilliseconds(), limit: 256) {
                for seq in due { enqueue(.due(seq: seq), seq: seq) }
            }
            queueCondition.lock()
            if !stopping { _ = queueCondition.wait(until: Date(timeIntervalSinceNow: 0.25)) }
            queueCondition.unlock()
        }
    }

    /// One attempt: call the handler, record the outcome, schedule the next attempt or settle the status.
    @discardableResult
    func run(_ event: StoredEvent, replay: Bool) -> HandlerOutcome? {
        guard let handlerText = event.handler, let handler = HandlerReference(parsing: handlerText) else { return nil }
        let n = event.attemptCount + 1
        let startedAt = WallClock.nowMilliseconds()
        let handlerEvent = HandlerEvent(
            id: event.id, webhook: event.webhook, provider: event.provider, type: event.type,
            providerEventID: event.providerEventID ?? "", headers: event.headers, body: event.body,
            receivedAtMilliseconds: event.receivedAt, attempt: UInt32(clamping: n), replay: replay)

        let outcome = plugins.withHandler(handler) { plugin -> HandlerOutcome in
            store.startAttempt(seq: event.seq, attempt: AttemptRecord(
                n: n, startedAt: startedAt, finishedAt: nil, outcome: nil, error: nil, replay: replay,
                plugin: plugin.name, pluginVersion: plugin.version))
            return plugin.call(handler.handler, handlerEvent)
                ?? HandlerOutcome(verdict: .error, message: "handler \(handler) disappeared", plugin: plugin.name, pluginVersion: plugin.version)
        } ?? HandlerOutcome(verdict: .retry, message: "handler \(handler) is not loaded", plugin: handler.plugin, pluginVersion: "")
        let finishedAt = WallClock.nowMilliseconds()

        let policy = snapshots.snapshot.webhook(named: event.webhook)?.retry ?? .defaults
        let status: EventStatus
        var next: Int64?
        let recorded: AttemptOutcome
        switch outcome.verdict {
        case .ok:
            status = .processed
            recorded = .ok
        case .error:
            status = .failed
            recorded = .error
        case .retry:
            recorded = .retry
            if let delay = policy.delay(afterAttempt: Int(n), requestedMilliseconds: outcome.retryAfterMilliseconds) {
                status = .pending
                next = finishedAt + delay.milliseconds
            } else {
                status = .failed
            }
        }
        let attempt = AttemptRecord(n: n, startedAt: startedAt, finishedAt: finishedAt, outcome: recorded,
                                    error: outcome.message, replay: replay, plugin: outcome.plugin,
                                    pluginVersion: outcome.pluginVersion.isEmpty ? nil : outcome.pluginVersion)
        do {
            try store.finishAttempt(seq: event.seq, attempt: attempt, status: status, nextAttemptAt: next, wait: true)
        } catch {
            logger.error("cannot record attempt: \(error)", [("event", event.id)])
        }
        metrics.countAttempt(plugin: handler.plugin, outcome: recorded.rawValue, seconds: Double(finishedAt - startedAt) / 1000)
        let fields = [("event", event.id), ("handler", handler.description), ("attempt", String(n))]
        switch recorded {
        case .ok: logger.debug("handler ok", fields)
        case .retry: logger.warn("handler asked for a retry: \(outcome.message ?? "")", fields)
        case .error: logger.warn("handler failed: \(outcome.message ?? "")", fields)
        }
        return outcome
    }
}
