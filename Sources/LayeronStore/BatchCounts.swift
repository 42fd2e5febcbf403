/// The writer's batches so far and the jobs they held (events, attempt records, admin writes).
public struct BatchCounts: Equatable, Sendable {
    public var batches: UInt64 = 0
    public var jobs: UInt64 = 0
}
