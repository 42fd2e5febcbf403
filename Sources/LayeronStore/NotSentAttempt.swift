/// A delivery the server could not send for a cause of its own (out of file descriptors): the
/// receiver was never contacted, so the attempt takes no place in its destination's retry schedule
/// (`EventStore.scheduledAttempts`) and the event is tried again shortly, however often that happens.
public enum NotSentAttempt {
    /// How the error of every such attempt begins.
    public static let errorPrefix = "not sent: "
}
