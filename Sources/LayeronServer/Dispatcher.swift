import Foundation
import LayeronCore
import LayeronCrypto
import LayeronPluginHost
import LayeronStore
import Synchronization

/// Runs handlers for recorded events on a worker pool, off the HTTP threads. The store is the source
/// of truth for what is due (`next_attempt_at`); the in-memory queue is only a shortcut for events
/// just received, so a full queue, a crash or a restart loses nothing: the scheduler finds every due
/// event in the store again.
final class Dispatcher: @unchecked Sendable {
    /// What a worker runs next. `run` is the run the job was admitted as (`Hold.run`).
    private enum Job {
        /// A new event, handed over by the pipeline right after its commit.
        case fresh(StoredEvent, run: UInt64)
        /// An event the scheduler found due in the store, counted against `webhook`'s `concurrency`;
        /// or one that waited for its ordering key and was let in when the key was let go of
        /// (`freedFromKey`).
        case due(seq: Int64, webhook: String, run: UInt64)
        /// An operator's replay: runs whatever the status, when it takes one of the event's replay
        /// requests from the store (`EventStore.takeReplay`).
        case replay(seq: Int64, webhook: String, run: UInt64)
        /// An `after-handler` event whose provider is waiting for the outcome: runs first.
        case waited(StoredEvent, run: UInt64, done: @Sendable (AttemptResult) -> Void)
        /// A provider's retry of an `after-handler` event whose last attempt could not run its
        /// handler: runs first, if that handler can run now (`providerRetry(seq:done:)`).
        case retriedByProvider(seq: Int64, run: UInt64, done: @Sendable (AttemptResult?) -> Void)
        /// A provider's retry of an `after-handler` event recorded `ignored`, which the config now
        /// routes (`AppendResult.routed`): its first attempt, run first as a fresh event's
        /// `waited` one is (`runRouted(seq:done:)`).
        case routedByProvider(seq: Int64, run: UInt64, done: @Sendable (AttemptResult?) -> Void)
        /// An attempt parked behind a call of a plugin version that a new version has replaced since
        /// (`resumeParked`): it starts again, first, as it was waiting already.
        case unparked(ParkedAttempt)
        /// Attempts moved to a new version of a plugin that takes one call at a time, parked on it in
        /// their arrival order with no worker in its call (`resumeParked`): run them.
        case runParked(ObjectIdentifier)
    }

    /// What one attempt came to, for the pipeline to answer the provider with.
    struct AttemptResult: Sendable {
        var outcome: HandlerOutcome
        var status: EventStatus
        var nextAttemptAt: Int64?
    }

    private let store: EventStore
    private let plugins: PluginRegistry
    private let snapshots: SnapshotHolder
    private let metrics: Metrics
    private let logger: Logger
    /// Holds back repeats of "cannot record the start of an attempt": while the store refuses writes
    /// (a full disk) every pass of the scheduler meets it again for every due event.
    private let startRefusals = Mutex(LogRateLimit<Int>(intervalNanoseconds: 10_000_000_000))
    /// Reports after-handler timeouts behind plugins that take one call at a time.
    let serialTimeouts: SerialTimeoutWarnings
    private let maxQueued = 10_000
    /// How many of a webhook's events the scheduler keeps queued or running at most (`scheduleDue`).
    private let scheduledAhead = 1024

    /// Guards `urgent`, `queue`, `queueHead`, `cappedQueue`, `cappedTurn`, `inFlight`, `runs`, `runningKeys`, `freedFromKey`, `replaysWaiting`, `perWebhook`,
    /// `cappedBacklog`, `readAhead`, `ranBeforeHandOver`, `idle` and `stopping`.
    private let queueLock = NSLock()
    // Every `var` below is guarded by `queueLock`, by the lock its comment names or confined to the
    // thread it names, and is marked `@exclusivity(unchecked)`: Swift's runtime exclusivity checks
    // were about a tenth of the completion thread's instructions (docs/performance.md, item 52).
    /// The wake-up of each worker waiting for a job, the last to go idle at the end. Each worker
    /// sleeps on a semaphore of its own: waking several through one condition variable made the
    /// waker wait in glibc for each woken worker to run before it could signal the next
    /// (docs/performance.md, item 42). A hand-over wakes at most this many, however many jobs it queues.
    @exclusivity(unchecked) private var idle: [DispatchSemaphore] = []
    /// Guards `handOvers`: events submitted by the append completions of the writer's current batch.
    private let handOverLock = NSLock()
    @exclusivity(unchecked) private var handOvers: [StoredEvent] = []
    /// The previous batch's `handOvers`, swapped in so neither array is reallocated per batch. Only
    /// `handOverSubmitted` touches it, on the store's completion thread.
    @exclusivity(unchecked) private var handingOver: [StoredEvent] = []
    @exclusivity(unchecked) private var urgent: [Job] = []
    /// Jobs from `queueHead` on are waiting; the slots before it were taken (nil), so a taken job's
    /// event is freed by the worker that ran it, not all at once under the lock when the consumed
    /// prefix is dropped (1,024 and more events' bodies and headers at a time, item 42).
    @exclusivity(unchecked) private var queue: [Job?] = []
    @exclusivity(unchecked) private var queueHead = 0
    /// The jobs of webhooks with a `concurrency` cap, waiting beside `queue` rather than in it: in
    /// one queue a capped webhook's few jobs, and each next one its releases start, waited behind
    /// the backlog of every uncapped webhook (up to `scheduledAhead` each, and the hand-overs), so
    /// under such a backlog it ran a handful of events a minute. Its cap bounds how many it holds.
    @exclusivity(unchecked) private var cappedQueue: [Job] = []
    /// Whether the next job comes from `cappedQueue` when both queues hold one: workers take from
    /// each in turn, so neither a capped webhook's backlog nor the others' starves the other side.
    @exclusivity(unchecked) private var cappedTurn = true
    /// Events queued or running, each with the run that holds it and the time after which that run is
    /// presumed stalled. A stalled run does not strand its event: the scheduler may hand it to another
    /// worker after the webhook's `lease` (5 minutes unless configured), as a new run that holds the
    /// event from then on. The stalled run goes on, and its end lets go of nothing that is the new
    /// run's (`release`): it cleared the event's hold, so a third run started beside the second, and
    /// the event's ordering key, so the key's next event ran beside it too.
    /// The times are `WallClock.monotonicMilliseconds()`: on the wall clock a step forward past the
    /// lease ran a handler a second time beside the first.
    /// An event waiting for a worker (queued, or parked behind a plugin that takes one call at a time)
    /// is held with `.max`, no deadline: its lease starts when its handler is called (`startLease`).
    /// A lease started at admission ran out in the queue behind a backlog, and the event was queued
    /// again and run twice. Nor is there a longer deadline for the way from admission to the call:
    /// a queue behind a backlog of slow handlers can outlast any fixed one, and every other wait on
    /// that way is the store's (a reader, each statement bounded by SQLite's 5 s busy timeout; the
    /// writer's commit of a start record or a reschedule) or the plugin's (parked behind a call of a
    /// plugin that takes one call at a time). Another run would wait for the same store or park behind
    /// the same call, and only tie up one more worker per deadline.
    @exclusivity(unchecked) private var inFlight: [Int64: Hold] = [:]
    /// The last run admitted (`newRunLocked`): each admission of an event is a run of its own.
    @exclusivity(unchecked) private var runs: UInt64 = 0
    /// The ordering keys (`ordering: per-key`) a run holds: from the check that lets it run
    /// (`holdKey`) until its record (`release`). The store only knows pending events, and a replay of
    /// a settled one is not: it ran beside its key's next event. A hold counts while its run holds
    /// its event in `inFlight` within its lease, so a stalled call does not hold its key for longer
    /// than it holds its event, and the run it was handed to takes the key over.
    @exclusivity(unchecked) private var runningKeys: [WebhookOrderingKey: KeyHold] = [:]
    /// Events that waited for an ordering key and were let in again when it was let go of (`release`),
    /// with the time they were rescheduled for in the store: the worker runs such an event though that
    /// time has not come (`Job.due`). An entry goes when its job runs or its event is released.
    @exclusivity(unchecked) private var freedFromKey: [Int64: Int64] = [:]
    /// Replays asked for while their event was in flight, by event: each runs when the attempt
    /// before it is recorded (`release`), which hands the event's place in `inFlight` on to it. Only
    /// a shortcut: every replay is a request in the store until its attempt starts.
    @exclusivity(unchecked) private var replaysWaiting: [Int64: Int] = [:]
    /// Queued or running events per webhook, for each webhook's `concurrency` cap.
    @exclusivity(unchecked) private var perWebhook: [String: Int] = [:]
    /// Capped webhooks with due events left in the store: a hand-over was turned away at the cap, or
    /// the scheduler's last page of them was full. Each release of one of their events pokes the
    /// scheduler, so such a backlog runs at the cap's pace, not a page per pause (item 45).
    @exclusivity(unchecked) private var cappedBacklog: Set<String> = []
    /// A capped webhook's due events that the scheduler read past its cap, earliest first: each
    /// release of one of its events starts the next of these at once, without waiting for a pass of
    /// the scheduler and its read of the store. The worker re-reads each event before running it
    /// (`Job.due`), so one that ran meanwhile by another way is only skipped. Refilled by the
    /// scheduler's next read of the webhook, which a release that finds the list empty asks for.
    @exclusivity(unchecked) private var readAhead: [String: ArraySlice<Int64>] = [:]
    /// How many due events past its cap the scheduler keeps per capped webhook (`readAhead`).
    private let readAheadLimit = 64
    /// Fresh events the scheduler found in the store and started before the pipeline handed them over
    /// (the hand-over follows the commit, the scheduler may read in between), with when that was: the
    /// hand-over is then dropped, so a fresh event runs without re-reading its state. Entries whose
    /// hand-over never comes (the pipeline does not hand over every event) go after `handOverWindow`.
    @exclusivity(unchecked) private var ranBeforeHandOver: [Int64: Int64] = [:]
    private let handOverWindow: Int64 = 60_000
    /// `ranBeforeHandOver`'s size at which it is next pruned: twice what the last pruning kept.
    /// Events run from a backlog within the window all stay, and pruning at a fixed size made every
    /// run of one cost a pass over all of them, under the lock (item 43).
    @exclusivity(unchecked) private var pruneRanBeforeHandOverAt = 1024
    /// Guards `serialRunning`, `parked` and `parkings`.
    private let serialLock = NSLock()
    /// Plugin versions that take one call at a time and have a worker in a call now (by the version:
    /// a new build is not held up by its predecessor's calls, as each version has its own lock).
    @exclusivity(unchecked) private var serialRunning: Set<ObjectIdentifier> = []
    /// Attempts waiting for such a version, in arrival order; the worker in its call runs them next.
    @exclusivity(unchecked) private var parked: [ObjectIdentifier: [ParkedAttempt]] = [:]
    /// How many attempts were parked so far, for each one's `ParkedAttempt.arrival`.
    @exclusivity(unchecked) private var parkings: UInt64 = 0
    /// Handler references by their stored text, so an attempt does not parse the text again.
    private let handlerReferences: HandlerReferenceCache
    @exclusivity(unchecked) private var stopping = false
    private let finished = DispatchGroup()
    /// Paces the scheduler between passes, on the monotonic clock; guards `schedulerStopping` and `poked`.
    private let schedulerPause = MonotonicCondition()
    @exclusivity(unchecked) private var schedulerStopping = false
    /// Capped webhooks with a released slot since the scheduler last looked (`cappedBacklog`).
    @exclusivity(unchecked) private var poked: Set<String> = []
    /// The least time between two of the scheduler's passes, however often it is poked, in nanoseconds.
    private let pokedPassSpacing: UInt64 = 1_000_000

