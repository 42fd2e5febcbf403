import LayeronCore
import LayeronCrypto

/// Verification cost per scheme for a 1.2 KB body. Iterates over every provider preset and over a
/// custom raw-body scheme per HMAC algorithm, so schemes added later are measured without edits here.
enum VerificationBenchmark {
    static let iterations = 20_000

    static func run() -> JSONValue {
        let body = Array(repeating: UInt8(ascii: "x"), count: 1200)
        let secret = SecretValue("whsec_bench_secret_0123456789abcdef")
        let now: Int64 = 1_700_000_000
        var schemes: [(String, SignatureScheme)] = ProviderPreset.all.keys.sorted().map { ($0, ProviderPreset.all[$0]!.scheme(nil)) }
        for algorithm in HashAlgorithm.allCases {
            schemes.append(("custom-hmac-\(algorithm.rawValue)-hex",
                            SignatureScheme(header: "x-signature", format: .whole(prefix: ""), algorithm: algorithm,
                                            encoding: .hex, payload: .rawBody)))
        }
        let sha256 = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(Digest.hash(.sha256, body)) }
        var rows: [JSONValue] = []
        for (name, scheme) in schemes {
            let request = SchemeSigner.sign(scheme, body: body, secret: secret, timestamp: now)
            let url = "https://localhost/webhooks/bench"
            guard case .success = scheme.verify(request, url: url, secrets: [secret], now: now) else {
                rows.append(.object([("scheme", .string(name)), ("error", .string("the bench could not sign for this scheme"))]))
                continue
            }
            let ns = Stopwatch.nanosecondsPerCall(iterations: iterations) {
                blackHole(scheme.verify(request, url: url, secrets: [secret], now: now))
            }
            rows.append(.object([("scheme", .string(name)), ("ns", .int(Int64(ns))),
                                 ("vs_sha256", .number((ns / sha256 * 100).rounded() / 100))]))
        }
        return .object([("body_bytes", .int(Int64(body.count))), ("sha256_ns", .int(Int64(sha256))), ("schemes", .array(rows))])
    }
}
