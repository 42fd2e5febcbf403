import Foundation
import LayeronCore

/// Why a folder cannot be watched: the call that failed and its errno, worded by cause, since the
/// fix differs (a descriptor limit, an inotify sysctl, a missing folder). The watch is not tried
/// again, so each says what to change before the next start.
public enum FolderWatchError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `inotify_init1` (an inotify instance), `inotify_add_watch` or `pipe` failed with `errno`.
    case cannotWatch(directory: String, call: String, errno: Int32)

    public var description: String {
        switch self {
        case let .cannotWatch(directory, call, code):
            let reason = "\(call): \(String(cString: strerror(code)))"
            let cause: String
            switch code {
            case EMFILE where call == "inotify_init1":
                // The same errno means either limit here.
                cause = "the server is out of file descriptors (raise LimitNOFILE= in its systemd unit or `ulimit -n`), or this user "
                    + "holds fs.inotify.max_user_instances inotify instances (raise that sysctl); hot reload returns with the next start"
            case EMFILE, ENFILE:
                cause = "the server is out of file descriptors (raise LimitNOFILE= in its systemd unit or `ulimit -n`, "
                    + "or lower limits.maxConnections); hot reload returns with the next start"
            case ENOSPC:
                cause = "this user's inotify watches are used up (raise the sysctl fs.inotify.max_user_watches); hot reload returns with the next start"
            case ENOENT, ENOTDIR:
                cause = "the folder is missing; hot reload returns when the server restarts with the folder in place"
            default:
                cause = "hot reload returns with the next start that can watch it"
            }
            return "cannot watch \(directory) for changes (\(reason)): \(cause)"
        }
    }
}

/// What changed in a watched folder during one debounce window.
public struct FolderChanges: Sendable, Equatable {
    /// Names (not paths) of entries that were written, moved in, moved out or removed.
    public var names: Set<String>
    /// Changes were lost, so the listener should rescan the folder: the kernel queue overflowed, or
    /// the folder itself was replaced (`rm -rf plugins && mv plugins.new plugins`) and is watched again.
    public var overflowed: Bool
}

/// Watches one folder, not its files, with inotify: a file that is replaced by a rename or removed and
/// created again is still seen, which a watch on the file itself would lose. Reacts to finished
/// writes (`IN_CLOSE_WRITE`, never to the half-written states before it), renames into and out of the
/// folder, symbolic links created in it (whole the moment they exist), and removals. Events are
/// debounced: `onChange` runs on the watcher's own thread once the folder has been quiet for
/// `debounce`, or at the latest after five debounce periods of steady change.
/// A watch follows an inode, not a path: about once a second the watcher checks which folder the path
/// leads to, so re-pointing a symbolic link (`ln -sfn rel/v4 plugins.tmp && mv -T plugins.tmp
/// plugins`), which leaves the old folder in place and sends it no event, moves the watch over too.
/// This is the only type that touches inotify.
public final class FolderWatcher: @unchecked Sendable {
    public let directory: String
    private let inotify: Int32
    /// The watch on the folder as it is now; replaced when the folder is (only `run` uses it).
    private var watch: Int32
    /// The folder `watch` is on, as `directory` led to just before it was added (only `run` uses it).
    private var watched: FolderIdentity?
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let debounceNanoseconds: UInt64
    private let onChange: @Sendable (FolderChanges) -> Void
    private let logger: Logger
    private let finished = DispatchSemaphore(value: 0)
    /// Guards `stopped`.
    private let stopLock = NSLock()
    private var stopped = false

    private static let mask = UInt32(IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF
                                     | IN_MOVE_SELF | IN_ONLYDIR)

