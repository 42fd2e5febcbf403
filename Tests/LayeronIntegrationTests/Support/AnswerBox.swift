import Foundation

/// What a request running on another thread was answered.
final class AnswerBox: @unchecked Sendable {
    /// Guards `text`.
    private let lock = NSLock()
    private var text = ""

    func set(_ value: String) {
        lock.lock()
        text = value
        lock.unlock()
    }

    var value: String {
        lock.lock()
        defer { lock.unlock() }
        return text
    }
}
