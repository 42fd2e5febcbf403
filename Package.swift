// swift-tools-version:6.0
import PackageDescription

// Targets run lowest first: system libraries, the C shims and ABI header, then pure-Swift core,
// then the edges (store, plugin host, HTTP), then the server that wires them and the CLI.
let package = Package(
    name: "layeron",
    products: [
        .executable(name: "layeron", targets: ["layeron"]),
        .library(name: "LayeronPluginKit", targets: ["LayeronPluginKit"]),
        // The Swift example plugin; `make plugins` copies libAuditPlugin.so to plugins/audit.so.
        .library(name: "AuditPlugin", type: .dynamic, targets: ["AuditPlugin"]),
    ],
    targets: [
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CShims", dependencies: ["CMicroHTTPD", "CCurl"]),
        .target(name: "CLayeronPlugin"),
        // DWARF 4: the range lists clang writes for this file in DWARF 5 stop Debian 12's valgrind
        // (3.19) from reading the binary, and `make bench` counts instructions with callgrind.
        .target(name: "CWALWriteBuffer", dependencies: ["CSQLite"], cSettings: [.unsafeFlags(["-gdwarf-4"])]),
        .target(name: "LayeronCrypto", dependencies: ["COpenSSL"]),
        .target(name: "LayeronCore", dependencies: ["LayeronCrypto"]),
        .target(name: "LayeronStore", dependencies: ["CSQLite", "CWALWriteBuffer", "LayeronCore", "LayeronCrypto"]),
        .target(name: "LayeronPluginHost", dependencies: ["CLayeronPlugin", "LayeronCore"]),
        .target(name: "LayeronHTTP", dependencies: ["CMicroHTTPD", "CCurl", "CShims", "LayeronCore"]),
        .target(name: "LayeronOutbound", dependencies: ["CCurl", "CShims", "LayeronCore", "LayeronCrypto"]),
        .target(name: "LayeronServer", dependencies: [
            "CShims", "LayeronCore", "LayeronCrypto", "LayeronStore", "LayeronPluginHost", "LayeronHTTP", "LayeronOutbound",
        ], resources: [.embedInCode("admin-api.yaml")]),
        .target(name: "LayeronPluginKit", dependencies: ["CLayeronPlugin"]),
        .target(name: "AuditPlugin", dependencies: ["LayeronPluginKit"], path: "plugins/examples/audit"),
        .executableTarget(name: "layeron", dependencies: ["CShims", "LayeronServer", "LayeronCore", "LayeronCrypto", "LayeronHTTP", "LayeronPluginHost", "LayeronStore", "CLayeronPlugin"]),
        // Microbenchmarks for `make bench` (verification per scheme, handler calls through the ABI).
        .executableTarget(name: "layeron-bench", dependencies: ["LayeronCore", "LayeronCrypto", "LayeronPluginHost", "LayeronStore"],
                          path: "bench/Sources/layeron-bench"),
        .testTarget(name: "LayeronCoreTests", dependencies: ["LayeronCore", "LayeronCrypto"]),
        .testTarget(name: "LayeronStoreTests", dependencies: ["LayeronStore", "LayeronCore", "CSQLite", "CWALWriteBuffer"]),
        .testTarget(name: "LayeronServerTests", dependencies: ["LayeronServer", "LayeronHTTP", "LayeronCore", "LayeronStore"]),
        .testTarget(name: "LayeronOutboundTests", dependencies: ["LayeronOutbound", "LayeronCore"]),
        .testTarget(name: "LayeronPluginHostTests", dependencies: ["LayeronPluginHost", "LayeronCore"]),
        .testTarget(name: "LayeronIntegrationTests", dependencies: ["LayeronCore", "LayeronCrypto", "LayeronHTTP", "CSQLite"]),
    ],
    swiftLanguageModes: [.v6]
)
