import CLayeronPlugin

/// `layeron version` (or `--version`): what a plugin author needs to match a build against this
/// binary: the product version, the plugin ABI it speaks, and the Swift it was built with (Swift
/// plugins share the server's Swift runtime, so they must come from the same toolchain).
enum VersionCommand {
    static let usage = "layeron version                        # product version, plugin ABI version, Swift it was built with"

    /// The product's version, MAJOR.MINOR.PATCH (semantic versioning), written only here. It moves
    /// independently of the plugin ABI: every 1.x product speaks plugin ABI 1.
    static let product = "1.0.0"

    /// The Swift compiler release that built this binary, to the minor version (all that
    /// `#if compiler` can tell); the top line covers compilers newer than this list.
    static var compiler: String {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    /// The language mode this binary was compiled in (the package sets 6).
    static var languageMode: String {
        #if swift(>=6)
        return "6"
        #else
        return "5"
        #endif
    }

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        guard words.isEmpty else { throw UsageError("version takes no arguments") }
        print("""
            layeron \(product)
            plugin ABI version \(LAYERON_PLUGIN_ABI_VERSION)
            built with Swift \(compiler) (language mode \(languageMode)); build Swift plugins with the same toolchain
            """)
        return 0
    }
}
