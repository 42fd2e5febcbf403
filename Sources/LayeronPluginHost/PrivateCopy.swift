import Foundation

/// Private copies give every load a fresh path and inode, so `dlopen` never hands back an image it
/// already mapped, and a user overwriting the dropped file in place never touches mapped code. A
/// symbolic link is copied as the file it points to (a copy of the link would have `dlopen` map the
/// target, which a rebuild may overwrite in place).
///
/// The folder the copies go to is the process's own: mode 0700 and owned by its user, or nothing is
/// loaded from it. In a shared temporary folder another local user could otherwise create it first
/// (its name was once `layeron-plugins-PID`) and swap a copy between its write and its `dlopen`,
/// running code in the server; `folder(prefix:)` also makes the name unguessable.
public enum PrivateCopy {
    private static let counter = Counter()

    /// A fresh path in the temporary folder for one process's copies; `make` creates it. The empty
    /// folders of earlier processes of this user that are gone (killed, crashed: only a clean stop
    /// removes its own) are removed first, or every crash would leave one behind for good.
    public static func folder(prefix: String) -> String {
        removeLeftovers(prefix: prefix)
        return NSTemporaryDirectory() + "\(prefix)-\(getpid())-\(String(UInt64.random(in: .min ... .max), radix: 16))"
    }

    /// `rmdir` removes only an empty folder, so one that still holds copies (a process still
    /// running under a reused pid, say) stays; links and other users' folders are never touched.
    private static func removeLeftovers(prefix: String) {
        let temporary = NSTemporaryDirectory()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix(prefix + "-") {
            guard let pid = Int32(name.dropFirst(prefix.count + 1).prefix { $0 != "-" }), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            var info = stat()
            let path = temporary + name
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == getuid() else { continue }
            _ = rmdir(path)
        }
    }

    static func make(of file: String, in directory: String) throws(PluginLoadError) -> String {
        let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
        let destination = "\(directory)/\(getpid())-\(counter.next())-\(base).so"
        if PluginFolderWatcher.isDanglingLink(file) {
            throw .danglingLink(file: file, target: (try? FileManager.default.destinationOfSymbolicLink(atPath: file)) ?? "?")
        }
        if let problem = ownFolderProblem(directory) { throw .copyFailed(file: file, reason: problem.reason, errorNumber: problem.errorNumber) }
        do {
            try copyContents(of: file, to: destination)
        } catch {
            throw .copyFailed(file: file, reason: error.description, errorNumber: error.errorNumber)
        }
        return destination
    }

    /// Why a copy failed: the call, the path it failed on and its `errno`.
    struct CopyError: Error, CustomStringConvertible {
        let failed: String
        let path: String
        let errorNumber: Int32
        var description: String { "cannot \(failed) \(path): \(String(cString: strerror(errorNumber)))" }
    }

    /// Copies the bytes of `source` (through a symbolic link) to a new file `destination` with plain
    /// `open`, `read` and `write`, so that a failure names its path and its `errno` (Foundation's
    /// `copyItem` said "NSCocoaErrorDomain error 512" of a process out of descriptors, and "There
    /// isn't enough space" without naming the folder). A partial copy is removed: the private folder
    /// keeps nothing of a failed load.
    static func copyContents(of source: String, to destination: String) throws(CopyError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw CopyError(failed: "open", path: source, errorNumber: errno) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o700)
        guard output >= 0 else { throw CopyError(failed: "create the copy", path: destination, errorNumber: errno) }
        var failure: CopyError?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                failure = CopyError(failed: "read", path: source, errorNumber: errno)
                break
            }
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(output, $0.baseAddress! + offset, count - offset) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else {
                    failure = CopyError(failed: "write the copy", path: destination, errorNumber: written < 0 ? errno : EIO)
                    break copying
                }
                offset += written
            }
        }
        // A full disk may refuse the last blocks only at close (NFS, some FUSE file systems).
        if close(output) != 0, failure == nil, errno != EINTR {
            failure = CopyError(failed: "write the copy", path: destination, errorNumber: errno)
        }
        if let failure {
            unlink(destination)
            throw failure
        }
    }

    /// Creates `directory` with mode 0700 unless it exists; nil when it is then a folder of this
    /// process's user that no one else may enter, else why not (a link, another owner, wider modes),
    /// with the `errno` of the call that failed when one did: a full disk (`ENOSPC` from `mkdir`) is
    /// a temporary refusal (`PluginLoadError.isTemporary`), a folder that is not ours is not.
    static func ownFolderProblem(_ directory: String) -> (reason: String, errorNumber: Int32?)? {
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            let code = errno
            return ("cannot create the private folder \(directory) (mkdir): \(String(cString: strerror(code)))", code)
        }
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            let code = errno
            return ("cannot read the private folder \(directory) (lstat): \(String(cString: strerror(code)))", code)
        }
        guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid(), info.st_mode & 0o077 == 0 else {
            return ("the private folder \(directory) is not this process's own (a folder of mode 0700 owned by uid \(geteuid())); nothing is loaded from it", nil)
        }
        return nil
    }

    final class Counter: @unchecked Sendable {
        /// Guards `value`.
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}