    public init(directory: String, debounceMilliseconds: UInt64 = 100, logger: Logger,
                onChange: @escaping @Sendable (FolderChanges) -> Void) throws(FolderWatchError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else { throw .cannotWatch(directory: directory, call: "inotify_init1", errno: errno) }
        let watched = FolderIdentity(of: directory)
        let watch = inotify_add_watch(fd, directory, Self.mask)
        guard watch >= 0 else {
            let code = errno
            close(fd)
            throw .cannotWatch(directory: directory, call: "inotify_add_watch", errno: code)
        }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else {
            let code = errno
            close(fd)
            throw .cannotWatch(directory: directory, call: "pipe", errno: code)
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        self.directory = directory
        self.inotify = fd
        self.watch = watch
        self.watched = watched
        self.wakeRead = ends[0]
        self.wakeWrite = ends[1]
        self.debounceNanoseconds = debounceMilliseconds * 1_000_000
        self.onChange = onChange
        self.logger = logger
        Thread.startNamed("folder-watch") { [self] in
            run()
            finished.signal()
        }
    }

    /// Stops the thread (a change being delivered finishes first) and closes the descriptors.
    /// With `waitingUntil`, a change still being delivered then (a reload held up by a plugin's
    /// `init` that does not return) is left to finish on its thread, which still owns the
    /// descriptors, so they stay open; the log says so. False then. A deadline already past (a stop
    /// whose wait a hung `init` used up) still gives the thread `WaitBudget.leastWait` to end.
    @discardableResult
    public func stop(waitingUntil deadline: DispatchTime? = nil) -> Bool {
        stopLock.lock()
        let already = stopped
        stopped = true
        stopLock.unlock()
        guard !already else { return true }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        if let deadline {
            guard finished.wait(timeout: WaitBudget.givingLeastWait(deadline)) == .success else {
                logger.warn("stopped waiting for the watch of \(directory): the change it is applying has not finished "
                            + "(a reload waiting for a plugin's init that does not return?)")
                return false
            }
        } else {
            finished.wait()
        }
        close(inotify)
        close(wakeRead)
        close(wakeWrite)
        return true
    }

    private func run() {
        var pending = FolderChanges(names: [], overflowed: false)
        var firstAt: UInt64 = 0
        var lastAt: UInt64 = 0
        var checkAt = DispatchTime.now().uptimeNanoseconds + Self.checkNanoseconds
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var timeout = Int32(Self.checkNanoseconds / 1_000_000)
            if !pending.names.isEmpty || pending.overflowed {
                let now = DispatchTime.now().uptimeNanoseconds
                let due = min(lastAt + debounceNanoseconds, firstAt + 5 * debounceNanoseconds)
                if now >= due {
                    onChange(pending)
                    pending = FolderChanges(names: [], overflowed: false)
                    continue
                }
                timeout = Int32((due - now) / 1_000_000) + 1
            }
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, timeout)
            if ready < 0 && errno != EINTR { logger.error("watching \(directory) failed: \(String(cString: strerror(errno)))"); return }
            if fds[1].revents != 0 { return }
            if DispatchTime.now().uptimeNanoseconds >= checkAt {
                checkAt = DispatchTime.now().uptimeNanoseconds + Self.checkNanoseconds
                if followRepointedPath() {
                    logger.info("the watched folder \(directory) now leads to another folder; rescanning it")
                    firstAt = DispatchTime.now().uptimeNanoseconds
                    lastAt = firstAt
                    pending = FolderChanges(names: [], overflowed: true)
                }
            }
            guard fds[0].revents != 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            guard count > 0 else { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if pending.names.isEmpty && !pending.overflowed { firstAt = now }
            lastAt = now
            if !parse(buffer[0..<count], into: &pending) {
                logger.warn("the watched folder \(directory) was removed or moved; watching for it to come back")
                if !pending.names.isEmpty { onChange(pending) }
                pending = FolderChanges(names: [], overflowed: false)
                guard waitForFolder() else { return }
                logger.info("the watched folder \(directory) is back; rescanning it")
                onChange(FolderChanges(names: [], overflowed: true))
            }
        }
    }

    /// Checks every 500 ms for a folder at `directory` again and watches it; false when stopped first.
    /// A folder deployed by `mv plugins.new plugins` is a new inode, which the old watch never sees.
    private func waitForFolder() -> Bool {
        _ = inotify_rm_watch(inotify, watch)
        while true {
            var wake = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
            if poll(&wake, 1, 500) > 0 { return false }
            if watchDirectory() { return true }
        }
    }

    /// How often `run` checks which folder `directory` leads to: one `stat` each time.
    private static let checkNanoseconds: UInt64 = 1_000_000_000

    /// Moves the watch to the folder `directory` now leads to when that is another one than the
    /// watched (a symbolic link re-pointed); true when it did. A path that leads nowhere for now (a
    /// link being replaced by hand) keeps the old watch: the next check looks again.
    private func followRepointedPath() -> Bool {
        guard let now = FolderIdentity(of: directory), now != watched else { return false }
        let old = watch
        guard watchDirectory() else { return false }
        // The path may have led back to the old folder in between: inotify then hands out the same watch.
        if watch != old { _ = inotify_rm_watch(inotify, old) }
        return true
    }

    /// Watches the folder at `directory`, recording which one it is first: should the path change
    /// in between, the next check sees the difference and watches again. False when it cannot.
    private func watchDirectory() -> Bool {
        let identity = FolderIdentity(of: directory)
        let added = inotify_add_watch(inotify, directory, Self.mask)
        guard added >= 0 else { return false }
        watch = added
        watched = identity
        return true
    }

    private func isSymbolicLink(_ name: String) -> Bool {
        var info = stat()
        return lstat("\(directory)/\(name)", &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK
    }

    /// Adds the names in a buffer of `inotify_event` records; false once the folder itself is gone.
    private func parse(_ bytes: ArraySlice<UInt8>, into changes: inout FolderChanges) -> Bool {
        let headerSize = MemoryLayout<inotify_event>.size
        var folderGone = false
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset + headerSize <= raw.count {
                let watchOfEvent = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameBytes = raw[(offset + headerSize)..<min(raw.count, offset + headerSize + length)]
                let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { changes.overflowed = true }
                // Events of a watch already replaced (its last IN_IGNORED) say nothing of this folder.
                if watchOfEvent != watch && mask & UInt32(IN_Q_OVERFLOW) == 0 {
                    offset += headerSize + length
                    continue
                }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 { folderGone = true }
                // A created file is reported when its writer closes it; only a created link now.
                let halfWritten = mask & UInt32(IN_CREATE) != 0 && !isSymbolicLink(name)
                if !name.isEmpty && !halfWritten { changes.names.insert(name) }
                offset += headerSize + length
            }
        }
        return !folderGone
    }
}

/// Which folder a path leads to (symbolic links followed): the device and inode a watch is on.
private struct FolderIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(of path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}
