import Glibc

/// The check a plugin file passes before `dlopen`, for the one kind of bad file that would take the
/// whole server down instead of being refused: a truncated one (a build cut short, a full disk, a
/// copy written in several opens). glibc's loader maps every segment the program headers name and
/// writes to the last page of each; a segment that ends past the end of the file faults with
/// SIGBUS inside `dlopen`, which no caller can catch. So what the loader reads before it can fail
/// cleanly must lie inside the file: the ELF header, the program header table, and every
/// segment's bytes. Anything else wrong is left to `dlopen`, which reports it.
enum SharedObjectImage {
    /// Checks the file at `path` (the private copy about to be loaded, so nobody writes it meanwhile).
    static func check(_ path: String) throws(SharedObjectImageError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw .unreadable(String(cString: strerror(errno))) }
        let size = UInt64(status.st_size)

        // A file too short for an ELF header, not ELF at all, 32-bit or big-endian: dlopen refuses
        // those cleanly and names the reason itself.
        var header = Elf64_Ehdr()
        guard read(fd, at: 0, into: &header) else { return }
        let magic = (header.e_ident.0, header.e_ident.1, header.e_ident.2, header.e_ident.3)
        guard magic == (0x7F, UInt8(ascii: "E"), UInt8(ascii: "L"), UInt8(ascii: "F")),
              header.e_ident.4 == UInt8(ELFCLASS64), header.e_ident.5 == UInt8(ELFDATA2LSB) else { return }
        guard Int(header.e_phentsize) == MemoryLayout<Elf64_Phdr>.size else {
            throw .malformed("program header entries of \(header.e_phentsize) bytes, not \(MemoryLayout<Elf64_Phdr>.size)")
        }
        let tableEnd = UInt64(header.e_phnum) * UInt64(header.e_phentsize)
        guard header.e_phoff <= size, tableEnd <= size - header.e_phoff else {
            throw .truncated(needed: header.e_phoff &+ tableEnd, size: size)
        }
        for index in 0..<UInt64(header.e_phnum) {
            var segment = Elf64_Phdr()
            guard read(fd, at: header.e_phoff + index * UInt64(header.e_phentsize), into: &segment) else {
                throw .truncated(needed: header.e_phoff &+ tableEnd, size: size)
            }
            guard segment.p_filesz > 0 else { continue }
            guard segment.p_offset <= size, segment.p_filesz <= size - segment.p_offset else {
                throw .truncated(needed: segment.p_offset &+ segment.p_filesz, size: size)
            }
        }
    }

    /// Reads exactly one `T` at `offset`; false when the file ends first.
    private static func read<T>(_ fd: Int32, at offset: UInt64, into value: inout T) -> Bool {
        withUnsafeMutableBytes(of: &value) { buffer in
            pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) == buffer.count
        }
    }
}

/// Why a plugin file's image cannot be handed to `dlopen`.
enum SharedObjectImageError: Error, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)
    case truncated(needed: UInt64, size: UInt64)

    var description: String {
        switch self {
        case let .unreadable(reason): return "cannot read it: \(reason)"
        case let .malformed(reason): return "malformed ELF headers: \(reason)"
        case let .truncated(needed, size):
            return "the file is cut short: its headers need \(needed) bytes and it has \(size) (a copy still being written, or a build that stopped?)"
        }
    }
}
