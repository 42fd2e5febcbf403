import Foundation
import LayeronCore
import LayeronPluginHost
import XCTest

/// The plugins folder as an operator changes it with `mv`, `rm`, `cp` and `ln`, seen through the
/// watcher and the registry together.
final class PluginFolderTests: XCTestCase {
    private var directory: String!
    private var plugins: String { "\(directory!)/plugins" }
    private var registry: PluginRegistry!
    private var watcher: PluginFolderWatcher!
    private let vendor = HandlerReference(plugin: "vendor", handler: "ok")

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "layeron-folder-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try CPluginSource.build(CPluginSource.named("vendor"), to: "\(directory!)/vendor-build.so")
        try place("vendor.so")
        registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: .discard, config: { _ in nil })
        registry.loadDirectory(plugins)
        watcher = try PluginFolderWatcher(directory: plugins, registry: registry, logger: .discard, debounceMilliseconds: 50)
    }

    override func tearDown() {
        watcher?.stop()
        registry?.shutdownAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Copies the vendor build into the plugins folder as `name`, through a dot-file and a rename.
    private func place(_ name: String) throws {
        let temporary = "\(plugins)/.\(name).tmp"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: "\(directory!)/vendor-build.so", toPath: temporary)
        XCTAssertEqual(rename(temporary, "\(plugins)/\(name)"), 0)
    }

    private func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while !condition() {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    private var activeFiles: [String] { registry.statuses().filter { $0.state == .active }.map(\.file) }
    private var failures: [String] { registry.statuses().compactMap(\.error) }

    /// Copies are loaded only from a folder of this process's own, mode 0700: one another local user
    /// created first (its mode open to others, or a link to a folder of theirs) could have its copy
    /// swapped before `dlopen`. A fresh folder is made with mode 0700, and its name is not guessable.
    /// The private folder of a process that was killed stayed in the temporary folder for good, one
    /// more with every crash; a new one removes them (empty ones of gone processes only).
    func testFoldersOfProcessesThatAreGoneAreRemoved() throws {
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let prefix = "layeron-test-\(UUID().uuidString.prefix(8))"
        let leftover = NSTemporaryDirectory() + "\(prefix)-\(gone.processIdentifier)-abc"
        let holding = NSTemporaryDirectory() + "\(prefix)-\(gone.processIdentifier)-def"
        let alive = NSTemporaryDirectory() + "\(prefix)-\(getppid())-abc"
        for folder in [leftover, holding, alive] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false) }
        try "copy".write(toFile: holding + "/x.so", atomically: false, encoding: .utf8)
        defer { for folder in [leftover, holding, alive] { try? FileManager.default.removeItem(atPath: folder) } }
        _ = PrivateCopy.folder(prefix: prefix)
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover), "an empty folder of a process that is gone")
        XCTAssertTrue(FileManager.default.fileExists(atPath: holding), "a folder that still holds a copy stays")
        XCTAssertTrue(FileManager.default.fileExists(atPath: alive), "a running process's folder stays")
    }

    func testCopiesAreLoadedOnlyFromAFolderOfTheProcesssOwn() throws {
        var info = stat()
        XCTAssertEqual(lstat("\(directory!)/private", &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o700)
        XCTAssertNotEqual(PrivateCopy.folder(prefix: "layeron-plugins"), PrivateCopy.folder(prefix: "layeron-plugins"))

        let open = "\(directory!)/open"
        XCTAssertEqual(mkdir(open, 0o700), 0)
        XCTAssertEqual(chmod(open, 0o777), 0)
        let linked = "\(directory!)/linked"
        XCTAssertEqual(symlink("\(directory!)/private", linked), 0)
        for folder in [open, linked] {
            let other = PluginRegistry(privateDirectory: folder, logger: .discard, config: { _ in nil })
            other.load(file: "\(plugins)/vendor.so")
            let refusal = other.statuses().compactMap(\.error).joined()
            XCTAssertTrue(refusal.contains("the private folder \(folder) is not this process's own"), refusal)
            XCTAssertEqual(other.statuses().filter { $0.state == .active }.count, 0)
        }
    }

    /// Watches `vendor.ok` from another thread: true once it was ever found missing.
    private final class GapWatch: @unchecked Sendable {
        /// Guards `stopped` and `sawGap`.
        private let lock = NSLock()
        private var stopped = false
        private var sawGap = false
        private let done = DispatchSemaphore(value: 0)

        init(_ registry: PluginRegistry, _ reference: HandlerReference) {
            Thread.detachNewThread { [self] in
                while !isStopped {
                    if !registry.isAvailable(reference) { lock.lock(); sawGap = true; lock.unlock() }
                }
                done.signal()
            }
        }

        private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

        func stop() -> Bool {
            lock.lock()
            stopped = true
            lock.unlock()
            done.wait()
            lock.lock()
            defer { lock.unlock() }
            return sawGap
        }
    }

    func testARenameToANameThatSortsEarlierSwapsThePluginOverWithoutAGap() throws {
        let gaps = GapWatch(registry, vendor)
        XCTAssertEqual(rename("\(plugins)/vendor.so", "\(plugins)/libvendor.so"), 0)
        let swapped = waitUntil { activeFiles == ["\(plugins)/libvendor.so"] }
        XCTAssertFalse(gaps.stop(), "vendor.ok was missing during the rename")
        XCTAssertTrue(swapped, "\(registry.statuses())")
        XCTAssertEqual(failures, [])

        // And back again, to a name that sorts later.
        XCTAssertEqual(rename("\(plugins)/libvendor.so", "\(plugins)/vendor.so"), 0)
        XCTAssertTrue(waitUntil { activeFiles == ["\(plugins)/vendor.so"] }, "\(registry.statuses())")
        XCTAssertEqual(failures, [])
    }

    /// A removal waited for every load of its batch: `rm vendor.so` together with a new file whose
    /// `init` hangs left the removed plugin serving until that `init` returned.
    func testARemovalIsNotHeldUpByTheInitOfAnotherPluginInItsBatch() throws {
        let gate = "\(directory!)/gate"
        try CPluginSource.build(CPluginSource.gated(name: "other", gate: gate), to: "\(plugins)/.other.so.tmp")
        XCTAssertEqual(unlink("\(plugins)/vendor.so"), 0)
        XCTAssertEqual(rename("\(plugins)/.other.so.tmp", "\(plugins)/other.so"), 0)
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "other's init runs")
        XCTAssertTrue(waitUntil { !registry.isAvailable(vendor) }, "the removed plugin serves on: \(registry.statuses())")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        XCTAssertTrue(waitUntil { activeFiles == ["\(plugins)/other.so"] }, "\(registry.statuses())")
    }

    /// A renamed file whose `init` takes a while: the old name serves until the new one takes over.
    func testARenamedPluginServesUntilTheInitUnderItsNewNameReturns() throws {
        let gate = "\(directory!)/gate"
        FileManager.default.createFile(atPath: gate, contents: nil)
        try CPluginSource.build(CPluginSource.gated(name: "vendor", version: "2", gate: gate), to: "\(plugins)/.vendor.so.tmp")
        XCTAssertEqual(rename("\(plugins)/.vendor.so.tmp", "\(plugins)/vendor.so"), 0)
        XCTAssertTrue(waitUntil { registry.statuses().first?.version == "2" }, "\(registry.statuses())")
        try FileManager.default.removeItem(atPath: gate)

        let gaps = GapWatch(registry, vendor)
        XCTAssertEqual(rename("\(plugins)/vendor.so", "\(plugins)/renamed.so"), 0)
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "the init under the new name runs")
        usleep(300_000)
        XCTAssertEqual(activeFiles, ["\(plugins)/vendor.so"], "the old name serves while the new one's init runs")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let swapped = waitUntil { activeFiles == ["\(plugins)/renamed.so"] }
        XCTAssertFalse(gaps.stop(), "vendor.ok was missing during the rename")
        XCTAssertTrue(swapped, "\(registry.statuses())")
        XCTAssertEqual(failures, [])
    }

    func testRemovingTheFileThatHoldsANameLoadsAFileRefusedForThatName() throws {
        try place("x.so")
        try place("y.so")
        XCTAssertTrue(waitUntil { failures.count == 2 }, "\(registry.statuses())")
        XCTAssertTrue(failures.allSatisfy { $0.contains("plugin name \"vendor\" is already held by \(plugins)/vendor.so") }, "\(failures)")

        XCTAssertEqual(unlink("\(plugins)/vendor.so"), 0)
        XCTAssertTrue(waitUntil { activeFiles == ["\(plugins)/x.so"] }, "\(registry.statuses())")
        XCTAssertTrue(registry.isAvailable(vendor))
        let refusal = "\(plugins)/y.so: plugin name \"vendor\" is already held by \(plugins)/x.so"
        XCTAssertTrue(waitUntil { failures == [refusal] }, "\(failures)")
    }

    /// Removing the file that holds a name loads the file refused for it; in a batch of removals
    /// alone, that load ran on the watch's own thread, so while its `init` ran no later change to
    /// the folder was seen.
    func testALoadARemovalStartsDoesNotHoldUpLaterChanges() throws {
        let gate = "\(directory!)/gate"
        defer { _ = FileManager.default.createFile(atPath: gate, contents: nil) }
        try CPluginSource.build(CPluginSource.gated(name: "vendor", version: "2", gate: gate), to: "\(plugins)/.waiter.so.tmp")
        XCTAssertEqual(rename("\(plugins)/.waiter.so.tmp", "\(plugins)/waiter.so"), 0)
        XCTAssertTrue(waitUntil { failures.contains { $0.contains("already held by \(plugins)/vendor.so") } }, "\(registry.statuses())")

        XCTAssertEqual(unlink("\(plugins)/vendor.so"), 0)
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: gate + ".waiting") }, "waiter.so's init runs")
        try CPluginSource.build(CPluginSource.named("other"), to: "\(plugins)/.other.so.tmp")
        XCTAssertEqual(rename("\(plugins)/.other.so.tmp", "\(plugins)/other.so"), 0)
        XCTAssertTrue(waitUntil { registry.isAvailable(HandlerReference(plugin: "other", handler: "ok")) },
                      "a new file loads while waiter.so's init runs: \(registry.statuses())")
        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        XCTAssertTrue(waitUntil { activeFiles == ["\(plugins)/other.so", "\(plugins)/waiter.so"] }, "\(registry.statuses())")
    }

    /// A file refused because another file holds its plugin name is refused before its `init` runs:
    /// nothing `init` would start (threads, files, connections) happens for a version never used.
    func testAFileRefusedForAHeldNameNeverRunsItsInit() throws {
        let marker = "\(directory!)/init-ran"
        try CPluginSource.build("""
            #include <stdio.h>
            #include <layeron/plugin.h>
            static layeron_status ok(void *i, const layeron_event *e, layeron_result *r) { (void)i; (void)e; (void)r; return LAYERON_OK; }
            static layeron_status init(const layeron_host *h, layeron_bytes c, layeron_result *r, void **out) {
                (void)h; (void)c; (void)r; (void)out;
                FILE *f = fopen("\(marker)", "a"); if (f) { fputs("init\\n", f); fclose(f); }
                return LAYERON_OK;
            }
            static const layeron_handler handlers[] = { { "ok", ok, { 0 } } };
            static const layeron_plugin_descriptor d = { .struct_size = sizeof d, .abi_version = LAYERON_PLUGIN_ABI_VERSION,
                .name = "vendor", .version = "2", .flags = LAYERON_PLUGIN_CONCURRENT, .handler_count = 1, .handlers = handlers, .init = init };
            const layeron_plugin_descriptor *layeron_plugin_entry(uint32_t v, const layeron_host *h) { (void)v; (void)h; return &d; }
            """, to: "\(plugins)/.z.so.tmp")
        XCTAssertEqual(rename("\(plugins)/.z.so.tmp", "\(plugins)/z.so"), 0)
        XCTAssertTrue(waitUntil { failures.contains { $0.contains("plugin name \"vendor\" is already held by") } }, "\(registry.statuses())")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "init ran for a file refused for its name")
        XCTAssertEqual(activeFiles, ["\(plugins)/vendor.so"])
    }

    /// `rm plugins/*.so` takes a holder and the duplicate it refused in one step: retiring the
    /// holder must not retry the duplicate that is gone too, and log a refusal for it.
    func testRemovingAHolderAndItsRefusedDuplicateTogetherLogsNoRefusal() throws {
        watcher.stop()
        registry.shutdownAll()
        let log = PluginCallTests.LogLines()
        registry = PluginRegistry(privateDirectory: "\(directory!)/private", logger: log.logger, config: { _ in nil })
        registry.loadDirectory(plugins)
        watcher = try PluginFolderWatcher(directory: plugins, registry: registry, logger: log.logger, debounceMilliseconds: 50)
        try place("x.so")
        XCTAssertTrue(waitUntil { failures.count == 1 }, "\(registry.statuses())")
        XCTAssertEqual(unlink("\(plugins)/vendor.so"), 0)
        XCTAssertEqual(unlink("\(plugins)/x.so"), 0)
        XCTAssertTrue(waitUntil { registry.statuses().isEmpty }, "\(registry.statuses())")
        usleep(200_000)
        let refusals = log.lines.filter { $0.contains("plugin refused") && $0.contains("x.so") && !$0.contains("already held") }
        XCTAssertEqual(refusals, [], "a removed file was retried")
    }

    func testADanglingLinkOverALivePluginIsRefusedWhileTheOldVersionServes() throws {
        let link = "\(plugins)/vendor.so"
        let typo = "\(directory!)/vendr-build.so"
        XCTAssertEqual(symlink(typo, "\(plugins)/.vendor.so.link"), 0)
        XCTAssertEqual(rename("\(plugins)/.vendor.so.link", link), 0, "as ln -sf does it")
        XCTAssertTrue(waitUntil { !failures.isEmpty }, "\(registry.statuses())")
        XCTAssertEqual(failures, ["\(link): is a symbolic link to \(typo), which does not exist; point it at the plugin's build (ln -sf BUILD \(link))"])
        XCTAssertEqual(activeFiles, [link], "the serving version keeps serving")
        XCTAssertTrue(registry.isAvailable(vendor))

        // Fixing the link loads its target; removing the entry is what retires the plugin.
        XCTAssertEqual(unlink(link), 0)
        XCTAssertEqual(symlink("\(directory!)/vendor-build.so", link), 0)
        XCTAssertTrue(waitUntil { failures.isEmpty }, "\(registry.statuses())")
        XCTAssertTrue(registry.isAvailable(vendor))
        XCTAssertEqual(unlink(link), 0)
        XCTAssertTrue(waitUntil { !registry.isAvailable(vendor) }, "\(registry.statuses())")
    }
}
