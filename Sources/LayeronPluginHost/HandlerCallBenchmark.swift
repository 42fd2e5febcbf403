import Foundation

/// The cost of one handler call through the C ABI (marshalling the event, the result handle, the
/// call, reading the verdict) against a direct Swift call of a function with the same shape. Meant
/// for `make bench`, not the test suite: load a plugin whose handler returns LAYERON_OK at once, then
/// call `measure` and print both numbers.
public enum HandlerCallBenchmark {
    public struct Result: Sendable {
        public var abiNanosecondsPerCall: Double
        public var directNanosecondsPerCall: Double
    }

    public static func measure(plugin: LoadedPlugin, handler: String, event: HandlerEvent, iterations: Int) -> Result {
        let n = max(1, iterations)
        let direct: (String, HandlerEvent) -> HandlerOutcome? = directCall(plugin.name, plugin.version)
        let abi = time(n) { _ = plugin.call(handler, event) }
        let swift = time(n) { _ = direct(handler, event) }
        return Result(abiNanosecondsPerCall: abi / Double(n), directNanosecondsPerCall: swift / Double(n))
    }

    /// What a handler written in Swift inside the host would be: no marshalling, same outcome value.
    private static func directCall(_ name: String, _ version: String) -> (String, HandlerEvent) -> HandlerOutcome? {
        { _, event in
            HandlerOutcome(verdict: event.attempt > 0 ? .ok : .error, message: nil, plugin: name, pluginVersion: version)
        }
    }

    private static func time(_ iterations: Int, _ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start)
    }
}
