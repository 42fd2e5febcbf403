import Foundation
@testable import LayeronStore
import XCTest

/// The writer's completions run off its thread but in commit order: each batch's completions, with
/// their own errors, then its hooks, and a stop runs everything handed over before it.
final class CompletionThreadTests: XCTestCase {
    func testBatchesRunInOrderWithTheirErrorsAndHooksLast() {
        let thread = CompletionThread()
        let log = Log()
        for batch in 0..<50 {
            let failed = batch % 7 == 3
            thread.hand(.init(
                completions: (0..<3).map { job in
                    (done: { error in log.add("\(batch).\(job)\(error == nil ? "" : "!")") },
                     error: failed && job == 1 ? SQLiteError(code: 1, message: "x") : nil)
                },
                hooks: [{ log.add("\(batch).hook") }]))
        }
        thread.stop()
        let expected = (0..<50).flatMap { batch in
            (0..<3).map { job in "\(batch).\(job)\(batch % 7 == 3 && job == 1 ? "!" : "")" } + ["\(batch).hook"]
        }
        XCTAssertEqual(log.entries, expected)
    }
}

private final class Log: @unchecked Sendable {
    /// Guards `lines`.
    private let lock = NSLock()
    private var lines: [String] = []

    func add(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }

    var entries: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}