    init(store: EventStore, plugins: PluginRegistry, snapshots: SnapshotHolder, metrics: Metrics, logger: Logger) {
        self.store = store
        self.plugins = plugins
        self.snapshots = snapshots
        self.metrics = metrics
        handlerReferences = HandlerReferenceCache(metrics: metrics)
        self.logger = logger
        serialTimeouts = SerialTimeoutWarnings(plugins: plugins, logger: logger)
        store.afterEachBatch { [weak self] in self?.handOverSubmitted() }
        plugins.afterEachLoad { [weak self] in self?.resumeParked(behindOlderVersionsOf: $0) }
    }

    func start(workers: Int) {
        for i in 0..<max(1, workers) {
            spawn("worker-\(i)") { dispatcher in
                PluginCodeSignals.unblockForThisThread()
                dispatcher.workerLoop()
            }
        }
        spawn("scheduler") { $0.schedulerLoop() }
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable (Dispatcher) -> Void) {
        finished.enter()
        Thread.startNamed(name) { [self] in
            body(self)
            finished.leave()
        }
    }

    /// Stops taking jobs and waits for running handlers to finish. Queued events stay due in the store;
    /// a provider still waiting on an `after-handler` event is answered with a retry.
    func stop() {
        queueLock.lock()
        stopping = true
        let abandoned = urgent
        urgent.removeAll()
        let sleeping = idle
        idle.removeAll()
        // Replays that have not started, waiting behind an attempt of their event or queued, stay
        // requests in the store and run after the next start.
        var notStarted = replaysWaiting.values.reduce(0, +)
        for case .replay? in queue[queueHead...] { notStarted += 1 }
        for case .replay in cappedQueue { notStarted += 1 }
        queueLock.unlock()
        if notStarted > 0 { logger.info("\(notStarted) replay(s) asked for and not yet run stay in the store and run after the next start") }
        for worker in sleeping { worker.signal() }
        schedulerPause.lock()
        schedulerStopping = true
        schedulerPause.broadcast()
        schedulerPause.unlock()
        for job in abandoned {
            switch job {
            case let .waited(event, _, done):
                done(AttemptResult(outcome: HandlerOutcome(verdict: .retry, message: "the server is shutting down", plugin: "", pluginVersion: ""),
                                   status: .pending, nextAttemptAt: event.nextAttemptAt))
            case let .retriedByProvider(_, _, done), let .routedByProvider(_, _, done): done(nil)
            case .unparked, .runParked: abandon(job)
            case .fresh, .due, .replay: break
            }
        }
        finished.wait()
    }

    /// Hands a just-committed event to the workers. Call it from an append completion: the events a
    /// batch's completions submit reach the workers together once the batch's completions have run
    /// (the store's `afterEachBatch` hook), with one lock of the queue and at most one wake-up per idle
    /// worker, not a wake-up per event. When the queue or the webhook's cap is full the event simply
    /// waits in the store for the scheduler.
    func submit(_ event: StoredEvent) {
        handOverLock.lock()
        handOvers.append(event)
        handOverLock.unlock()
    }

    /// Queues what the batch's completions submitted; runs on the store's completion thread after them.
    private func handOverSubmitted() {
        handOverLock.lock()
        swap(&handOvers, &handingOver)
        handOverLock.unlock()
        guard !handingOver.isEmpty else { return }
        queueLock.lock()
        var admitted = 0
        for event in handingOver where ranBeforeHandOver.removeValue(forKey: event.seq) == nil {
            if admitLocked(seq: event.seq, webhook: event.webhook, job: { .fresh(event, run: $0) }) { admitted += 1 }
        }
        let woken = takeIdleLocked(admitted)
        queueLock.unlock()
        wake(woken)
        handingOver.removeAll(keepingCapacity: true)
    }

    /// Takes the wake-ups of the workers to wake for `jobs` new jobs: no more than are waiting, since
    /// a woken worker takes jobs until the queue is empty. Caller holds `queueLock`.
    private func takeIdleLocked(_ jobs: Int) -> ArraySlice<DispatchSemaphore> {
        let taken = idle.suffix(jobs)
        idle.removeLast(taken.count)
        return taken
    }

    /// Wakes the workers `takeIdleLocked` took, after `queueLock` is unlocked: a worker woken while
    /// it is held would only sleep again on the lock.
    private func wake(_ workers: ArraySlice<DispatchSemaphore>) {
        for worker in workers { worker.signal() }
    }

    /// Notes that the scheduler is running `event`'s first attempt, so a hand-over of it that is still
    /// to come is dropped (see `ranBeforeHandOver`).
    private func noteRunBeforeHandOver(_ event: StoredEvent) {
        let now = WallClock.nowMilliseconds()
        guard event.attemptCount == 0, now - event.receivedAt < handOverWindow else { return }
        queueLock.lock()
        defer { queueLock.unlock() }
        if ranBeforeHandOver.count >= pruneRanBeforeHandOverAt {
            ranBeforeHandOver = ranBeforeHandOver.filter { now - $0.value < handOverWindow }
            pruneRanBeforeHandOverAt = max(1024, 2 * ranBeforeHandOver.count)
        }
        ranBeforeHandOver[event.seq] = now
    }

    /// Runs `event` ahead of the queue and reports the attempt's result.
    func submitWaited(_ event: StoredEvent, done: @escaping @Sendable (AttemptResult) -> Void) {
        queueLock.lock()
        if stopping {
            queueLock.unlock()
            done(AttemptResult(outcome: HandlerOutcome(verdict: .retry, message: "the server is shutting down", plugin: "", pluginVersion: ""),
                               status: .pending, nextAttemptAt: event.nextAttemptAt))
            return
        }
        let run = newRunLocked()
        inFlight[event.seq] = Hold(until: .max, run: run)
        urgent.append(.waited(event, run: run, done: done))
        let woken = takeIdleLocked(1)
        queueLock.unlock()
        wake(woken)
    }

    /// A provider sent an `after-handler` event again (its dedupe key matched) while the event is
    /// pending because its last attempt could not run the handler (the plugin was not loaded, or
    /// lacked the handler). When that handler can run now, the event runs at once, ahead of the
    /// queue, as the attempt its schedule would have made later, and `done` gets its result: the
    /// provider's retry is answered by the plugin that is back, not by the record of its absence.
    /// `done` gets nil when the event does not run now (the handler still cannot, the event is
    /// settled, or another attempt of it is queued or running); the record then answers.
    func providerRetry(seq: Int64, done: @escaping @Sendable (AttemptResult?) -> Void) {
        if !runFirst({ .retriedByProvider(seq: seq, run: $0, done: done) }, seq: seq) { done(nil) }
    }

