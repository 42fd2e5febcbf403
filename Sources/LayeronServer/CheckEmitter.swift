import LayeronPluginHost

/// What a plugin's `emit` meets under `layeron check`, which delivers nothing: the answer `serve`
/// would give (no destination configured, an unknown one, a refused type, payload or key), and an
/// emit that would be recorded accepted (and not sent). Without it every emit was refused as if the
/// config had no outbound destination, and an `init` that emits passed under `serve` but failed here.
struct CheckEmitter: OutboundEmitter {
    let destinations: [String]

    func emit(destination: String, type: String, payload: [UInt8], idempotencyKey: String?) -> EmitResult {
        guard !destinations.isEmpty else { return .unsupported }
        guard destinations.contains(destination) else {
            return .invalid(OutboundService.unknownDestination(destination, configured: destinations))
        }
        if let refusal = OutboundService.refusal(type: type, payload: payload, idempotencyKey: idempotencyKey) {
            return .invalid(refusal.message)
        }
        return .emitted
    }
}
