import Foundation

/// The soft limit on open descriptors, raised to the hard limit as `serve` starts (as Go's runtime
/// does). Debian's default soft limit is 1024 (systemd's `DefaultLimitNOFILE=1024:524288`), which the
/// listener's 1024 connections alone reach: the store's files, plugins and outbound sockets would
/// then fail to open with EMFILE. The hard limit is the operator's ceiling and stays as it is.
enum OpenFileLimit {
    static func raise() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