    /// A provider sent an `after-handler` event recorded `ignored` again, and its fold gave the
    /// event the handler the config routes its type to now (`AppendResult.routed`): its first
    /// attempt runs at once, ahead of the queue, and `done` gets its result, as a fresh event's
    /// waiting provider would. `done` gets nil when it does not run now (stopping, or an attempt
    /// of it is queued or running, or has run since); the record then answers.
    func runRouted(seq: Int64, done: @escaping @Sendable (AttemptResult?) -> Void) {
        if !runFirst({ .routedByProvider(seq: seq, run: $0, done: done) }, seq: seq) { done(nil) }
    }

    /// An `after-record` event recorded `ignored` that the config now routes (`AppendResult.routed`):
    /// queued as the scheduler would queue it once due, under its webhook's cap. Not handed over as
    /// a fresh event: the scheduler may find it due first, and a fresh event's hand-over is dropped
    /// then only when it was received within `handOverWindow`, which an old event's retry was not.
    func runRouted(seq: Int64, webhook: String) {
        enqueueDue([seq], webhook: webhook)
    }

    /// Queues `job` (a provider's retry of `seq`) ahead of the queue, unless the server is stopping
    /// or an attempt of `seq` is queued or running within its lease.
    private func runFirst(_ job: (UInt64) -> Job, seq: Int64) -> Bool {
        queueLock.lock()
        let now = WallClock.monotonicMilliseconds()
        if stopping || inFlight[seq].map({ $0.until >= now }) == true {
            queueLock.unlock()
            return false
        }
        let run = newRunLocked()
        inFlight[seq] = Hold(until: .max, run: run)
        urgent.append(job(run))
        let woken = takeIdleLocked(1)
        queueLock.unlock()
        wake(woken)
        return true
    }

    /// Whether the handler `text` names (PLUGIN.HANDLER) is loaded and can be called now.
    func canRunHandler(_ text: String?) -> Bool {
        guard let text, let (handler, _) = handlerReferences.reference(text) else { return false }
        return plugins.isAvailable(handler)
    }

    /// `seq`'s event when a provider's retry runs it now (`providerRetry`): pending, its last
    /// attempt (replays aside, which keep the event's record) finished without running its handler
    /// (recorded with no plugin version), and that handler available now.
    private func waitingForItsHandler(seq: Int64) -> StoredEvent? {
        guard let event = try? store.event(seq: seq), event.status == .pending,
              let text = event.handler, let (handler, _) = handlerReferences.reference(text), plugins.isAvailable(handler),
              let last = (try? store.attempts(seq: seq))?.last(where: { !$0.replay }),
              last.finishedAt != nil, last.outcome == .retry, last.pluginVersion == nil else { return nil }
        return event
    }

    /// `seq`'s event when a provider's retry of it, routed from `ignored` (`runRouted(seq:done:)`),
    /// runs its first attempt: pending, and no attempt of it has run but replays (the scheduler
    /// runs it once its grace after the retry is past, should this run wait that long for a worker).
    private func routedAndNotRun(seq: Int64) -> StoredEvent? {
        guard let event = try? store.event(seq: seq), event.status == .pending,
              (try? store.attempts(seq: seq))?.contains(where: { !$0.replay }) == false else { return nil }
        return event
    }

    /// Runs `count` of an operator's replays of `seq`, each requested in the store first
    /// (`EventStore.requestReplays`): at once, or, while another attempt of the event is queued
    /// or running, right after that one is recorded. Replays of one event run one at a time, each
    /// reading the event as the one before left it, so every run takes its own attempt number and
    /// no record overwrites another's. A replay takes a place under its webhook's `concurrency` like
    /// any attempt: at the cap (or with the queue full) it stays a request in the store, which the
    /// scheduler's next pass starts (`scheduleReplays`).
    func replay(seq: Int64, webhook: String, count: Int = 1) {
        queueLock.lock()
        if let hold = inFlight[seq], hold.until >= WallClock.monotonicMilliseconds() {
            replaysWaiting[seq, default: 0] += count
            queueLock.unlock()
            return
        }
        guard admitLocked(seq: seq, webhook: webhook, job: { .replay(seq: seq, webhook: webhook, run: $0) }) else {
            queueLock.unlock()
            return
        }
        if count > 1 { replaysWaiting[seq, default: 0] += count - 1 }
        let woken = takeIdleLocked(1)
        queueLock.unlock()
        wake(woken)
    }

    var queueDepth: Int {
        queueLock.lock()
        defer { queueLock.unlock() }
        return queue.count - queueHead + cappedQueue.count + urgent.count
    }

    /// Queues a job, made for the run it is admitted as, unless the event is already queued or
    /// running, the queue is full, or its webhook is at its concurrency cap. A capped webhook's job
    /// goes to `cappedQueue`, which its cap keeps short, so a full `queue` does not turn it away.
    /// Each admitted run takes a place under the cap until it is released, a stalled run handed
    /// over included: it still runs. Caller holds `queueLock` and wakes workers (`takeIdleLocked`,
    /// `wake`).
    private func admitLocked(seq: Int64, webhook: String, job: (UInt64) -> Job) -> Bool {
        guard !stopping else { return false }
        let limits = snapshots.snapshot.dispatchLimits(ofWebhook: webhook)
        guard limits.concurrency != nil || queue.count - queueHead < maxQueued else { return false }
        let now = WallClock.monotonicMilliseconds()
        if let hold = inFlight[seq] {
            guard hold.until < now else { return false }
            logger.warn("an attempt ran past its lease (\(TimeSpan(milliseconds: lease(webhook)))); handing the event to another worker",
                        [("seq", String(seq)), ("webhook", webhook)])
        }
        if let cap = limits.concurrency, perWebhook[webhook, default: 0] >= cap {
            cappedBacklog.insert(webhook)
            return false
        }
        let run = newRunLocked()
        inFlight[seq] = Hold(until: .max, run: run)
        perWebhook[webhook, default: 0] += 1
        if limits.concurrency != nil { cappedQueue.append(job(run)) } else { queue.append(job(run)) }
        return true
    }

    /// A run not yet taken, for an admission. Caller holds `queueLock`.
    private func newRunLocked() -> UInt64 {
        runs &+= 1
        return runs
    }

    /// The webhook's lease in milliseconds; the default for a webhook no longer configured.
    private func lease(_ webhook: String) -> Int64 {
        snapshots.snapshot.dispatchLimits(ofWebhook: webhook).leaseMilliseconds
    }

    /// The next job, waiting on `wakeUp` (this worker's own) while there is none; nil once stopping.
    private func nextJob(wakeUp: DispatchSemaphore) -> Job? {
        queueLock.lock()
        defer { queueLock.unlock() }
        while urgent.isEmpty && queueHead == queue.count && cappedQueue.isEmpty && !stopping {
            // Whoever takes `wakeUp` out of `idle` signals it once, after unlocking.
            idle.append(wakeUp)
            queueLock.unlock()
            wakeUp.wait()
            queueLock.lock()
        }
        if stopping { return nil }
        if !urgent.isEmpty { return urgent.removeFirst() }
        if !cappedQueue.isEmpty && (cappedTurn || queueHead == queue.count) {
            cappedTurn = false
            return cappedQueue.removeFirst()
        }
        cappedTurn = true
        let job = queue[queueHead].take()
        queueHead += 1
        if queueHead > 1024 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return job
    }

    /// Hands `seq` back once its attempt, of run `run`, is recorded: to a replay waiting for it, else
    /// to whoever finds it due next. A run that no longer holds its event (it ran past its lease and
    /// the event was handed to another run) gives back only its place under the cap: the event, its
    /// waiting replays and its ordering key are the newer run's. `webhook` is the webhook whose
    /// `concurrency` the attempt counted against (nil for attempts that count against none:
    /// after-handler runs); `replayOf` names the event's webhook when only that is known, for a
    /// waiting replay. A waiting replay is admitted like any attempt (`admitLocked`); one turned away,
    /// or held back (`waitingReplaysHeld`), stays a request in the store for the scheduler, so the
    /// event's waiting replays are dropped here. `key` is what the attempt did with its ordering key.
    private func release(_ seq: Int64, run: UInt64, webhook: String?, replayOf: String? = nil, waitingReplaysHeld: Bool = false,
                         key: KeyUse? = nil) {
        queueLock.lock()
        let held = inFlight[seq]?.run == run
        if held { inFlight[seq] = nil }
        // A note of the run that took over (a key's release let it in) stays for that run.
        if held, !freedFromKey.isEmpty { freedFromKey[seq] = nil }
        if let webhook, let n = perWebhook[webhook] { perWebhook[webhook] = n > 1 ? n - 1 : nil }
        var admitted = 0
        switch key {
        case let .held(key)?:
            admitted += letGoLocked(key, by: run)
        case let .waits(key, until)? where held:
            admitted += waitForKeyLocked(key, seq: seq, until: until)
        case .waits?, nil:
            break
        }
        if held, !replaysWaiting.isEmpty, let waiting = replaysWaiting[seq] {
            replaysWaiting[seq] = nil
            if !waitingReplaysHeld, let name = webhook ?? replayOf,
               admitLocked(seq: seq, webhook: name, job: { .replay(seq: seq, webhook: name, run: $0) }) {
                replaysWaiting[seq] = waiting > 1 ? waiting - 1 : nil
                admitted += 1
            }
        }
        var started = false
        if let webhook, !readAhead.isEmpty, var ahead = readAhead[webhook] {
            while !started, let next = ahead.popFirst() {
                started = admitLocked(seq: next, webhook: webhook, job: { .due(seq: next, webhook: webhook, run: $0) })
            }
            readAhead[webhook] = ahead.isEmpty ? nil : ahead
        }
        let woken = takeIdleLocked((started ? 1 : 0) + admitted)
        let backlogged = !started && !cappedBacklog.isEmpty && webhook.map { cappedBacklog.contains($0) } == true
        queueLock.unlock()
        wake(woken)
        if started { metrics.countReadAheadStart() }
        if backlogged, let webhook { poke(webhook) }
    }

