import Foundation
import LayeronCore
import LayeronPluginHost

/// The cost of calling a handler through the C ABI (marshalling the event into a borrowed
/// `layeron_event`, the indirect call, reading the result back) next to a direct Swift call that
/// takes the same event and returns the same outcome.
enum ABICallBenchmark {
    static let iterations = 200_000

    static func run(plugin file: String) throws -> JSONValue {
        let directory = NSTemporaryDirectory() + "layeron-bench-\(getpid())"
        let plugin = try LoadedPlugin.load(file: file, privateDirectory: directory, config: { _ in nil }, logger: .discard, emitter: nil)
        let event = HandlerEvent(
            id: EventID.make(nowMilliseconds: 1_700_000_000_000), webhook: "stripe", provider: "stripe", type: "invoice.paid",
            providerEventID: "evt_bench", headers: [("content-type", "application/json"), ("stripe-signature", "t=1,v1=00")],
            body: Array(repeating: UInt8(ascii: "x"), count: 1200), receivedAtMilliseconds: 1_700_000_000_000,
            attempt: 1, replay: false)
        let handler = plugin.handlerNames.first ?? ""
        let abi = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(plugin.call(handler, event)) }
        let direct = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(directHandler(event)) }
        return .object([("handler", .string("\(plugin.name).\(handler)")), ("abi_ns", .double((abi * 10).rounded() / 10)),
                        ("direct_swift_ns", .double((direct * 10).rounded() / 10)),
                        ("overhead_ns", .double(((abi - direct) * 10).rounded() / 10))])
    }

    @inline(never)
    static func directHandler(_ event: HandlerEvent) -> HandlerOutcome {
        HandlerOutcome(verdict: event.attempt > 0 ? .ok : .error, message: nil, plugin: "bench", pluginVersion: "1.0.0")
    }
}
