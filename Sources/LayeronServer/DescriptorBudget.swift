import Foundation

/// Whether the open-file limit leaves room for the connections the public listener may hold and
/// what the server needs beside them. A soft limit below it (a hard limit the server could not raise
/// it past, `ulimit -n 32`) lets the server start and serve a few requests; then accepts fail, new
/// clients wait unanswered with nothing going to close, and file watches, outbound deliveries and
/// the store fail with EMFILE. Said once at start, with the numbers, since every later symptom
/// points elsewhere.
struct DescriptorBudget: Equatable {
    /// The soft RLIMIT_NOFILE after `serve` raised it to the hard one (`OpenFileLimit`).
    let limit: UInt64
    /// `limits.maxConnections`.
    let publicConnections: Int
    /// The admin listener's fixed limit.
    let adminConnections: Int
    /// Descriptors open once the listeners run: the store, plugins, listening sockets, epoll and pipes.
    let open: Int

    /// Room for what opens later: plugins' own files and sockets, outbound connections (libcurl's
    /// cache keeps up to 256, one per receiver in use), the store's journal and temporary files.
    static let margin = 128

    /// What the admin listener is counted for: its probes, metrics scrapes and CLI calls hold a few
    /// connections at a time. Its fixed limit (1024) is what a client holding connections open on
    /// purpose could reach, which `ConnectionLimitWarnings` reports when it happens; counted in full,
    /// it asked for about 2,200 descriptors and warned on every host with a hard limit of 1024 to
    /// 2048, where the public listener's connections fit.
    static let adminReserve = 32

    /// The admin listener's part of `needed`.
    var adminShare: Int { min(adminConnections, Self.adminReserve) }

    var needed: Int { publicConnections + adminShare + open + Self.margin }

    /// The warning to log, or nil when the limit covers `needed`.
    var warning: String? {
        guard limit < UInt64(needed) else { return nil }
        let fitting = Int(limit) - adminShare - open - Self.margin
        let lower = fitting >= 1 ? ", or lower limits.maxConnections to \(fitting) or less" : ""
        return "the open-file limit (\(limit)) is below what the server may hold: limits.maxConnections \(publicConnections) + \(adminShare) "
            + "for the admin listener's probes and tools + \(open) descriptors open now + \(Self.margin) for plugins, outbound connections "
            + "and the store = \(needed). Once it is reached, new clients wait unanswered and file watches, outbound deliveries and the "
            + "store fail with 'Too many open files'. serve raises the soft limit to the hard one: raise the hard limit to \(needed) or more "
            + "(LimitNOFILE=\(needed) in the systemd unit, `ulimit -n \(needed)` before starting, --ulimit nofile=\(needed) for docker run)\(lower)"
    }

    /// The process's budget now; nil when the limit is unlimited or cannot be read.
    static func current(publicConnections: Int, adminConnections: Int) -> DescriptorBudget? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max,
              let open = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count else { return nil }
        return DescriptorBudget(limit: UInt64(limit.rlim_cur), publicConnections: publicConnections, adminConnections: adminConnections,
                                open: open)
    }
}