    /// Tells the scheduler that `webhook`, capped and backlogged, has a free slot.
    private func poke(_ webhook: String) {
        schedulerPause.lock()
        let first = poked.isEmpty
        poked.insert(webhook)
        schedulerPause.unlock()
        if first { schedulerPause.signal() }
    }

    /// A worker hands an event back (`release`) only once its attempt is committed: until then the
    /// scheduler's view of the store is stale, and handing it back early could run it twice. Workers
    /// do not wait for that commit themselves; the writer calls back.
    private func workerLoop() {
        let wakeUp = DispatchSemaphore(value: 0)
        while let job = nextJob(wakeUp: wakeUp) {
            switch job {
            case let .fresh(event, run):
                // Handed over right after its commit, and never run: had the scheduler found and
                // started it first, `submit` would have dropped the hand-over (`ranBeforeHandOver`),
                // or `admitLocked` while it runs. So its state is the one it was recorded with.
                let seq = event.seq, webhook = event.webhook
                runIfInOrder(event, run: run) { [self] key, _ in release(seq, run: run, webhook: webhook, key: key) }
            case let .due(seq, webhook, run):
                // The scheduler's read may predate a worker's commit: re-read and re-check. An event
                // gone meanwhile (purged) gives its place under the cap back all the same.
                guard let event = try? store.event(seq: seq) else {
                    release(seq, run: run, webhook: webhook)
                    continue
                }
                if event.status == .pending, let due = event.nextAttemptAt,
                   due <= WallClock.nowMilliseconds() || freedFromKey(seq, due: due) {
                    noteRunBeforeHandOver(event)
                    runIfInOrder(event, run: run, startCommittedFirst: true) { [self] key, _ in
                        release(seq, run: run, webhook: webhook, key: key)
                    }
                    continue
                }
                release(seq, run: run, webhook: webhook)
            case let .replay(seq, webhook, run):
                guard let event = try? store.event(seq: seq) else {
                    release(seq, run: run, webhook: webhook)
                    continue
                }
                // Per-key order holds for replays too: one of an event behind an earlier pending
                // event with its key, or while another attempt holds its key, stays a request, and a
                // later pass of the scheduler tries again.
                let key = event.orderingKey.map { WebhookOrderingKey(webhook: event.webhook, key: $0) }
                if let key, waitsForKey(key, of: event, run: run) {
                    release(seq, run: run, webhook: webhook, waitingReplaysHeld: true)
                    continue
                }
                let use = key.map(KeyUse.held)
                if self.run(event, run: run, replay: true, onRecorded: { [self] _ in release(seq, run: run, webhook: webhook, key: use) }) { continue }
                release(seq, run: run, webhook: webhook, key: use)
            case let .waited(event, run, done):
                // The provider's answer waits for the record too, so its retry finds the response.
                // It keeps to its ordering key as any attempt does: one that must wait is answered
                // at once that it waits (`runIfInOrder`), and runs in its turn.
                runIfInOrder(event, run: run) { [self] key, went in
                    answerThenRelease(key, done: done, with: forProvider(went, of: event)
                        ?? AttemptResult(outcome: HandlerOutcome(verdict: .error, message: "no handler", plugin: "", pluginVersion: ""),
                                         status: .ignored, nextAttemptAt: nil)) {
                        release(event.seq, run: run, webhook: nil, key: key)
                    }
                }
            case let .retriedByProvider(seq, run, done):
                let event = waitingForItsHandler(seq: seq)
                if let event {
                    let when = event.orderingKey == nil ? "at once" : "at once if no other event with its ordering key comes first"
                    logger.info("the provider sent the event again and its handler, which could not run last time, can now: running it \(when)",
                                [("event", event.id), ("handler", event.handler ?? "")])
                }
                // Its start is committed first, as any retry's: the event is already recorded.
                runForProvider(event, seq: seq, run: run, startCommittedFirst: true, done: done)
            case let .routedByProvider(seq, run, done):
                // As a fresh after-handler event's first run: its start is not waited for.
                runForProvider(routedAndNotRun(seq: seq), seq: seq, run: run, startCommittedFirst: false, done: done)
            case let .unparked(attempt):
                attempt.resume()
            case let .runParked(gate):
                runParked(on: gate)
            }
        }
    }

    /// Runs the attempt a provider's retry is waiting for, `event` (nil when it does not run now), on
    /// this worker, in its ordering key's turn, and gives `done` its result once recorded, what it
    /// waits for when it must wait (`runIfInOrder`), or nil when nothing ran.
    private func runForProvider(_ event: StoredEvent?, seq: Int64, run: UInt64, startCommittedFirst: Bool,
                                done: @escaping @Sendable (AttemptResult?) -> Void) {
        guard let event else {
            release(seq, run: run, webhook: nil)
            return done(nil)
        }
        runIfInOrder(event, run: run, startCommittedFirst: startCommittedFirst) { [self] key, went in
            answerThenRelease(key, done: done, with: forProvider(went, of: event)) { release(seq, run: run, webhook: nil, key: key) }
        }
    }

    /// Gives a waiting provider `result` and lets go of the attempt (`release`), in the order that
    /// keeps the answer true: one that waits for its key is answered first, as its release may let it
    /// in at once (`waitForKeyLocked`) and another worker run its handler before a "has not run"
    /// answer went out; one that ran is released first, so the provider's next event finds the key
    /// free.
    private func answerThenRelease<Result>(_ key: KeyUse?, done: (Result) -> Void, with result: Result, release: () -> Void) {
        if case .waits? = key {
            done(result)
            release()
        } else {
            release()
            done(result)
        }
    }

    /// Runs `event`'s attempt, as run `run`, unless it must wait: with `ordering: per-key`, while an
    /// earlier event with its key is pending (rescheduled for when that one is next due, so blocked
    /// events do not spin) or another attempt holds its key (a replay of a settled event, which is
    /// not pending, or a stalled run's). `then` is called once: when the attempt is committed, or at
    /// once when nothing ran, with what the attempt did with its key, for `release`, and how it went
    /// (`forProvider`): the provider of an `after-handler` event that must wait is answered at once
    /// that it waits, rather than kept waiting behind another event's run. An after-handler run that
    /// goes ahead holds its key as any other, so a replay of another event with the key waits for it.
    /// An event that finds its key held is rescheduled for as long again as the holder has held it
    /// (200 ms at least, `keyWaitLimit` at most), and let in at once when the holder lets go of the
    /// key (`KeyHold.waiting`): the 200 ms it was rescheduled by before were a store write each,
    /// for as long as a slow replay ran, and the wait for the key stays short all the same.
    private func runIfInOrder(_ event: StoredEvent, run: UInt64, startCommittedFirst: Bool = false,
                              then: @escaping @Sendable (KeyUse?, InOrder) -> Void) {
        guard let orderingKey = event.orderingKey else {
            if !self.run(event, run: run, replay: false, startCommittedFirst: startCommittedFirst, onRecorded: { then(nil, .ran($0)) }) {
                then(nil, .noHandler)
            }
            return
        }
        let key = WebhookOrderingKey(webhook: event.webhook, key: orderingKey)
        if let blocker = try? store.earlierPending(webhook: event.webhook, orderingKey: orderingKey, before: event.seq) {
            let now = WallClock.nowMilliseconds()
            let until = max(now + 200, blocker ?? now + 200)
            try? store.schedule(seq: event.seq, at: until)
            // The event waits for the key too, and is let in to look again when it is let go of: an
            // earlier after-handler event is due only its `timeout` after its arrival, which its run
            // does not wait for, and a later one waited that long behind it. It goes on the key's
            // waiting list before the store is read again: the earlier event's run may have let go
            // of the key since the first read (it is recorded first, so the second read does not
            // see it pending), or not have taken it yet (it takes the list over, `holdKey`).
            waitBehindEarlier(key, seq: event.seq, until: until)
            let stillBehind: Bool
            do throws(SQLiteError) {
                stillBehind = try store.earlierPending(webhook: event.webhook, orderingKey: orderingKey, before: event.seq) != nil
            } catch {
                stillBehind = true
            }
            if !stillBehind { return runIfInOrder(event, run: run, startCommittedFirst: startCommittedFirst, then: then) }
            return then(.waits(key, until: until), .behindEarlier(until: until))
        }
        if let heldFor = holdKey(key, for: event.seq, run: run) {
            let until = WallClock.nowMilliseconds() + min(max(heldFor, 200), keyWaitLimit)
            try? store.schedule(seq: event.seq, at: until)
            return then(.waits(key, until: until), .keyHeld(until: until))
        }
        if !self.run(event, run: run, replay: false, startCommittedFirst: startCommittedFirst, onRecorded: { then(.held(key), .ran($0)) }) {
            then(.held(key), .noHandler)
        }
    }

