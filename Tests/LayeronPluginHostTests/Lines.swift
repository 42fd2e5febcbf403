import Foundation

/// Log messages from any thread: the registry logs from its load threads while a test reads.
final class Lines: @unchecked Sendable {
    /// Guards `values`.
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ line: String) { lock.lock(); values.append(line); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return values }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
    func count(of text: String) -> Int { all.filter { $0 == text }.count }
}
