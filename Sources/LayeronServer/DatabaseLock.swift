import Foundation
import LayeronCore

/// One `serve` per database. Two servers on one store each answer dedupe misses from their own
/// memory and run the events they received at once, so a provider's retry that reaches the other
/// one is recorded as a second event and handled twice. SQLite would let both write; two locks
/// refuse the second at its start, both released with the process however it ends. The first is a
/// POSIX record lock (`lockf`) on a file beside the database: nothing else in the process opens that
/// file, so no other descriptor's close can drop it, and it stays and holds the last holder's pid,
/// for the message. The second is on the database file itself (`DatabaseFileLock`), which a second
/// name for the file (a hard link) meets too.
public final class DatabaseLock: Sendable {
    private let descriptor: Int32
    /// Nil for a path that is a folder, which the store refuses.
    private let file: DatabaseFileLock.File?

    /// Beside the file SQLite opens, whatever the path's spelling: the lock of a symbolic link's
    /// name let a second server onto the same database. A link whose target is not created yet is
    /// followed too (SQLite creates the target), and a database not created yet is placed by its
    /// folder's real path.
    static func lockFile(besideDatabase database: String) -> String {
        func real(_ path: String) -> String? {
            guard let resolved = realpath(path, nil) else { return nil }
            defer { free(resolved) }
            return String(cString: resolved)
        }
        var path = database
        for _ in 0..<40 {
            if let file = real(path) { return file + "-serve.lock" }
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(path, &target, target.count - 1)
            guard count > 0 else { break }
            let link = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            path = link.hasPrefix("/") ? link : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
        }
        let name = (path as NSString).lastPathComponent
        let folder = (path as NSString).deletingLastPathComponent
        if let resolved = real(folder.isEmpty ? "." : folder) { return (resolved as NSString).appendingPathComponent(name) + "-serve.lock" }
        return path + "-serve.lock"
    }

    init(database: String) throws(DatabaseLockError) {
        let path = Self.lockFile(besideDatabase: database)
        PrivateFolders.make(toFile: path)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .unusable(lockFile: path, reason: String(cString: strerror(errno))) }
        guard lockf(fd, F_TLOCK, 0) == 0 else {
            let code = errno
            var text = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &text, text.count)
            close(fd)
            guard code == EACCES || code == EAGAIN else { throw .unusable(lockFile: path, reason: String(cString: strerror(code))) }
            let holder = count > 0 ? String(decoding: text[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : ""
            throw .held(database: database, lockedFile: path, holder: holder.isEmpty ? nil : holder)
        }
        do { file = try DatabaseFileLock.lock(database) } catch {
            close(fd)
            throw error
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = fd
    }

    deinit {
        if let file { DatabaseFileLock.release(file) }
        close(descriptor)
    }
}

/// Why the lock was not taken.
public enum DatabaseLockError: Error, CustomStringConvertible {
    /// `lockedFile` is the lock file beside the path, or the database file itself (a second name for
    /// it, a hard link, has a lock file of its own).
    case held(database: String, lockedFile: String, holder: String?)
    case unusable(lockFile: String, reason: String)

    public var description: String {
        switch self {
        case let .held(database, lockedFile, holder):
            return "the database \(database) is in use by another layeron serve\(holder.map { " (pid \($0))" } ?? "") (\(lockedFile) is locked): "
                + "two servers on one database would record a provider's retry as a second event and run its handler twice; "
                + "stop that server, or give this one its own --database"
        case let .unusable(lockFile, reason):
            return "cannot lock \(lockFile), which keeps a second server off the database: \(reason)"
        }
    }
}