    /// How `runIfInOrder` left its event.
    private enum InOrder {
        /// Its attempt ran and is recorded, with this result.
        case ran(AttemptResult)
        /// It has no handler: nothing ran.
        case noHandler
        /// It waits behind an earlier pending event with its ordering key, rescheduled in the store
        /// for `until`.
        case behindEarlier(until: Int64)
        /// It waits while another attempt holds its ordering key, rescheduled in the store for `until`.
        case keyHeld(until: Int64)
    }

    /// What a waiting provider of `event` is told of `went`: the attempt's result; for an event that
    /// waits for its ordering key, a retry at its new time whose message says why (answered 503 with
    /// `Retry-After`, as a handler's retry is); nil when it has no handler. Built only for a provider
    /// who waits: blocked events of `after-record` webhooks pay no string work.
    private func forProvider(_ went: InOrder, of event: StoredEvent) -> AttemptResult? {
        switch went {
        case let .ran(result):
            return result
        case .noHandler:
            return nil
        case let .behindEarlier(until):
            return waiting(event, until: until, "an earlier event with its ordering key is pending, and it runs after that one")
        case let .keyHeld(until):
            return waiting(event, until: until, "another attempt with its ordering key is running, and it runs once that one is recorded")
        }
    }

    /// A retry of `event` at `until`, its handler not run because it waits for its turn (`reason`).
    private func waiting(_ event: StoredEvent, until: Int64, _ reason: String) -> AttemptResult {
        let plugin = event.handler.flatMap { handlerReferences.reference($0)?.0.plugin } ?? ""
        return AttemptResult(outcome: .notRun("the handler has not run: \(reason) (ordering: per-key); the event is recorded and runs in its turn",
                                              plugin: plugin),
                             status: .pending, nextAttemptAt: until)
    }

    /// The longest an event that finds its ordering key held is rescheduled by, in milliseconds: it is
    /// let in when the key is let go of, and this bounds the wait should that pass it by (the holder
    /// stalled past its lease, or the queue was full then).
    private let keyWaitLimit: Int64 = 5_000

    /// Whether a replay of `event`, whose ordering key is `key`, waits: while an earlier event with
    /// its key is pending or another attempt holds the key. When it does not, it holds the key itself.
    private func waitsForKey(_ key: WebhookOrderingKey, of event: StoredEvent, run: UInt64) -> Bool {
        if (try? store.earlierPending(webhook: event.webhook, orderingKey: key.key, before: event.seq)) != nil { return true }
        return holdKey(key, for: event.seq, run: run) != nil
    }

    /// Takes `key` for run `run` of `seq`, unless another run holds it within its lease (a run of
    /// `seq` itself that ran past its lease included: this one takes over from it, as from any
    /// stalled holder, and the events waiting for the key wait for this one). Nil when taken, else
    /// how long the holder has held it, in milliseconds.
    private func holdKey(_ key: WebhookOrderingKey, for seq: Int64, run: UInt64) -> Int64? {
        let now = WallClock.monotonicMilliseconds()
        queueLock.lock()
        defer { queueLock.unlock() }
        // One lookup of `runningKeys`, through the subscript's in-place access.
        return { (holder: inout KeyHold?) -> Int64? in
            if let other = holder, holdsLocked(other, now: now) { return now - other.since }
            var waiting = holder?.waiting ?? []
            if !waiting.isEmpty { waiting.removeAll { $0.seq == seq } }
            holder = KeyHold(seq: seq, run: run, since: now, waiting: waiting)
            return nil
        }(&runningKeys[key])
    }

    /// Puts `seq`, rescheduled for `until` behind an earlier pending event with `key`, on the key's
    /// waiting list: the holder's, or, when no run holds the key, one kept for the run that takes it
    /// next (`holdKey`), the earlier event's most often.
    private func waitBehindEarlier(_ key: WebhookOrderingKey, seq: Int64, until: Int64) {
        queueLock.lock()
        defer { queueLock.unlock() }
        { (holder: inout KeyHold?) in
            var hold = holder ?? KeyHold(seq: seq, run: nil, since: 0, waiting: [])
            if let i = hold.waiting.firstIndex(where: { $0.seq == seq }) {
                hold.waiting[i].until = until
            } else {
                hold.waiting.append((seq, until))
            }
            holder = hold
        }(&runningKeys[key])
    }

    /// Whether `hold`'s run still holds its key: it holds its event, within its lease. Caller holds
    /// `queueLock`.
    private func holdsLocked(_ hold: KeyHold, now: Int64) -> Bool {
        guard hold.run != nil, let event = inFlight[hold.seq] else { return false }
        return event.run == hold.run && event.until >= now
    }

    /// Lets go of `key` if run `run` holds it (a stalled run's key may be another's since), and lets
    /// in the earliest event that waited for it; the others stay on the key's waiting list for the
    /// run that takes it next. They are all pending events of the key, so each later one would only
    /// find the earliest ahead of it: letting in all of them cost a store read and write each per
    /// release, for a backlog of up to `scheduledAhead` events. Returns how many it queued (0 or 1).
    /// Caller holds `queueLock`.
    private func letGoLocked(_ key: WebhookOrderingKey, by run: UInt64) -> Int {
        guard var hold = runningKeys[key], hold.run == run else { return 0 }
        hold.waiting.sort { $0.seq < $1.seq }
        let letIn = hold.waiting.firstIndex { waiter in
            let seq = waiter.seq
            freedFromKey[seq] = waiter.until
            if admitLocked(seq: seq, webhook: key.webhook, job: { .due(seq: seq, webhook: key.webhook, run: $0) }) { return true }
            freedFromKey[seq] = nil
            return false
        }
        if let letIn { hold.waiting.remove(at: letIn) }
        runningKeys[key] = hold.waiting.isEmpty ? nil : KeyHold(seq: hold.seq, run: nil, since: 0, waiting: hold.waiting)
        return letIn == nil ? 0 : 1
    }

    /// `seq`, just released, waits for `key` until `until` (its time in the store) or until the run
    /// that holds the key lets go of it; if none holds it by now, it is let in again at once, unless
    /// it waits on the list kept for the key's next holder (`waitBehindEarlier`, `letGoLocked`): the
    /// earlier event it waits behind has not let go of the key since it went on that list.
    /// Returns how many it queued. Caller holds `queueLock`.
    private func waitForKeyLocked(_ key: WebhookOrderingKey, seq: Int64, until: Int64) -> Int {
        let now = WallClock.monotonicMilliseconds()
        let waiting = { (holder: inout KeyHold?) -> Bool in
            guard let hold = holder,
                  holdsLocked(hold, now: now) || (hold.run == nil && hold.waiting.contains { $0.seq == seq }) else { return false }
            if let i = hold.waiting.firstIndex(where: { $0.seq == seq }) {
                holder?.waiting[i].until = until
            } else {
                holder?.waiting.append((seq, until))
            }
            return true
        }(&runningKeys[key])
        if waiting { return 0 }
        freedFromKey[seq] = until
        if admitLocked(seq: seq, webhook: key.webhook, job: { .due(seq: seq, webhook: key.webhook, run: $0) }) { return 1 }
        freedFromKey[seq] = nil
        return 0
    }

    /// Whether the `Job.due` of `seq`, whose time in the store is `due`, was let in by its ordering
    /// key's release before that time (`freedFromKey`); takes the note.
    private func freedFromKey(_ seq: Int64, due: Int64) -> Bool {
        queueLock.lock()
        defer { queueLock.unlock() }
        return freedFromKey.removeValue(forKey: seq) == due
    }

    /// Full passes over every webhook, a pause apart; in between, passes over the capped webhooks
    /// whose events were released (`poke`), at most one per `pokedPassSpacing`.
    private func schedulerLoop() {
        var nextFullPass = WallClock.monotonicNanoseconds()
        var pokedNow: Set<String> = []
        while true {
            queueLock.lock()
            let stop = stopping
            queueLock.unlock()
            if stop { return }
            let now = WallClock.nowMilliseconds()
            if WallClock.monotonicNanoseconds() >= nextFullPass {
                let backlog = scheduleDue(now: now, webhooks: snapshots.snapshot.config.webhooks)
                scheduleReplays(now: now)
                // A backlog (after a restart, behind a slow handler) drains as fast as the workers
                // take it, not one page a pause: about 1,000 events a second per webhook (item 43).
                nextFullPass = WallClock.monotonicNanoseconds() + (backlog ? 10_000_000 : 250_000_000)
                metrics.countSchedulerPass(trigger: "timer")
            } else if !pokedNow.isEmpty {
                _ = scheduleDue(now: now, webhooks: snapshots.snapshot.config.webhooks.filter { pokedNow.contains($0.name) })
                metrics.countSchedulerPass(trigger: "release")
            }
            pokedNow = pauseScheduler(until: nextFullPass)
        }
    }

