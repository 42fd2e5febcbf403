import Foundation

/// Which of a database file's pages are in the kernel's page cache, read with `mincore` over a
/// mapping that faults nothing in: the test's way to see what `WrittenPageRelease` left cached.
enum PageResidency {
    /// SQLite's b-tree page types (the page's first byte; page 1 starts with the database header).
    static let tableLeaf: UInt8 = 13
    static let indexLeaf: UInt8 = 10
    /// An overflow page starts with the next one's number, whose first byte is 0 in any file under 64 GB.
    static let overflow: UInt8 = 0

    /// The share (0...1) of the pages of `range` (bytes of the file at `path`, 4 KB pages) that are
    /// cached, among those whose first byte is each of `types` (every page for nil). The residency of
    /// every page is taken before any type is read: reading a page caches it. Throws when `range`
    /// holds no page of a type, as a share of nothing would pass any bound a test sets.
    static func cachedShares(of path: String, in range: Range<Int>, types: [UInt8?]) throws -> [Double] {
        let page = 4096
        let cached = try residency(of: path, pages: range.lowerBound / page..<(range.upperBound + page - 1) / page, pageSize: page)
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var pageTypes: [UInt8] = []
        for (index, _) in cached {
            try handle.seek(toOffset: UInt64(index * page))
            pageTypes.append(try handle.read(upToCount: 1)?.first ?? 0)
        }
        return try types.map { type in
            let considered = zip(cached, pageTypes).filter { type == nil || $0.1 == type }
            guard !considered.isEmpty else { throw ResidencyError.noPages(path, range, type) }
            return Double(considered.filter { $0.0.1 }.count) / Double(considered.count)
        }
    }

    private static func residency(of path: String, pages: Range<Int>, pageSize: Int) throws -> [(Int, Bool)] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ResidencyError.cannotOpen(path, errno) }
        // A test process closes its descriptor at once; it holds no SQLite lock on the file.
        defer { close(descriptor) }
        let length = pages.count * pageSize
        guard length > 0 else { return [] }
        guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, off_t(pages.lowerBound * pageSize)),
              mapping != MAP_FAILED else { throw ResidencyError.cannotMap(path, errno) }
        defer { munmap(mapping, length) }
        var vector = [UInt8](repeating: 0, count: pages.count)
        guard mincore(mapping, length, &vector) == 0 else { throw ResidencyError.cannotMap(path, errno) }
        return zip(pages, vector).map { ($0, $1 & 1 == 1) }
    }

    /// False where a release means nothing: tmpfs holds its files only in the page cache, so the
    /// kernel keeps every page whatever it is told.
    static func releasable(_ directory: String) -> Bool {
        fileSystemType(of: directory) != "tmpfs"
    }

    /// The type `/proc/mounts` gives the mount holding `path` (the longest mount point it is under).
    private static func fileSystemType(of path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return nil }
        var best: (point: String, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2 else { continue }
            let point = String(fields[1])
            let under = point == "/" || path == point || path.hasPrefix(point + "/")
            if under, point.count > (best?.point.count ?? -1) { best = (point, String(fields[2])) }
        }
        return best?.type
    }
}

enum ResidencyError: Error, CustomStringConvertible {
    case cannotOpen(String, Int32)
    case cannotMap(String, Int32)
    case noPages(String, Range<Int>, UInt8?)

    var description: String {
        switch self {
        case let .noPages(path, range, type):
            "bytes \(range) of \(path) hold no page of type \(type.map(String.init) ?? "any"): a share of them means nothing"
        case let .cannotOpen(path, code): "cannot open \(path): \(String(cString: strerror(code)))"
        case let .cannotMap(path, code): "cannot map \(path): \(String(cString: strerror(code)))"
        }
    }
}
