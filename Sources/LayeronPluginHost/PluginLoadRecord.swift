import Foundation
import Glibc
import LayeronCore
import Synchronization

/// Which plugin files a process was loading when it stopped. A plugin runs in the host's process,
/// so one whose constructors, entry function or `init` crashes takes the process down; without a
/// record, every restart loads it again and crashes again. Before a load runs any of the plugin's
/// code, a small marker file naming the plugin file is written into `directory` and locked; it is
/// removed when the load returns, whatever the outcome. A marker that is still there and no longer
/// locked belongs to a process that stopped mid-load: while the file is unchanged, a later load
/// (the next start, a hot-reload scan, `layeron check`) refuses it instead of running it again.
/// A new build, or `touch`, gives the file a new identity, and the marker is dropped.
///
/// A graceful stop that gives up waiting for a load (an `init` that does not return) leaves its
/// marker too, marked as such (`abandon`): the next start refuses the file as well, since its `init`
/// may hang again, but does not blame a crash.
///
/// The marker lives in the page cache once written, so it survives the process; only a machine
/// crash can lose it, and then the file is simply tried again. The lock (`flock`, released by the
/// kernel when its holder dies) tells a stopped load from one still running in another process,
/// even when the new process has the old one's pid, as in a container.
public final class PluginLoadRecord: Sendable {
    /// The folder the markers live in. It is created on first use, with the folders on the way to it
    /// (mode 0700, as `serve` makes its data folder): `layeron check` often runs before the first
    /// `serve` (a fresh checkout, CI), and a crash it could not record would be run again by every
    /// later check.
    public let directory: String
    /// Who loads, as a refusal names it: "the server", "layeron check".
    let loader: String
    /// The markers of this record's loads still running, by identity, for `abandon`.
    private let live = Mutex<[ObjectIdentifier: LoadMarker]>([:])

    public init(directory: String, loader: String) {
        self.directory = directory
        self.loader = loader
    }

    /// The load of `file` that a stopped process never finished, when the file is unchanged since.
    /// Markers of `file` whose identity no longer matches are removed: the file was replaced.
    func unfinishedLoad(of file: String, identity: FileIdentity) -> UnfinishedLoad? {
        var found: UnfinishedLoad?
        for marker in markers() {
            guard let load = marker.abandoned, load.file == file else { continue }
            if load.identity == identity {
                found = found ?? load
            } else {
                unlink(marker.path)
            }
        }
        return found
    }

    /// Writes and locks the marker for a load of `file` that is about to run the plugin's code; nil
    /// when it cannot be written (the load goes ahead unrecorded).
    func begin(file: String, identity: FileIdentity) -> LoadMarker? {
        let name = UUID().uuidString
        let pending = "\(directory)/.\(name).new"
        PrivateFolders.make(toFile: pending)
        let fd = open(pending, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        // Locked before it is visible under its final name, so no reader takes it for a stopped load.
        guard flock(fd, LOCK_EX) == 0 else {
            close(fd)
            unlink(pending)
            return nil
        }
        let marker = LoadMarker(fd: fd, path: "\(directory)/\(name)\(Self.suffix)", record: self,
                                load: UnfinishedLoad(file: file, identity: identity, loader: loader, pid: getpid(),
                                                     startedAt: Date(), stage: .constructors, plugin: nil, abandonedAt: nil))
        guard rename(pending, marker.path) == 0 else {
            unlink(pending)
            marker.finish()
            return nil
        }
        live.withLock { $0[ObjectIdentifier(marker)] = marker }
        return marker
    }

    /// Marks the loads of `files` still running as given up by a stop: the process leaves while
    /// their plugin's code runs (`PluginRegistry.shutdownAll`), and the next start's refusal says
    /// that a stop gave up waiting, not that the load crashed the process.
    func abandon(files: Set<String>) {
        let now = Date()
        for marker in live.withLock({ Array($0.values) }) { marker.abandon(ifLoadOf: files, at: now) }
    }

    fileprivate func forget(_ marker: LoadMarker) {
        _ = live.withLock { $0.removeValue(forKey: ObjectIdentifier(marker)) }
    }

    private static let suffix = ".loading"

    private func markers() -> [(path: String, abandoned: UnfinishedLoad?)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(Self.suffix) && !$0.hasPrefix(".") }.map { name in
            let path = "\(directory)/\(name)"
            return (path, Self.abandonedLoad(at: path))
        }
    }

    /// The load a marker describes, when no live process holds its lock.
    private static func abandonedLoad(at path: String) -> UnfinishedLoad? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) == 0 else { return nil }
        guard let data = try? FileHandle(fileDescriptor: fd, closeOnDealloc: false).readToEnd() else { return nil }
        return UnfinishedLoad(text: String(decoding: data, as: UTF8.self))
    }
}

