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

    /// The first defined symbol in the dynamic symbol table of the file at `path` whose name is a C++
    /// mangling of the function `name` (`_Z20layeron_plugin_entryjPK12layeron_host`), or nil. Asked only
    /// once `name` was not found: a C++ source that defines the entry without the header's `extern "C"`
    /// declaration exports it under such a name, and the refusal can say so instead of sending its
    /// author back to a header they did include. Every offset is checked against the file's size.
    static func cxxSymbol(mangling name: String, in path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return nil }
        let size = UInt64(status.st_size)
        var header = Elf64_Ehdr()
        guard read(fd, at: 0, into: &header), Int(header.e_shentsize) == MemoryLayout<Elf64_Shdr>.size, header.e_shoff <= size,
              UInt64(header.e_shnum) * UInt64(header.e_shentsize) <= size - header.e_shoff else { return nil }
        func sectionHeader(_ index: UInt64) -> Elf64_Shdr? {
            var section = Elf64_Shdr()
            guard index < UInt64(header.e_shnum), read(fd, at: header.e_shoff + index * UInt64(header.e_shentsize), into: &section) else { return nil }
            return section
        }
        func contents(_ section: Elf64_Shdr) -> [UInt8]? {
            guard section.sh_offset <= size, section.sh_size <= size - section.sh_offset else { return nil }
            var bytes = [UInt8](repeating: 0, count: Int(section.sh_size))
            let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(section.sh_offset)) }
            return count == bytes.count ? bytes : nil
        }
        guard let symbols = (0..<UInt64(header.e_shnum)).lazy.compactMap(sectionHeader).first(where: { $0.sh_type == SHT_DYNSYM }),
              let names = sectionHeader(UInt64(symbols.sh_link)).flatMap(contents), let table = contents(symbols) else { return nil }
        // The Itanium C++ ABI spells a name as its length and its characters, after `_Z` and any
        // enclosing namespaces or classes.
        let wanted = Array("\(name.utf8.count)\(name)".utf8)
        let stride = MemoryLayout<Elf64_Sym>.size
        for offset in Swift.stride(from: 0, to: table.count - stride + 1, by: stride) {
            let symbol = table.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: Elf64_Sym.self) }
            let start = Int(symbol.st_name)
            guard symbol.st_shndx != SHN_UNDEF, start < names.count else { continue }
            let end = names[start...].firstIndex(of: 0) ?? names.count
            let symbolName = names[start..<end]
            guard symbolName.starts(with: Array("_Z".utf8)), symbolName.firstRange(of: wanted) != nil else { continue }
            return String(decoding: symbolName, as: UTF8.self)
        }
        return nil
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
