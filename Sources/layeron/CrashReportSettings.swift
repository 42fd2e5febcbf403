import Foundation
import LayeronCore

/// The settings of the Swift runtime's crash backtracer, applied by starting this program again.
/// Left to its defaults, a crash report from a process whose standard input is no terminal uses the
/// `full` preset, which prints, beside each register, the 16 bytes of memory it points at: a plugin
/// that crashes holding the event's body (or a key buffer) in a register puts those bytes on standard
/// error, and from there into the log collector. `registers=none` keeps the backtrace of every thread
/// (which names the plugin's file and function) and the images it mentions, and drops the registers.
/// The runtime reads `SWIFT_BACKTRACE` only as the process starts, so setting it here takes one
/// `execv` of this same binary with the same arguments; the process keeps its id, its descriptors and
/// its signal mask. A `SWIFT_BACKTRACE` the user set is left as it is, which is how to get the
/// register dump back (docs/operations.md).
enum CrashReportSettings {
    static let variable = "SWIFT_BACKTRACE"
    static let value = "registers=none"

    /// Call first thing, before any thread starts. Returns only when the settings are already in
    /// place, or when the program cannot be started again (then with a warning on standard error, and
    /// the runtime's defaults).
    static func apply() {
        if let set = getenv(variable), set.pointee != 0 { return }
        // Under valgrind the new image would run outside it (valgrind follows no exec by default),
        // and `make bench`'s callgrind figure would count nothing.
        if let preload = getenv("LD_PRELOAD"), String(cString: preload).contains("vgpreload") { return }
        // The binary's own path rather than /proc/self/exe, whose last component would become the
        // process's name (`ps`, `top`, `pgrep layeron` and the crash report's thread names).
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        // Started through the dynamic loader (`ld-linux-x86-64.so.2 ./layeron`, as from a noexec
        // mount), the path is the loader's, and starting it with this argv would not start layeron.
        if length > 0, String(cString: path).split(separator: "/").last?.hasPrefix("ld-") == true { return }
        if length > 0 {
            setenv(variable, value, 1)
            execv(path, CommandLine.unsafeArgv)
            unsetenv(variable)
        }
        StandardStream.error.write("""
            warning: cannot start again with \(variable)=\(value) (\(String(cString: strerror(errno)))): \
            a crash report will print the memory each register points at\n
            """)
    }
}
