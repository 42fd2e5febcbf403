import Foundation
import LayeronCore
import Synchronization

/// Log lines on their way to a descriptor (standard error), in order, without ever blocking the
/// thread that logs.
///
/// A line is written at once, under the lock that keeps lines whole, when nothing waits before it
/// and the descriptor takes it without blocking: always for a regular file (a write to one does not
/// wait for a reader), else when the line is at most `PIPE_BUF` bytes and `poll` says the
/// descriptor is writable (a pipe then has a free page, which such a write needs at most). Any other
/// line waits here for the thread `log-writer`, which may block on a stalled reader for as long as it takes.
/// Past `limitBytes` of waiting lines, a line is dropped and counted; the writer then writes
/// `note(.readerStalled(count))` after what was waiting. A line the descriptor refuses (a full disk,
/// a closed pipe) is lost; the first line it takes again comes after `note(.writesRefused(count))`.
final class LogBacklog: @unchecked Sendable {
    /// A gap in the log, and how many lines it lost.
    enum Gap: Equatable {
        /// Dropped past the bound while the reader stalled.
        case readerStalled(UInt64)
        /// Refused by the descriptor.
        case writesRefused(UInt64)
    }

    private static let droppedTotal = Atomic<UInt64>(0)
    /// Lines dropped past the bound since the process started.
    static var dropped: UInt64 { droppedTotal.load(ordering: .relaxed) }

    /// The most bytes of lines that wait for a stalled reader.
    private let limitBytes: Int
    private let descriptor: Int32
    /// The descriptor is a regular file: every line is written at once, with no `poll`.
    private let isRegularFile: Bool
    /// Writes one line to `descriptor`, whole, however long that takes; false when it refused it.
    private let send: @Sendable (String) -> Bool
    private let note: @Sendable (Gap) -> String
    /// Guards everything below; the writer waits on it for lines, `flush` for an empty backlog.
    private let condition = NSCondition()
    private var waiting: [String] = []
    private var waitingBytes = 0
    /// Lines dropped since the writer last took the backlog.
    private var droppedSinceTaken: UInt64 = 0
    /// True while the writer writes lines it took: later lines must wait behind them.
    private var writing = false
    /// Lines refused since the descriptor last took one. Touched by whoever sends, and sends never
    /// overlap: a line is sent at once only under the lock while the writer is not `writing`.
    private var refusedSinceWritten: UInt64 = 0
    private var writerStarted = false

    /// A backlog of 1 MiB (a few thousand lines) for standard error.
    convenience init(note: @escaping @Sendable (Gap) -> String) {
        self.init(limitBytes: 1 << 20, descriptor: STDERR_FILENO, send: { StandardStream.error.write($0) }, note: note)
    }

    init(limitBytes: Int, descriptor: Int32, send: @escaping @Sendable (String) -> Bool, note: @escaping @Sendable (Gap) -> String) {
        self.limitBytes = limitBytes
        self.descriptor = descriptor
        var status = stat()
        isRegularFile = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        self.send = send
        self.note = note
    }

    func write(_ line: String) {
        condition.lock()
        defer { condition.unlock() }
        if waiting.isEmpty, !writing, droppedSinceTaken == 0,
           isRegularFile || (line.utf8.count <= Int(PIPE_BUF) && takesALine()) {
            deliver(line)
            return
        }
        guard waitingBytes + line.utf8.count <= limitBytes else {
            droppedSinceTaken += 1
            Self.droppedTotal.add(1, ordering: .relaxed)
            // The writer says so at once if it is idle, not only after the next line.
            startWriterIfNeeded()
            condition.signal()
            return
        }
        waiting.append(line)
        waitingBytes += line.utf8.count
        startWriterIfNeeded()
        condition.signal()
    }

    /// Called with the lock held.
    private func startWriterIfNeeded() {
        guard !writerStarted else { return }
        writerStarted = true
        Thread.startNamed("log-writer") { [self] in writeOut() }
    }

    /// Waits until every waiting line is written, or `seconds` pass (a reader that never comes
    /// back); true when nothing is left to write.
    @discardableResult
    func flush(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !waiting.isEmpty || writing || droppedSinceTaken > 0 {
            guard condition.wait(until: deadline) else { return false }
        }
        return true
    }

    private func writeOut() {
        while true {
            condition.lock()
            while waiting.isEmpty && droppedSinceTaken == 0 { condition.wait() }
            let lines = waiting
            let dropped = droppedSinceTaken
            waiting = []
            waitingBytes = 0
            droppedSinceTaken = 0
            writing = true
            condition.unlock()
            for line in lines { deliver(line) }
            if dropped > 0 { deliver(note(.readerStalled(dropped))) }
            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Sends `line`, after a note of the lines refused before it if there were any. The two go in
    /// one write, so a refused pair counts as the one line it lost.
    private func deliver(_ line: String) {
        let gap = refusedSinceWritten
        if send(gap > 0 ? note(.writesRefused(gap)) + line : line) {
            refusedSinceWritten = 0
        } else {
            refusedSinceWritten += 1
        }
    }

    private func takesALine() -> Bool {
        var ready = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        return poll(&ready, 1, 0) == 1 && ready.revents & Int16(POLLOUT) != 0
    }

    private static let atExit = Mutex<(backlog: LogBacklog, pid: pid_t)?>(nil)

    /// Lines still waiting when the process exits (`exit`, the end of `main`) are written first, for
    /// up to two seconds: the last lines of a stop are the ones an operator reads. Not in a child a
    /// plugin forked that calls `exit`: the fork may have copied the lock held, and it has no writer.
    static func flushAtExit(_ backlog: LogBacklog) {
        let first = atExit.withLock { registered in
            defer { registered = (backlog, getpid()) }
            return registered == nil
        }
        if first {
            atexit {
                guard let registered = LogBacklog.atExit.withLock({ $0 }), registered.pid == getpid() else { return }
                registered.backlog.flush(seconds: 2)
            }
        }
    }
}
