import Foundation

/// Hands the page cache of the database file's older part back to the kernel once the checkpointer
/// has synced it (docs/performance.md, item 57).
///
/// The store appends: under load the file grows by about 2.4 KB an event, and every page it grows by
/// is a page-cache page the kernel has to find. On a virtual machine that returns free memory to its
/// host (free page reporting, as the bench machines do), such a page is also a fault on the host: the
/// checkpointer's copies into pages new to the file were 14% of the server's CPU under load, more
/// than the copy itself. Pages written and synced are seldom read again (the admin API, retries and
/// replays read old events a page at a time), so once released they are the pages the kernel hands
/// out for the next ones, already backed by the host.
///
/// Only what the file grew by since the store opened is released, only the pages that hold rows
/// (`releaseSynced`), and only once the newest `lag` bytes are past it: recent events, the right
/// edges of the b-trees the writer appends to and every index page stay cached, and so does every page a reader brought back (the
/// mark never moves back over it). This is advice to the kernel: it never drops a dirty page (and
/// these are synced), and a failure changes nothing but the cost of the next pages.
///
/// The descriptor is a second one on the database file, and closing any descriptor of a file drops
/// every POSIX lock the process holds on it, SQLite's included (which would let another process that
/// opens the store believe it is the last one and remove the WAL). So it is closed only when the last
/// connection that holds this object (`SQLiteConnection.heldUntilClosed`) has closed.
final class WrittenPageRelease: @unchecked Sendable {
    private let descriptor: Int32
    private let pageSize: Int
    /// Only the checkpointer's thread uses these (after each pass).
    private var mark: ReleaseMark
    private var buffer: [UInt8]

    /// Nil when the file cannot be opened: then nothing is released. `pageSize` is the database's.
    init?(path: String, pageSize: Int, lag: Int = 64 << 20) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        var status = stat()
        guard pageSize > 0, fstat(descriptor, &status) == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
        self.pageSize = pageSize
        mark = ReleaseMark(openedAt: Int(status.st_size) / pageSize * pageSize, lag: lag / pageSize * pageSize)
        buffer = [UInt8](repeating: 0, count: 64 * pageSize)
    }

    deinit { close(descriptor) }

    /// Releases the pages that hold rows among what the file grew by, up to `lag` bytes before its
    /// end. Call it after the database file was synced: a page still dirty would stay cached (the
    /// kernel does not drop it).
    ///
    /// Index pages and interior pages are kept, told apart by their first byte (SQLite's file
    /// format: 10 an index leaf, 2 and 5 interior pages): index pages with random keys (GitHub's and
    /// Shopify's delivery ids in the dedupe index) are read and rewritten for as long as the index
    /// lives, and each one released was read back from the disk by the writer (random ids ran 0.917
    /// of the rate over four quick-loop pairs when every page was released); interior pages are
    /// read by every lookup. The rest are released: table leaves (13), which hold the rows of the
    /// payloads, events and attempts tables, written once and seldom read; overflow pages, where a
    /// body over about 4 KB continues (their first bytes are the next overflow page's number); free
    /// pages. Page 1 (the database header, and the schema's root) is kept.
    func releaseSynced() {
        var status = stat()
        guard fstat(descriptor, &status) == 0,
              let range = mark.advance(fileSize: Int(status.st_size) / pageSize * pageSize) else { return }
        var runStart: Int?
        var offset = range.lowerBound
        while offset < range.upperBound {
            let length = min(buffer.count, range.upperBound - offset)
            let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, length, off_t(offset)) }
            guard read == length else { break }
            for page in stride(from: 0, to: length, by: pageSize) {
                if offset + page > 0, !Self.keptPageTypes.contains(buffer[page]) {
                    if runStart == nil { runStart = offset + page }
                } else if let start = runStart {
                    advise(start..<offset + page)
                    runStart = nil
                }
            }
            offset += length
        }
        if let start = runStart { advise(start..<offset) }
    }

    /// The first bytes of the b-tree pages that stay cached: index interior, table interior, index leaf.
    private static let keptPageTypes: Set<UInt8> = [2, 5, 10]

    private func advise(_ bytes: Range<Int>) {
        _ = posix_fadvise(descriptor, off_t(bytes.lowerBound), off_t(bytes.count), POSIX_FADV_DONTNEED)
    }
}

/// Which part of a growing file to release next: from where the last release ended (at first the
/// file's size when the store opened) up to `lag` bytes before the file's end, in steps of at least
/// `minimumStep` bytes so that small growth does not cost a call each pass. A file that shrank (SQLite
/// truncates it only in a full `VACUUM` or an explicit truncation) moves the mark back to its end, so
/// that what grows again is released too.
struct ReleaseMark {
    let lag: Int
    let minimumStep: Int
    private(set) var releasedUpTo: Int

    init(openedAt size: Int, lag: Int, minimumStep: Int = 1 << 20) {
        releasedUpTo = size
        self.lag = lag
        self.minimumStep = minimumStep
    }

    /// The byte range to release now for a file of `fileSize` bytes, nil when it is too short.
    mutating func advance(fileSize: Int) -> Range<Int>? {
        if fileSize < releasedUpTo { releasedUpTo = fileSize }
        let end = fileSize - lag
        guard end - releasedUpTo >= minimumStep else { return nil }
        defer { releasedUpTo = end }
        return releasedUpTo..<end
    }
}
