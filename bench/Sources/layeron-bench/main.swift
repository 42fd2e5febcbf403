import Foundation

/// `layeron-bench`: in-process microbenchmarks that `make bench` runs beside the HTTP load.
///   layeron-bench verify [DIR]    ns per verification of every scheme's committed 1.2 KB vector (DIR defaults
///                                 to Tests/Fixtures/signatures), beside a bare SHA-256
///   layeron-bench fields          ns per EventFields.extract of a 1.2 KB Stripe event, beside a full parse
///   layeron-bench abi PLUGIN.so   ns per handler call through the C ABI, beside a direct Swift call
///   layeron-bench store [EVENTS] [BATCH]   the store's writer alone: CPU per event for rounds of BATCH
///                                 appends (25) and the round before's attempt records, EVENTS (20000) in all
/// Each prints one JSON object on standard output.
let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "verify":
    let fixtures = arguments.count > 1 ? arguments[arguments.startIndex + 1] : "Tests/Fixtures/signatures"
    do {
        print(try VerificationBenchmark.run(fixtures: fixtures).serialized())
    } catch {
        FileHandle.standardError.write(Data("layeron-bench verify: \(error)\n".utf8))
        exit(1)
    }
case "fields":
    do {
        print(try FieldExtractionBenchmark.run().serialized())
    } catch {
        FileHandle.standardError.write(Data("layeron-bench fields: \(error)\n".utf8))
        exit(1)
    }
case "abi" where arguments.count == 2:
    do {
        print(try ABICallBenchmark.run(plugin: arguments[arguments.startIndex + 1]).serialized())
    } catch {
        FileHandle.standardError.write(Data("layeron-bench abi: \(error)\n".utf8))
        exit(1)
    }
case "store":
    let numbers = arguments.dropFirst().compactMap { Int($0) }
    do {
        print(try StoreWriterBenchmark.run(events: numbers.first ?? 20_000, batch: numbers.dropFirst().first ?? 25).serialized())
    } catch {
        FileHandle.standardError.write(Data("layeron-bench store: \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data("usage: layeron-bench verify [DIR] | layeron-bench fields | layeron-bench abi PLUGIN.so | layeron-bench store [EVENTS] [BATCH]\n".utf8))
    exit(2)
}