    /// Waits until `deadline` (a `WallClock.monotonicNanoseconds()` reading), or until a poke at least `pokedPassSpacing` from now; returns the
    /// webhooks poked meanwhile. A pause of its own, so that stopping can cut it short.
    private func pauseScheduler(until deadline: UInt64) -> Set<String> {
        let earliest = WallClock.monotonicNanoseconds() + pokedPassSpacing
        schedulerPause.lock()
        defer { schedulerPause.unlock() }
        while !schedulerStopping {
            let now = WallClock.monotonicNanoseconds()
            if now >= deadline || (!poked.isEmpty && now >= earliest) { break }
            schedulerPause.wait(untilUptime: poked.isEmpty ? deadline : earliest)
        }
        defer { poked.removeAll(keepingCapacity: true) }
        return poked
    }

    /// Each webhook is asked for its own due events, and a capped webhook's jobs wait in `cappedQueue`,
    /// not behind the others' in `queue`, so one webhook's backlog cannot starve another's.
    /// The events it has queued or running are still due in the store, and the earliest: the page
    /// reaches past them, or a backlog would be read one page behind its own queued events at a time.
    /// A webhook has at most `scheduledAhead` events queued or running from here, so a page stays
    /// short. True when a webhook's page was full: more are due, and the scheduler comes back soon.
    /// The events of a webhook no longer configured wait in the store: run, they would take the
    /// default retry policy, lease and no cap instead of the webhook's (as a removed outbound
    /// destination's do), and they resume on the webhook's own once it is added back.
    private func scheduleDue(now: Int64, webhooks: [WebhookConfig]) -> Bool {
        var backlog = false
        for webhook in webhooks {
            queueLock.lock()
            let running = perWebhook[webhook.name, default: 0]
            queueLock.unlock()
            let room = min(256, (webhook.concurrency ?? Int.max) - running, scheduledAhead - running)
            guard room > 0 else {
                if running >= scheduledAhead { backlog = true }
                continue
            }
            let capped = webhook.concurrency != nil
            let page = running + room + (capped ? readAheadLimit : 0)
            guard let due = try? store.dueEvents(now: now, limit: page, webhook: webhook.name) else { continue }
            if capped {
                queueLock.lock()
                if due.count == page { cappedBacklog.insert(webhook.name) } else { cappedBacklog.remove(webhook.name) }
                queueLock.unlock()
            }
            enqueueDue(due, webhook: webhook.name, keepingTheRest: capped)
            if due.count == page { backlog = true }
        }
        return backlog
    }

    /// Replays due in the store that nothing here holds: scheduled for later (`?at=`, bulk) and now
    /// due, or asked for before the last stop or crash. An event with an attempt queued or running
    /// or replays waiting is left for a later pass: the replays asked for meanwhile wait behind it
    /// here already, and the ones that do not are found once it is free. Should a run be started
    /// twice for one request all the same, only one of them takes it (`EventStore.takeReplay`).
    private func scheduleReplays(now: Int64) {
        guard let due = try? store.dueReplays(now: now, limit: 64, direction: .inbound) else { return }
        for event in due {
            queueLock.lock()
            let held = replaysWaiting[event.seq] != nil || inFlight[event.seq].map { $0.until >= WallClock.monotonicMilliseconds() } == true
            queueLock.unlock()
            if !held { replay(seq: event.seq, webhook: event.webhook, count: event.count) }
        }
    }

    /// Queues what it can of `seqs` and returns how many it queued. `keepingTheRest` (a capped
    /// webhook): those turned away at the cap and not running become the webhook's `readAhead`.
    @discardableResult
    private func enqueueDue(_ seqs: [Int64], webhook: String, keepingTheRest: Bool = false) -> Int {
        queueLock.lock()
        var admitted = 0
        var rest: [Int64] = []
        for seq in seqs {
            if admitLocked(seq: seq, webhook: webhook, job: { .due(seq: seq, webhook: webhook, run: $0) }) {
                admitted += 1
            } else if keepingTheRest, inFlight[seq] == nil {
                rest.append(seq)
            }
        }
        if keepingTheRest { readAhead[webhook] = rest.isEmpty ? nil : rest[...] }
        let woken = takeIdleLocked(admitted)
        queueLock.unlock()
        wake(woken)
        return admitted
    }

    /// One attempt: call the handler, record the outcome, schedule the next attempt or settle the
    /// status. False when the event has no handler; otherwise `onRecorded` is called with the result
    /// once the record is committed (on the store's completion thread: it must be short).
    /// `startCommittedFirst`: the handler is called only once the attempt's start is committed, so
    /// that a crash in it is counted (`recoverInterruptedAttempts`). Retries and runs after a restart
    /// pay that commit, and replays always do (it takes their request, `takeReplayRequest`); a fresh
    /// event's first run does not wait.
    private func run(_ event: StoredEvent, run: UInt64, replay: Bool, startCommittedFirst: Bool = false,
                     onRecorded: @escaping @Sendable (AttemptResult) -> Void) -> Bool {
        guard let handlerText = event.handler, let (handler, pluginMetrics) = handlerReferences.reference(handlerText) else { return false }
        // The common case, a concurrent plugin, runs at once, with no closure to allocate.
        guard let gate = plugins.oneAtATimeVersion(handler) else {
            attempt(event, run: run, handler: handler, pluginMetrics: pluginMetrics, replay: replay,
                    startCommittedFirst: startCommittedFirst, onRecorded: onRecorded)
            return true
        }
        runOneAtATime(on: gate, of: handler.plugin, event, run: run, replay: replay, startCommittedFirst: startCommittedFirst,
                      onRecorded: onRecorded) { [self] in
            attempt(event, run: run, handler: handler, pluginMetrics: pluginMetrics, replay: replay,
                    startCommittedFirst: startCommittedFirst, onRecorded: onRecorded)
        }
        return true
    }

    /// A plugin version that takes one call at a time holds one worker, not all of them: an attempt
    /// that finds it busy is parked, and the worker in its call runs the parked ones after its own.
    /// `run`, `replay`, `startCommittedFirst` and `onRecorded` are `run`'s, to start the attempt over
    /// should a new version of the plugin be loaded while it is parked (`ParkedAttempt.resume`). Its
    /// closures are built only when it parks: this is every attempt's way to a plugin that declares
    /// no `LAYERON_PLUGIN_CONCURRENT`, the default, and most find it free.
    private func runOneAtATime(on gate: ObjectIdentifier, of plugin: String, _ event: StoredEvent, run: UInt64, replay: Bool,
                               startCommittedFirst: Bool, onRecorded: @escaping @Sendable (AttemptResult) -> Void,
                               attempt: @escaping () -> Void) {
        // A parked attempt keeps its event held with no deadline, as it was queued: its lease starts
        // when its handler is called (`startLease`).
        serialLock.lock()
        if serialRunning.contains(gate) {
            // A version replaced since `run` looked it up is not waited for: the attempt takes the
            // new one's turn, as those parked before the load do (`resumeParked`).
            guard plugins.oneAtATimeVersion(ofPlugin: plugin) == gate else {
                serialLock.unlock()
                _ = self.run(event, run: run, replay: replay, startCommittedFirst: startCommittedFirst, onRecorded: onRecorded)
                return
            }
            parkings &+= 1
            parked[gate, default: []].append(ParkedAttempt(
                seq: event.seq, plugin: plugin, arrival: parkings, run: attempt,
                resume: { [self] in _ = self.run(event, run: run, replay: replay, startCommittedFirst: startCommittedFirst, onRecorded: onRecorded) },
                abandon: {
                    onRecorded(AttemptResult(outcome: HandlerOutcome(verdict: .retry, message: "the server is shutting down", plugin: "", pluginVersion: ""),
                                             status: .pending, nextAttemptAt: event.nextAttemptAt))
                }))
            serialLock.unlock()
            return
        }
        serialRunning.insert(gate)
        serialLock.unlock()
        attempt()
        runParked(on: gate)
    }

    /// Runs the attempts parked on `gate`, one after another, on the calling worker, which holds the
    /// gate (`serialRunning`), until none is left; lets go of the gate then.
    private func runParked(on gate: ObjectIdentifier) {
        while true {
            serialLock.lock()
            guard var waiting = parked[gate], !waiting.isEmpty else {
                serialRunning.remove(gate)
                serialLock.unlock()
                return
            }
            let next = waiting.removeFirst()
            parked[gate] = waiting.isEmpty ? nil : waiting
            serialLock.unlock()
            queueLock.lock()
            let stop = stopping
            queueLock.unlock()
            // Stopping: parked attempts were never started; their events stay due in the store, and
            // a parked replay stays a request there.
            if stop {
                next.abandon()
            } else {
                next.run()
            }
        }
    }

