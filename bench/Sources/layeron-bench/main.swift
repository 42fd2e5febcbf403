import Foundation

/// `layeron-bench`: in-process microbenchmarks that `make bench` runs beside the HTTP load.
///   layeron-bench verify          ns per verification for every scheme the code offers, beside a bare SHA-256
///   layeron-bench abi PLUGIN.so   ns per handler call through the C ABI, beside a direct Swift call
/// Each prints one JSON object on standard output.
let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "verify":
    print(VerificationBenchmark.run().serialized())
case "abi" where arguments.count == 2:
    do {
        print(try ABICallBenchmark.run(plugin: arguments[arguments.startIndex + 1]).serialized())
    } catch {
        FileHandle.standardError.write(Data("layeron-bench abi: \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data("usage: layeron-bench verify | layeron-bench abi PLUGIN.so\n".utf8))
    exit(2)
}
