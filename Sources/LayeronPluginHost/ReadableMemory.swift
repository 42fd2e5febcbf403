import Glibc

/// Copies bytes from addresses a plugin handed over without ever dereferencing them: a wild pointer
/// in a descriptor (a `handler_count` past the end of its array, a garbage string pointer) would
/// otherwise fault inside the host and take the server down. The bytes go through a pipe: `write`
/// from an unmapped or unreadable address fails with EFAULT where a load would raise SIGSEGV.
/// Used at load time only; calls into a loaded plugin never come here.
final class ReadableMemory {
    private let readEnd: Int32
    private let writeEnd: Int32
    /// Each write stays inside one page, so it is copied whole or fails whole, and fits the pipe's
    /// buffer, so it never blocks.
    private let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Nil when no pipe can be opened (errno says why: usually too many open files).
    init?() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        readEnd = ends[0]
        writeEnd = ends[1]
        // A process the host starts meanwhile must not inherit the pipe.
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// The `count` bytes at `address`, or nil when any of them is not readable memory.
    func bytes(at address: UnsafeRawPointer, count: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var offset = 0
        while offset < count {
            guard let chunk = chunk(at: address + offset, limit: count - offset) else { return nil }
            out += chunk
            offset += chunk.count
        }
        return out
    }

    /// The NUL-terminated string at `address`, read up to `maxLength` bytes; nil when it is not
    /// readable memory or has no NUL within `maxLength` bytes.
    func cString(at address: UnsafeRawPointer, maxLength: Int) -> String? {
        var text: [UInt8] = []
        while text.count < maxLength {
            guard let chunk = chunk(at: address + text.count, limit: maxLength - text.count) else { return nil }
            if let end = chunk.firstIndex(of: 0) {
                return String(decoding: text + chunk[..<end], as: UTF8.self)
            }
            text += chunk
        }
        return nil
    }

    /// The bytes from `address` to the end of its page, at most `limit`; nil when unreadable.
    private func chunk(at address: UnsafeRawPointer, limit: Int) -> [UInt8]? {
        let toPageEnd = pageSize - Int(bitPattern: address) % pageSize
        let count = min(limit, toPageEnd)
        let written = write(writeEnd, address, count)
        var buffer = [UInt8](repeating: 0, count: max(written, 0))
        if written > 0 {
            let read = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, written) }
            guard read == written else { return nil }
        }
        return written == count ? buffer : nil
    }
}