    /// A new version of `plugin` is loaded: the attempts parked behind a call of an older version
    /// (one that stalled, most often) move on to the new version, instead of waiting for that call
    /// to return. They were parked by the version, so that a new build is not held up by its
    /// predecessor's calls, and stayed behind the old one's however long it ran. The old call's
    /// worker finds them gone when it returns.
    ///
    /// They keep their arrival order, ahead of the attempts parked on the new version since its load
    /// (which came after them): they are parked on it as they were, not queued for workers one by
    /// one, who raced to park them again in any order. A new version that takes calls concurrently
    /// needs no order, and they are queued as urgent jobs.
    private func resumeParked(behindOlderVersionsOf plugin: String) {
        let current = plugins.oneAtATimeVersion(ofPlugin: plugin)
        serialLock.lock()
        var resumed: [ParkedAttempt] = []
        for (gate, waiting) in parked where gate != current && waiting.first?.plugin == plugin {
            resumed += waiting
            parked[gate] = nil
        }
        guard !resumed.isEmpty else {
            serialLock.unlock()
            return
        }
        var toRun: [Job] = []
        if let current {
            resumed.sort { $0.arrival < $1.arrival }
            parked[current] = resumed + (parked[current] ?? [])
            // With no worker in the new version's call, one starts on the parked attempts.
            if serialRunning.insert(current).inserted { toRun = [.runParked(current)] }
        } else {
            toRun = resumed.map(Job.unparked)
        }
        serialLock.unlock()
        queueLock.lock()
        let stop = stopping
        if !stop { urgent += toRun }
        let woken = stop ? [] : takeIdleLocked(toRun.count)
        queueLock.unlock()
        if stop {
            for job in toRun { abandon(job) }
            return
        }
        wake(woken)
        logger.info("a new version of plugin \(plugin) is loaded: \(resumed.count) attempt(s) that waited for a call of the previous one run on it",
                    [("plugin", plugin)])
    }

    /// Abandons a job of attempts moved to a new plugin version, the server stopping before it ran.
    private func abandon(_ job: Job) {
        switch job {
        case let .unparked(attempt): attempt.abandon()
        case let .runParked(gate): runParked(on: gate)
        case .fresh, .due, .replay, .waited, .retriedByProvider, .routedByProvider: break
        }
    }

    /// The plugin that an attempt of `seq` waits for, parked because that plugin takes one call at a
    /// time and is in another event's; nil when no attempt of `seq` is parked. An after-handler
    /// answer that times out says so: its handler has not started, rather than not finished.
    func parkedBehind(seq: Int64) -> String? {
        serialLock.lock()
        defer { serialLock.unlock() }
        for waiting in parked.values {
            if let attempt = waiting.first(where: { $0.seq == seq }) { return attempt.plugin }
        }
        return nil
    }

    /// Whether `seq`'s after-handler attempt is still queued for a worker, every worker being in
    /// another event's handler: a timeout then says the handler had not started.
    func waitingForWorker(seq: Int64) -> Bool {
        queueLock.lock()
        defer { queueLock.unlock() }
        return urgent.contains { job in
            switch job {
            case let .waited(event, _, _): event.seq == seq
            case let .retriedByProvider(waiting, _, _), let .routedByProvider(waiting, _, _): waiting == seq
            case let .unparked(attempt): attempt.seq == seq
            case .fresh, .due, .replay, .runParked: false
            }
        }
    }

    /// `run`'s attempt itself, on the calling worker.
    private func attempt(_ event: StoredEvent, run: UInt64, handler: HandlerReference, pluginMetrics: PluginMetrics, replay: Bool,
                         startCommittedFirst: Bool, onRecorded: @escaping @Sendable (AttemptResult) -> Void) {
        let rules = snapshots.snapshot.attemptRules(ofWebhook: event.webhook)
        let n = event.attemptCount + 1
        let startedAt = WallClock.nowMilliseconds()
        let handlerEvent = HandlerEvent(
            id: event.id, webhook: event.webhook, provider: event.provider, type: event.type,
            providerEventID: event.providerEventID ?? "", headers: event.headers, body: event.body,
            receivedAtMilliseconds: event.receivedAt, attempt: UInt32(clamping: n), replay: replay)

        var start: AttemptStart?
        /// How long the handler's call took; nil when no handler was called.
        var callSeconds: Double?
        var replayTaken = true
        var startRecorded = true
        /// When the run's hold of its event runs out (monotonic): past it, another run may take over.
        var leaseEnds = Int64.max
        let logger = self.logger
        let called = plugins.withHandler(handler) { plugin -> HandlerOutcome? in
            let record = AttemptRecord(n: n, startedAt: startedAt, finishedAt: nil, outcome: nil, error: nil, replay: replay,
                                       plugin: plugin.name, pluginVersion: plugin.version)
            if replay {
                replayTaken = takeReplayRequest(event, record)
                guard replayTaken else { return nil }
            } else if startCommittedFirst {
                // The handler runs only once its start is committed: its finish would not be
                // recorded either, so the event would stay due and run again at every pass.
                do throws(SQLiteError) { try store.startAttemptCommitted(seq: event.seq, attempt: record) } catch {
                    startRecorded = false
                    noteStartRefused(error, event: event)
                    return nil
                }
            } else {
                start = store.startAttempt(seq: event.seq, attempt: record)
            }
            leaseEnds = startLease(of: event.seq, run: run, lease: rules?.leaseMilliseconds ?? WebhookConfig.defaultLease.milliseconds)
            let callStarted = WallClock.monotonicNanoseconds()
            defer { callSeconds = WallClock.secondsSince(callStarted) }
            return plugin.call(handler.handler, handlerEvent)
                ?? HandlerOutcome(verdict: .error, message: "handler \(handler) disappeared", plugin: plugin.name, pluginVersion: plugin.version)
        }
        if called == nil, replay {
            // No handler to call: the replay still takes its request, and is recorded as not run.
            replayTaken = takeReplayRequest(event, AttemptRecord(n: n, startedAt: startedAt, finishedAt: nil, outcome: nil, error: nil,
                                                                 replay: true, plugin: handler.plugin, pluginVersion: nil))
        }
        guard replayTaken else {
            // Another run took the request this one was started for: nothing ran, nothing to record.
            onRecorded(AttemptResult(outcome: .notRun("no replay of this event was left to run", plugin: handler.plugin),
                                     status: event.status, nextAttemptAt: event.nextAttemptAt))
            return
        }
        guard startRecorded else {
            // Nothing ran: the event stays due, and a later pass runs it once the store writes again.
            onRecorded(AttemptResult(outcome: .notRun("the store could not record the attempt's start", plugin: handler.plugin),
                                     status: event.status, nextAttemptAt: event.nextAttemptAt))
            return
        }
        let outcome = (called ?? nil) ?? .notRun("handler \(handler) did not run: "
                                                    + (plugins.whyUnavailable(handler) ?? "its plugin \(handler.plugin) changed during the attempt"),
                                                 plugin: handler.plugin)
        let finishedAt = WallClock.nowMilliseconds()

        var status: EventStatus
        var next: Int64?
        let recorded: AttemptOutcome
        var note = outcome.message
        switch outcome.verdict {
        case .ok:
            status = .processed
            recorded = .ok
        case .error:
            status = .failed
            recorded = .error
        case .retry:
            if replay {
                // A replay is one extra run outside the schedule, so nothing follows it: recorded as
                // the handler answered, with a note saying so (the event keeps its status, below).
                recorded = .retry
                status = event.status
                note = (note ?? "the handler asked for a retry") + " (a replay is not retried: replay the event again if it is still wanted)"
                break
            }
            guard let policy = rules?.retry else {
                // Its webhook was removed while it ran: the policy is unknown, so the event waits in
                // the store, due, and runs on the webhook's policy when it is added back.
                recorded = .retry
                status = .pending
                next = finishedAt
                note = (note ?? "the handler asked for a retry") + " (webhook \(event.webhook) is no longer configured: the event waits until it is again)"
                break
            }
            let jitter = Double(SecureRandom.bytes(1)[0]) / 256
            // Replays take no place in the schedule: they do not use up the event's retries.
            let place = n == 1 ? n : n - ((try? store.replaysBefore(seq: event.seq, attempt: n)) ?? 0)
            if let delay = policy.delay(afterAttempt: Int(place), requestedMilliseconds: outcome.retryAfterMilliseconds, random: jitter) {
                recorded = .retry
                status = .pending
                next = finishedAt + delay.milliseconds
            } else {
                // No attempt follows this one (the last of the policy): recorded as an error, as
                // outbound deliveries are, so that what counts failures (the attempt, the metric,
                // the log) counts the event's failure.
                recorded = .error
                status = .failed
                note = (note ?? "the handler asked for a retry") + " (attempt \(place) of \(policy.attempts), the last)"
            }
        }
        // A replay is one extra run: it settles its event when it succeeds, and otherwise leaves the
        // event's status, schedule and recorded answer as they were (docs/inbound.md, Replays).
        let keepsEvent = replay && recorded != .ok
        if keepsEvent {
            status = event.status
            next = event.nextAttemptAt
        }
        var response: StoredResponse?
        if rules?.respond == .afterHandler, !keepsEvent {
            response = InboundResponses.forOutcome(outcome, nextAttemptAt: next, now: finishedAt, eventID: event.id)
        }
        let attempt = AttemptRecord(n: n, startedAt: startedAt, finishedAt: finishedAt, outcome: recorded,
                                    error: note, replay: replay, plugin: outcome.plugin,
                                    pluginVersion: outcome.pluginVersion.isEmpty ? nil : outcome.pluginVersion)
        let result = AttemptResult(outcome: outcome, status: status, nextAttemptAt: next)
        // Runs of one event overlap only when one is handed over after its lease. A success always
        // settles the event; a RETRY or ERROR only if no overlapping run settled it meanwhile, and is
        // otherwise recorded on its attempt alone. Such a run ends near or past its lease (the
        // margin covers a handover between now and this end's commit), or is not its event's first
        // attempt (it may be the run that took over); the common case settles in the batch's
        // shared statement.
        let mayOverlap = recorded != .ok && (n > 1 || WallClock.monotonicMilliseconds() >= leaseEnds - Self.handOverMargin)
        recordFinish(seq: event.seq, run: run, eventID: event.id, attempt, status: status, next: next, response: response,
                     replacing: start, settlesUnlessOvertaken: mayOverlap) { onRecorded(result) }
        pluginMetrics.countAttempt(outcome: recorded, seconds: callSeconds)
        if recorded == .ok, !replay { metrics.endToEnd.observe(seconds: Double(finishedAt - event.receivedAt) / 1000) }
        // A function, so that the logger builds the fields only for a line it writes.
        func fields() -> [(String, String)] { [("event", event.id), ("handler", handler.description), ("attempt", String(n))] }
        switch recorded {
        case .ok: logger.debug("handler ok", fields())
        case .retry where replay: logger.warn(note ?? "the handler asked for a retry", fields())
        case .retry where !outcome.ran: logger.warn("\(outcome.message ?? "handler \(handler) did not run"); the event is retried", fields())
        case .retry: logger.warn("handler asked for a retry" + (outcome.message.map { ": \($0)" } ?? ""), fields())
        case .error where outcome.verdict == .retry: logger.warn("\(note ?? "the handler asked for a retry"); the event has failed", fields())
        case .error: logger.warn("handler failed" + (note.map { ": \($0)" } ?? ""), fields())
        }
    }

