import LayeronCore
import XCTest

/// Lines below the level cost nothing: hot paths log a rejected signature or a recorded event on every
/// request, so the message and fields must not even be built unless the line is written.
final class LoggerTests: XCTestCase {
    func testMessagesAndFieldsAreBuiltOnlyForLinesThatAreWritten() {
        let lines = Lines()
        let logger = Logger(minimum: .warn) { level, message, fields in lines.add("\(level) \(message) \(fields.map { "\($0.0)=\($0.1)" })") }
        let built = Lines()
        logger.debug(built.note("debug message"), [("k", built.note("debug field"))])
        logger.info(built.note("info message"), [("k", built.note("info field"))])
        logger.warn(built.note("warn message"), [("k", built.note("warn field"))])
        logger.log(.error, built.note("error message"))
        XCTAssertEqual(built.all, ["warn message", "warn field", "error message"])
        XCTAssertEqual(lines.all, ["warn warn message [\"k=warn field\"]", "error error message []"])
    }

    /// Levels as other tools write them (`DEBUG`, `Warning`) name the same levels; anything else is
    /// still refused.
    func testLevelNamesAreReadInAnyCaseWithWarningForWarn() {
        XCTAssertEqual(LogLevel(name: "DEBUG"), .debug)
        XCTAssertEqual(LogLevel(name: "Info"), .info)
        XCTAssertEqual(LogLevel(name: "warning"), .warn)
        XCTAssertEqual(LogLevel(name: "WARN"), .warn)
        XCTAssertEqual(LogLevel(name: "error"), .error)
        XCTAssertNil(LogLevel(name: "verbose"))
        XCTAssertNil(LogLevel(name: ""))
    }
}

/// Collects strings in order.
private final class Lines: @unchecked Sendable {
    /// Guards `items`.
    private let lock = NSLock()
    private var items: [String] = []

    func add(_ line: String) {
        lock.lock()
        items.append(line)
        lock.unlock()
    }

    /// Records that `text` was built and returns it.
    func note(_ text: String) -> String {
        add(text)
        return text
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}
