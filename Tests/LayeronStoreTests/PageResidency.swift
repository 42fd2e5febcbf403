import Foundation

/// Which of a file's pages are in the kernel's page cache, read with `mincore` over a mapping that
/// faults nothing in: the test's way to see what `WrittenPageRelease` left cached.
enum PageResidency {
    /// The share (0...1) of the pages of `range` (bytes of the file at `path`) that are cached.
    static func cachedShare(of path: String, in range: Range<Int>) throws -> Double {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ResidencyError.cannotOpen(path, errno) }
        // A test process closes its descriptor at once; it holds no SQLite lock on the file.
        defer { close(descriptor) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let length = range.upperBound - start
        guard length > 0 else { return 0 }
        guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, off_t(start)),
              mapping != MAP_FAILED else { throw ResidencyError.cannotMap(path, errno) }
        defer { munmap(mapping, length) }
        var vector = [UInt8](repeating: 0, count: (length + page - 1) / page)
        guard mincore(mapping, length, &vector) == 0 else { throw ResidencyError.cannotMap(path, errno) }
        return Double(vector.filter { $0 & 1 == 1 }.count) / Double(vector.count)
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

    var description: String {
        switch self {
        case let .cannotOpen(path, code): "cannot open \(path): \(String(cString: strerror(code)))"
        case let .cannotMap(path, code): "cannot map \(path): \(String(cString: strerror(code)))"
        }
    }
}
