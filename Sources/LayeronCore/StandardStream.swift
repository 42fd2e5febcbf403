import Foundation
import Synchronization

/// Writes to standard output or error for a long-running process. `FileHandle.write(_:)` traps on any
/// error, so a server whose log reader went away (`serve 2>&1 | tee log` with `tee` stopped, a
/// collector restarted) died at its next line, SIGPIPE being discarded: here the line is dropped and
/// serving goes on. Writes all of `text`, across short writes and interrupted calls.
public enum StandardStream {
    case output, error

    private static let refusedOutput = Atomic<UInt64>(0)
    private static let refusedError = Atomic<UInt64>(0)

    /// The writes this stream refused since the process started: for the log, the lines lost.
    public var refusedWrites: UInt64 {
        self == .output ? Self.refusedOutput.load(ordering: .relaxed) : Self.refusedError.load(ordering: .relaxed)
    }

    /// False when the stream refused the bytes (a closed pipe, a full disk); what was written stays.
    @discardableResult
    public func write(_ text: String) -> Bool {
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        var text = text
        let written = text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return false
                }
            }
            return true
        }
        if !written {
            if self == .output { Self.refusedOutput.add(1, ordering: .relaxed) } else { Self.refusedError.add(1, ordering: .relaxed) }
        }
        return written
    }
}
