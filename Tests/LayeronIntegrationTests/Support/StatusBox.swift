import Foundation

/// Collects the statuses (and ids) that concurrent requests got.
final class StatusBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var statuses: [Int] = []
    private(set) var ids: [String] = []
    func add(_ status: Int, _ id: String?) {
        lock.lock()
        statuses.append(status)
        if let id { ids.append(id) }
        lock.unlock()
    }
}
