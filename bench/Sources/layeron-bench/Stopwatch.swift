import Foundation

/// Times a body over many iterations and keeps the fastest of a few rounds: on a shared machine
/// the fastest round is the one least disturbed by other work.
enum Stopwatch {
    static func nanosecondsPerCall(iterations: Int, rounds: Int = 5, _ body: () -> Void) -> Double {
        for _ in 0..<(iterations / 10) { body() }
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { body() }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start)
            best = min(best, elapsed / Double(iterations))
        }
        return best
    }
}

/// Keeps a result alive so the optimiser cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
