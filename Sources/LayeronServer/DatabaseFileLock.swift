import CShims
import Foundation
import Synchronization

/// The lock on the database file itself, which `DatabaseLock` takes after the one beside the path:
/// a hard link is the same file under a name no resolution of the path leads back to, so the lock
/// file beside each name let a second server onto one store (and SQLite journals each name in a
/// `-wal` of its own). An exclusive `flock` on a descriptor of the file is met through every name.
///
/// On Linux `flock` and SQLite's POSIX record locks are independent, so the CLI and `sqlite3` open
/// the database beside a running server as before. But closing any descriptor of a file drops every
/// POSIX lock the process holds on it, SQLite's included, so a descriptor opened here is never
/// closed: one per file, kept for the process's life and reused, and a release only unlocks it. A
/// child the process forks closes it at once (`layeron_close_in_forked_children`): sharing the
/// lock's open file description, a plugin's child forked without exec would keep the database
/// locked after the server is gone.
enum DatabaseFileLock {
    /// A file, whatever its name.
    struct File: Hashable, Sendable {
        let device: UInt64
        let inode: UInt64

        init(_ status: stat) {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
        }
    }

    private struct Descriptor {
        let fd: Int32
        /// Locks of this process on the file: a second in one process is let through, as the POSIX
        /// lock beside the path lets it through.
        var holders: Int
    }

    private static let descriptors = Mutex<[File: Descriptor]>([:])

    /// Locks the file at `database`, which is created (mode 0600, as the store creates it) when
    /// missing: two servers starting at once on a new database must meet on one file. Nil for a
    /// folder, which the store refuses with its own message.
    static func lock(_ database: String) throws(DatabaseLockError) -> File? {
        try descriptors.withLock { descriptors throws(DatabaseLockError) -> File? in
            var status = stat()
            if stat(database, &status) == 0 {
                if status.st_mode & S_IFMT == S_IFDIR { return nil }
                if let known = descriptors[File(status)] { return try take(File(status), known, &descriptors, database) }
            }
            let fd = open(database, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw .unusable(lockFile: database, reason: String(cString: strerror(errno))) }
            guard fstat(fd, &status) == 0 else { throw .unusable(lockFile: database, reason: String(cString: strerror(errno))) }
            guard layeron_close_in_forked_children(fd) == 0 else {
                throw .unusable(lockFile: database, reason: "out of memory for the fork handler that keeps a forked child from holding it")
            }
            let file = File(status)
            // Renamed over between the stat and the open onto a file already held: this descriptor
            // stays open as well, unused, as closing it would drop SQLite's locks on the file.
            return try take(file, descriptors[file] ?? Descriptor(fd: fd, holders: 0), &descriptors, database)
        }
    }

    private static func take(_ file: File, _ descriptor: Descriptor, _ descriptors: inout [File: Descriptor],
                             _ database: String) throws(DatabaseLockError) -> File {
        var descriptor = descriptor
        if descriptor.holders == 0 {
            descriptors[file] = descriptor
            guard layeron_flock(descriptor.fd, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                guard code == EWOULDBLOCK else { throw .unusable(lockFile: database, reason: String(cString: strerror(code))) }
                throw .held(database: database, lockedFile: database, holder: holder(of: file))
            }
        }
        descriptor.holders += 1
        descriptors[file] = descriptor
        return file
    }

    /// Unlocks the file once its last holder in this process lets go; its descriptor stays open.
    static func release(_ file: File) {
        descriptors.withLock { descriptors in
            guard var descriptor = descriptors[file] else { return }
            descriptor.holders -= 1
            if descriptor.holders == 0 { _ = layeron_flock(descriptor.fd, LOCK_UN) }
            descriptors[file] = descriptor
        }
    }

    /// The process holding the file's `flock`, for the message, from `/proc/locks`
    /// (`1: FLOCK  ADVISORY  WRITE 4242 08:01:5678 0 EOF`; device numbers in hex).
    private static func holder(of file: File) -> String? {
        guard let table = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
        let major = ((file.device >> 8) & 0xfff) | ((file.device >> 32) & ~0xfff)
        let minor = (file.device & 0xff) | ((file.device >> 12) & ~0xff)
        func hex(_ number: UInt64) -> String {
            let digits = String(number, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        let identity = "\(hex(major)):\(hex(minor)):\(file.inode)"
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count > 5, fields[1] == "FLOCK", fields[5] == identity { return String(fields[4]) }
        }
        return nil
    }
}
