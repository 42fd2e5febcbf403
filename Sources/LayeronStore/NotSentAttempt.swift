/// A delivery the server could not send for a cause of its own (out of file descriptors): the
/// receiver was never contacted, so the attempt takes no place in its destination's retry schedule
/// (`EventStore.deliveryProgress`), and the event is tried again on waits of its own, until the run
/// of such attempts has lasted as long as the schedule spans (`DeliverySchedule.nextNotSentTry`).
public enum NotSentAttempt {
    /// How the error of every such attempt begins.
    public static let errorPrefix = "not sent: "
}
