import Foundation

/// Why a file could not be read, in the system's words ("no such file or directory", "permission
/// denied", "is a directory"), for an error that names the real cause: Foundation's `contents(atPath:)`
/// says only that it failed.
public enum UnreadableFile {
    public static func reason(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return systemReason(errno) }
        defer { close(fd) }
        var byte: UInt8 = 0
        guard read(fd, &byte, 1) >= 0 else { return systemReason(errno) }
        return "it changed while it was read; try again"
    }

    private static func systemReason(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }
}