    /// Starts the lease of run `run` of `seq`, its handler about to be called: only a call that runs
    /// past it is presumed stalled, not the wait for a worker before it (`inFlight`). A run that no
    /// longer holds its event (the event was handed to another run) leaves the other's lease alone.
    /// `lease` comes with the attempt's rules, already read for it: a second lookup of the webhook
    /// was one more string hash on every attempt.
    private func startLease(of seq: Int64, run: UInt64, lease: Int64) -> Int64 {
        let until = WallClock.monotonicMilliseconds() + lease
        queueLock.lock()
        Self.hold(&inFlight[seq], of: run, until: until)
        queueLock.unlock()
        return until
    }

    /// How close to its lease's end an attempt may finish and still settle its event unguarded.
    private static let handOverMargin: Int64 = 5_000

    /// Sets when `run`'s hold of its event runs out, in place in `inFlight`, if `run` holds it.
    private static func hold(_ hold: inout Hold?, of run: UInt64, until: Int64) {
        if hold?.run == run { hold?.until = until }
    }

    /// Writes an attempt's end, and again every second while the store refuses it (a full disk):
    /// its handler has run, so the event stays held here, with no lease deadline, until its outcome
    /// is recorded, and no pass of the scheduler runs it again meanwhile (the event is still pending
    /// and due in the store). A stop gives up: the next start finds the attempt open and closes it
    /// (`recoverInterruptedAttempts`). `onRecorded` runs once the end is committed.
    private func recordFinish(seq: Int64, run: UInt64, eventID: String, _ attempt: AttemptRecord, status: EventStatus, next: Int64?,
                              response: StoredResponse?, replacing start: AttemptStart?, settlesUnlessOvertaken: Bool, refusals: Int = 0,
                              onRecorded: @escaping @Sendable () -> Void) {
        store.finishAttempt(seq: seq, attempt: attempt, status: status, nextAttemptAt: next, response: response,
                            replacing: start, settlesUnlessOvertaken: settlesUnlessOvertaken) { [self] error in
            // A function, so that the common path (recorded at once, nothing logged) builds no fields.
            func fields() -> [(String, String)] { [("event", eventID), ("attempt", String(attempt.n))] }
            guard let error else {
                if refusals > 0 { logger.info("recorded how the attempt ended, after the store had refused it \(refusals) time(s)", fields()) }
                return onRecorded()
            }
            queueLock.lock()
            let stop = stopping
            if !stop { Self.hold(&inFlight[seq], of: run, until: .max) }
            queueLock.unlock()
            if stop {
                logger.warn("the server stopped before the attempt's end could be recorded; its event runs again after the next start: \(error)", fields())
                return
            }
            if refusals == 0 {
                logger.error("cannot record how the attempt ended; its event is held, and the record written again every second until the store takes it: \(error)",
                             fields())
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [self] in
                recordFinish(seq: seq, run: run, eventID: eventID, attempt, status: status, next: next, response: response, replacing: nil,
                             settlesUnlessOvertaken: settlesUnlessOvertaken, refusals: refusals + 1, onRecorded: onRecorded)
            }
        }
    }

    private func noteStartRefused(_ error: SQLiteError, event: StoredEvent) {
        let covered = startRefusals.withLock { $0.occurrence(0, now: DispatchTime.now().uptimeNanoseconds) }
        guard let covered else { return }
        let count = covered > 1 ? " (\(covered) attempts held back since the last of these lines)" : ""
        logger.error("cannot record the start of an attempt; its handler runs once the store writes again\(count): \(error)",
                     [("event", event.id)])
    }

    /// Records a replay's start and takes one of its event's replay requests with it
    /// (`EventStore.takeReplay`). False when none was left, so this run must not happen, or when
    /// the store failed: the request then stays, and a later pass of the scheduler runs it.
    private func takeReplayRequest(_ event: StoredEvent, _ record: AttemptRecord) -> Bool {
        do throws(SQLiteError) { return try store.takeReplay(seq: event.seq, now: record.startedAt, starting: record) } catch {
            logger.error("cannot record the start of a replay; it runs later: \(error)", [("event", event.id)])
            return false
        }
    }
}

/// Parsed handler references by their text, each with its plugin's metric counters; every event of a
/// webhook names one of a few handlers.
private final class HandlerReferenceCache: @unchecked Sendable {
    private let metrics: Metrics
    /// Guards `parsed`.
    private let lock = NSLock()
    // No runtime exclusivity check: `lock` guards it (item 52).
    @exclusivity(unchecked) private var parsed: [String: (HandlerReference, PluginMetrics)] = [:]

    init(metrics: Metrics) { self.metrics = metrics }

    func reference(_ text: String) -> (HandlerReference, PluginMetrics)? {
        lock.lock()
        defer { lock.unlock() }
        if let known = parsed[text] { return known }
        guard let reference = HandlerReference(parsing: text) else { return nil }
        if parsed.count >= 256 { parsed.removeAll() }
        let resolved = (reference, metrics.plugin(named: reference.plugin))
        parsed[text] = resolved
        return resolved
    }
}

/// An ordering key value of a webhook (`ordering: per-key`), as `Dispatcher.runningKeys` holds it.
private struct WebhookOrderingKey: Hashable {
    let webhook: String
    let key: String
}

/// An event's place in `Dispatcher.inFlight`: the run that holds it, and the time after which that
/// run is presumed stalled (`.max` until its handler is called).
private struct Hold {
    var until: Int64
    /// Tells the event's runs apart: one presumed stalled goes on beside the one it was handed to.
    let run: UInt64
}

/// An ordering key's hold by a run (`Dispatcher.runningKeys`).
private struct KeyHold {
    let seq: Int64
    /// Nil when no run holds the key: the entry only keeps its waiting list for the run that takes it
    /// next (`Dispatcher.holdKey`).
    let run: UInt64?
    /// When the run took the key (`WallClock.monotonicMilliseconds()`): an event that finds the key
    /// held waits about as long again.
    let since: Int64
    /// The events that found the key held, each with the time it was rescheduled for in the store:
    /// they are let in when the key is let go of.
    var waiting: [(seq: Int64, until: Int64)]
}

/// What an attempt did with its event's ordering key, for `Dispatcher.release`.
private enum KeyUse {
    /// It held the key: let go of it, and let in the events waiting for it.
    case held(WebhookOrderingKey)
    /// Another run held it: the event was rescheduled for `until`, and waits for the key.
    case waits(WebhookOrderingKey, until: Int64)
}

/// An attempt parked behind a plugin that takes one call at a time: run it, or, when the server
/// stops first, abandon it (its event stays due in the store; a waiting provider hears "retry").
private struct ParkedAttempt {
    let seq: Int64
    /// The plugin whose version it waits for.
    let plugin: String
    /// When it was parked (`Dispatcher.parkings`): attempts moved to a new version keep this order.
    let arrival: UInt64
    /// Runs it, on the worker in its plugin version's call.
    let run: () -> Void
    /// Starts it over, through `Dispatcher.run`: its plugin version was replaced while it waited.
    let resume: () -> Void
    let abandon: () -> Void
}
