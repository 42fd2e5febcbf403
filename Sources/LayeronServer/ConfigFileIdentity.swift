import Foundation
import Synchronization

/// Which file a config path leads to now, symbolic links followed, and as it was last written: the
/// config watcher compares it after every change in the folder. A Kubernetes ConfigMap (and any deploy
/// that re-points a link) changes the file behind the path by renaming a `..data` link beside it, an
/// event that never names the config file; the file the path leads to is then another one.
final class ConfigFileIdentity: Sendable {
    private struct Reading: Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

    private let path: String
    private let last: Mutex<Reading?>

    init(path: String) {
        self.path = path
        last = Mutex(Self.read(path))
    }

    /// True when the path leads to another file, or the file was written, since the last call (or
    /// since `init`). A path that leads nowhere for now (a link being replaced) is no change: the
    /// change that completes the swap is.
    func changed() -> Bool {
        guard let now = Self.read(path) else { return false }
        return last.withLock { last in
            defer { last = now }
            return last != now
        }
    }

    private static func read(_ path: String) -> Reading? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Reading(device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
                       modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }
}
