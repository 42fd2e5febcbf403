import LayeronCore
import LayeronOutbound
import LayeronStore

/// What one delivery attempt means for its event: the rules of retries, `Retry-After` and 410 Gone,
/// kept apart from the I/O so that they read in one place.
struct OutboundOutcome: Equatable {
    var outcome: AttemptOutcome
    var status: EventStatus
    var nextAttemptAt: Int64?
    var message: String?
    var disablesDestination = false

    /// `notSentSince` is when the run of deliveries the server could not send that this attempt
    /// belongs to began (the attempt's own start when no attempt before it was one).
    static func decide(_ result: DeliveryResult, schedule: DeliverySchedule, scheduledAttempt: Int, replay: Bool,
                       previousStatus: EventStatus, previousNextAttempt: Int64?, notSentSince: Int64, finishedAt: Int64) -> OutboundOutcome {
        if result.isSuccess {
            return OutboundOutcome(outcome: .ok, status: .processed, nextAttemptAt: nil, message: nil)
        }
        let message = result.transportError ?? "the receiver answered \(result.status ?? 0)"
        if result.status == 410 {
            // The receiver's word on the destination, whoever asked: a replay disables it too, but
            // leaves its own event's status as any failed replay does (a pending event then fails
            // with the destination's other pending events).
            return OutboundOutcome(outcome: .error, status: replay ? previousStatus : .failed, nextAttemptAt: replay ? previousNextAttempt : nil,
                                   message: message + " (Gone): the destination is disabled", disablesDestination: true)
        }
        if result.transportError == "the server is shutting down" {
            // A replay of an event not pending has no schedule that would send it again.
            if replay && previousStatus != .pending {
                return OutboundOutcome(outcome: .error, status: previousStatus, nextAttemptAt: previousNextAttempt,
                                       message: InterruptedAttempt.replayMessage)
            }
            // Cut off by a stop: due again at once, so the next start sends it.
            return OutboundOutcome(outcome: .retry, status: previousStatus, nextAttemptAt: previousNextAttempt ?? finishedAt,
                                   message: InterruptedAttempt.errorPrefix + "the server stopped during this delivery; it will run again")
        }
        if result.notSent {
            // The server's own want of descriptors: the receiver was not contacted, so a replay just
            // failed and a scheduled attempt takes no place in the schedule and comes again soon,
            // but not for longer than the schedule gives a receiver: then the event fails.
            let notSent = NotSentAttempt.errorPrefix + message
            if replay { return OutboundOutcome(outcome: .error, status: previousStatus, nextAttemptAt: previousNextAttempt, message: notSent) }
            guard let next = schedule.nextNotSentTry(since: notSentSince, now: finishedAt) else {
                return OutboundOutcome(outcome: .error, status: .failed, nextAttemptAt: nil,
                                       message: notSent + " (not sent for \(TimeSpan.seconds((finishedAt - notSentSince) / 1000)), the limit of \(schedule.notSentHorizon): "
                                           + "the span of the destination's retry schedule, at least \(DeliverySchedule.firstNotSentWait); "
                                           + "the event failed: replay it once the server can send again)")
            }
            return OutboundOutcome(outcome: .retry, status: previousStatus, nextAttemptAt: next,
                                   message: notSent + " (not counted as an attempt; trying again in \(TimeSpan(milliseconds: next - finishedAt)))")
        }
        // A replay is one extra try: it never moves the event's own schedule.
        if replay {
            return OutboundOutcome(outcome: .error, status: previousStatus, nextAttemptAt: previousNextAttempt, message: message)
        }
        var retryAfter: TimeSpan?
        if result.status == 429 || result.status == 503, let header = result.header("retry-after") {
            retryAfter = RetryAfter.parse(header, nowMilliseconds: finishedAt)
        }
        guard let delay = schedule.delay(afterAttempt: scheduledAttempt, retryAfter: retryAfter) else {
            return OutboundOutcome(outcome: .error, status: .failed, nextAttemptAt: nil,
                                   message: message + " (attempt \(scheduledAttempt) of \(schedule.attempts), the last)")
        }
        return OutboundOutcome(outcome: .retry, status: .pending, nextAttemptAt: finishedAt + delay.milliseconds,
                               message: message + (retryAfter.map { " (Retry-After \($0.milliseconds == 0 ? "asks for no wait" : "\($0)"); waiting \(delay))" } ?? ""))
    }
}
