import Foundation
import LayeronCore

/// One `serve` per database. Two servers on one store each answer dedupe misses from their own
/// memory and run the events they received at once, so a provider's retry that reaches the other
/// one is recorded as a second event and handled twice. SQLite would let both write; this lock on a
/// file beside the database refuses the second at its start. It is a POSIX record lock (`lockf`): it
/// goes with the process (a crash or SIGKILL releases it) and, unlike `flock`, is not inherited by a
/// child a plugin forks, which would otherwise keep a dead server's database locked. Nothing else in
/// the process opens the file, so no other descriptor's close can drop it. The file stays and holds
/// the last holder's pid, for the message.
public final class DatabaseLock: Sendable {
    private let descriptor: Int32

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
            throw .held(database: database, lockFile: path, holder: holder.isEmpty ? nil : holder)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = fd
    }

    deinit { close(descriptor) }
}

/// Why the lock was not taken.
public enum DatabaseLockError: Error, CustomStringConvertible {
    case held(database: String, lockFile: String, holder: String?)
    case unusable(lockFile: String, reason: String)

    public var description: String {
        switch self {
        case let .held(database, lockFile, holder):
            return "the database \(database) is in use by another layeron serve\(holder.map { " (pid \($0))" } ?? "") (\(lockFile) is locked): "
                + "two servers on one database would record a provider's retry as a second event and run its handler twice; "
                + "stop that server, or give this one its own --database"
        case let .unusable(lockFile, reason):
            return "cannot lock \(lockFile), which keeps a second server off the database: \(reason)"
        }
    }
}
