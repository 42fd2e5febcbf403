/// Memory a statement's text and blob parameters are copied into, so they can be bound without
/// SQLite copying them again. A parameter bound with SQLite's "transient" destructor is copied into
/// a buffer SQLite allocates for it and frees when the parameter is rebound or cleared: about 26
/// `malloc`/`free` pairs per stored event (Debian's SQLite is built without its lookaside allocator),
/// which callgrind put at a few percent of all instructions. Here each statement keeps one buffer
/// for the lifetime of the statement; a parameter is copied into it and bound as "static".
///
/// SQLite reads a static parameter until it is rebound, cleared or the statement is finalized, so
/// the arena may only be reused after `Statement.reset` has cleared the bindings, and must outlive
/// the statement's finalization (its owner frees it after `sqlite3_finalize`).
struct BindArena: ~Copyable {
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    /// Buffers a round outgrew: earlier parameters still point into them, so they live until the
    /// next `reset`, which replaces the buffer by one large enough for the whole round.
    private var outgrown: [UnsafeMutableRawPointer] = []
    private var roundBytes = 0

    init(capacity: Int = 512) {
        self.capacity = capacity
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        for old in outgrown { old.deallocate() }
    }

    /// A stable copy of `bytes`, valid until the next `reset`.
    mutating func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawPointer {
        roundBytes += bytes.count
        if used + bytes.count > capacity {
            outgrown.append(buffer)
            capacity = max(capacity * 2, bytes.count)
            buffer = .allocate(byteCount: capacity, alignment: 16)
            used = 0
        }
        let destination = buffer + used
        if let source = bytes.baseAddress, bytes.count > 0 {
            destination.copyMemory(from: source, byteCount: bytes.count)
        }
        used += bytes.count
        return UnsafeRawPointer(destination)
    }

    /// Makes the memory reusable. Only after the statement's bindings were cleared.
    mutating func reset() {
        if !outgrown.isEmpty {
            for old in outgrown { old.deallocate() }
            outgrown.removeAll()
            if capacity < roundBytes {
                buffer.deallocate()
                capacity = roundBytes
                buffer = .allocate(byteCount: capacity, alignment: 16)
            }
        }
        used = 0
        roundBytes = 0
    }
}
