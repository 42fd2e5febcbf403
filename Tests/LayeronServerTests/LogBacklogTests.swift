import Foundation
@testable import LayeronServer
import XCTest

/// A stalled log reader never blocks the threads that log: lines wait, in order, up to the bound,
/// and past it are dropped with a line that says how many, once the reader reads again.
final class LogBacklogTests: XCTestCase {
    func testAStalledReaderNeitherBlocksTheLoggerNorReordersLines() throws {
        var ends: [Int32] = [-1, -1]
        XCTAssertEqual(pipe(&ends), 0)
        let (reader, writer) = (ends[0], ends[1])
        defer { close(reader) }
        let backlog = LogBacklog(limitBytes: 16_384, descriptor: writer, send: { line in
            var line = line
            return line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(writer, bytes.baseAddress! + offset, bytes.count - offset)
                    guard n > 0 else { return false }
                    offset += n
                }
                return true
            }
        }, note: { gap in
            guard case let .readerStalled(count) = gap else { return "refused\n" }
            return "dropped \(count)\n"
        })

        // About 200 KB: a pipe holds 64 KB, so without the backlog the writes would block here.
        let started = Date()
        for i in 0..<2_000 { backlog.write("line \(i) " + String(repeating: "x", count: 90) + "\n") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the logging thread was held by the stalled reader")

        // Read as the reader comes back, until nothing is left to write.
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            var ready = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            if poll(&ready, 1, 100) == 1 {
                let n = read(reader, &buffer, buffer.count)
                if n > 0 { received += String(decoding: buffer[0..<n], as: UTF8.self) }
            } else if backlog.flush(seconds: 0) {
                break
            }
        }
        close(writer)

        let lines = received.split(separator: "\n")
        let numbers = lines.compactMap { $0.hasPrefix("line ") ? Int($0.split(separator: " ")[1]) : nil }
        XCTAssertEqual(numbers, numbers.sorted(), "lines keep their order")
        XCTAssertGreaterThan(numbers.count, 600, "the pipe's 64 KB and the backlog's 16 KB were written")
        let notes = lines.filter { $0.hasPrefix("dropped ") }.compactMap { Int($0.dropFirst("dropped ".count)) }
        XCTAssertFalse(notes.isEmpty, "no line says lines were dropped")
        XCTAssertEqual(notes.reduce(0, +), 2_000 - numbers.count, "the notes count every line that is missing")
        XCTAssertGreaterThanOrEqual(LogBacklog.dropped, UInt64(2_000 - numbers.count))
    }
}

/// Lines standard error refused (a full disk) leave a gap that the first line it takes again names.
final class LogRefusalGapTests: XCTestCase {
    func testTheFirstLineAfterRefusedWritesSaysHowManyWereLost() throws {
        let path = NSTemporaryDirectory() + "layeron-log-gap-\(UUID().uuidString)"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let saved = dup(STDERR_FILENO)
        defer {
            dup2(saved, STDERR_FILENO)
            close(saved)
        }
        // Opened for reading only: every write to standard error is refused, as on a full disk.
        let refusing = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertEqual(dup2(refusing, STDERR_FILENO), STDERR_FILENO)
        close(refusing)
        let logger = LogWriter(format: .text).logger(minimum: .info)
        for i in 0..<3 { logger.info("lost \(i)") }
        let taking = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        XCTAssertEqual(dup2(taking, STDERR_FILENO), STDERR_FILENO)
        close(taking)
        logger.info("back")
        logger.info("after")
        dup2(saved, STDERR_FILENO)

        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines.first?.contains("WARN 3 log line(s) dropped: standard error refused them") == true, "\(lines)")
        XCTAssertTrue(lines.dropFirst().first?.hasSuffix("INFO back") == true, "\(lines)")
    }
}
