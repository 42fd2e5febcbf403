import CShims

/// glibc's allocator as `serve` sets it, before any thread starts.
enum AllocatorTuning {
    /// No fastbins (`M_MXFAST` 0): small chunks that overflow a thread's cache are merged back at
    /// once instead of waiting on per-size lists for a large request (a request body, about 1.2 KB)
    /// to make the allocator walk and merge them all (`malloc_consolidate`, half a percent of the
    /// machine's samples under load, gone with this). Each event is allocated on an HTTP thread and
    /// freed on the store's, and the writer's SQLite (Debian's, built without its lookaside) allocates
    /// dozens of small chunks an event. A modest gain, measured in order-alternated pairs
    /// (docs/performance.md, item 58). An operator's `GLIBC_TUNABLES` is read before this runs, and
    /// this one value overrides it.
    static func apply() {
        _ = mallopt(M_MXFAST, 0)
    }
}