/// A load in progress, recorded by a locked marker file until `finish`. Its load's thread moves it
/// on; a stop that gives up waiting for that load marks it from another (`abandon`).
final class LoadMarker: @unchecked Sendable {
    private let fd: Int32
    let path: String
    private let record: PluginLoadRecord
    /// Guards `load` and `finished`, and the writes of the file, which each rewrite it whole.
    private let lock = NSLock()
    private var load: UnfinishedLoad
    private var finished = false

    fileprivate init(fd: Int32, path: String, record: PluginLoadRecord, load: UnfinishedLoad) {
        self.fd = fd
        self.path = path
        self.record = record
        self.load = load
        write()
    }

    /// Records that the load moved on to `stage`, of the plugin named `plugin` once it is known.
    func enter(_ stage: UnfinishedLoad.Stage, plugin: String? = nil) {
        lock.withLock {
            load.stage = stage
            load.plugin = plugin ?? load.plugin
            write()
        }
    }

    /// Records that a stop gave up waiting for this load at `time`, when it loads one of `files`.
    fileprivate func abandon(ifLoadOf files: Set<String>, at time: Date) {
        lock.withLock {
            guard !finished, files.contains(load.file) else { return }
            load.abandonedAt = time
            write()
        }
    }

    /// Removes the marker: the load returned.
    func finish() {
        lock.withLock {
            finished = true
            unlink(path)
            close(fd)
        }
        record.forget(self)
    }

    /// Called with `lock` held, or before the marker is shared.
    private func write() {
        let bytes = Array(load.text.utf8)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        _ = ftruncate(fd, off_t(bytes.count))
    }
}

/// What identifies one build of a plugin file: its inode, size and modification time (of the file
/// a symbolic link points to, which is what gets loaded). A rebuild or `touch` changes it.
/// A file as `stat` sees it (device, inode, size, modification time): a new build, a rename over it
/// or `touch` gives it another identity.
public struct FileIdentity: Equatable, Sendable {
    let text: String

    public init?(of file: String) {
        var status = stat()
        guard stat(file, &status) == 0 else { return nil }
        text = "\(status.st_dev):\(status.st_ino):\(status.st_size):\(status.st_mtim.tv_sec).\(status.st_mtim.tv_nsec)"
    }

    fileprivate init(text: String) { self.text = text }
}

/// A load that was running when its process stopped, as its marker recorded it.
public struct UnfinishedLoad: Sendable {
    /// What was running: the stage a crash happened in tells the author where to look.
    enum Stage: String {
        case constructors, entry, `init`

        var phrase: String {
            switch self {
            case .constructors: return "the dynamic loader ran its constructors"
            case .entry: return "its entry function (layeron_plugin_entry) ran"
            case .`init`: return "its init ran"
            }
        }

        /// The code that was running, for a refusal that says a stop gave up waiting for it.
        func code(ofPlugin plugin: String?) -> String {
            switch self {
            case .constructors: return "its library's constructors"
            case .entry: return "its entry function (layeron_plugin_entry)"
            case .`init`: return plugin.map { "plugin \($0)'s init" } ?? "its init"
            }
        }
    }

    let file: String
    let identity: FileIdentity
    let loader: String
    let pid: Int32
    let startedAt: Date
    var stage: Stage
    var plugin: String?
    /// When a graceful stop gave up waiting for the load and the process left under it; nil when
    /// the process stopped some other way (a crash in the plugin's code, a SIGKILL).
    var abandonedAt: Date?

    /// One `key=value` a line; values never hold a newline but a file name might, so it goes last
    /// and takes the rest of the text.
    var text: String {
        "identity=\(identity.text)\nloader=\(loader)\npid=\(pid)\nstarted=\(startedAt.timeIntervalSince1970)\n"
            + "stage=\(stage.rawValue)\nplugin=\(plugin ?? "")\nabandoned=\(abandonedAt.map { "\($0.timeIntervalSince1970)" } ?? "")\n"
            + "file=\(file)"
    }
}

extension UnfinishedLoad {
    /// Parses `text`; nil for a marker that is not one (never expected: it is written before it is named).
    init?(text: String) {
        var fields: [Substring: Substring] = [:]
        var rest = Substring(text)
        while let newline = rest.firstIndex(of: "\n"), !rest.hasPrefix("file=") {
            let line = rest[..<newline]
            if let equals = line.firstIndex(of: "=") { fields[line[..<equals]] = line[line.index(after: equals)...] }
            rest = rest[rest.index(after: newline)...]
        }
        guard rest.hasPrefix("file="), let identity = fields["identity"], let loader = fields["loader"],
              let pid = fields["pid"].flatMap({ Int32($0) }), let started = fields["started"].flatMap({ Double($0) }),
              let stage = fields["stage"].flatMap({ Stage(rawValue: String($0)) }) else { return nil }
        self.init(file: String(rest.dropFirst("file=".count)), identity: FileIdentity(text: String(identity)), loader: String(loader),
                  pid: pid, startedAt: Date(timeIntervalSince1970: started), stage: stage,
                  plugin: fields["plugin"].flatMap { $0.isEmpty ? nil : String($0) },
                  abandonedAt: fields["abandoned"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0) })
    }
}
