import Foundation
import LayeronCore
import LayeronCrypto

/// Verification cost per scheme for a ~1.2 KB request, beside a bare SHA-256 of the same body. The
/// requests are the committed `valid_1200_bytes` vectors (`Tests/Fixtures/signatures`), one per
/// provider preset and per custom scheme, so every scheme is timed on a request it really accepts,
/// and presets added later are measured without edits here.
enum VerificationBenchmark {
    static let iterations = 20_000

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
    }

    static func run(fixtures: String) throws -> JSONValue {
        var rows: [JSONValue] = []
        var sha256 = 0.0
        var timed: [(String, Double, Int)] = []
        for preset in ProviderPreset.list {
            guard let entry = valid1200(try load(fixtures, "\(preset.name).json")["cases"]),
                  let saved = try? SavedRequest(entry["request"] ?? .null) else { continue }
            let secrets: [SecretValue]
            if case let .array(items)? = entry["secrets"] { secrets = items.compactMap(\.stringValue).map(SecretValue.init) } else { secrets = [] }
            let now = Int64(entry["now"]?.scalarText ?? "") ?? 0
            if sha256 == 0 { sha256 = Stopwatch.nanosecondsPerCall(iterations: iterations) { blackHole(Digest.hash(.sha256, saved.body)) } }
            if let ns = time(preset.scheme(nil), saved, secrets: secrets, now: now) {
                timed.append((preset.name, ns, saved.body.count))
            } else {
                rows.append(.object([("scheme", .string(preset.name)), ("error", .string("the committed vector does not verify"))]))
            }
        }
        if case let .array(schemes)? = try load(fixtures, "custom.json")["schemes"] {
            for item in schemes {
                guard let entry = valid1200(item["cases"]), let saved = try? SavedRequest(entry["request"] ?? .null),
                      let signature = item["signature"]?.serialized() else { continue }
                let text = #"{"webhooks": [{"name": "bench", "provider": "custom", "signature": \#(signature)}]}"#
                guard let scheme = (try? ConfigLoader.load(text: Array(text.utf8), file: "custom.json"))?.webhooks.first?.scheme else { continue }
                let now = Int64(entry["now"]?.scalarText ?? "") ?? 0
                if let ns = time(scheme, saved, secrets: [], now: now) {
                    timed.append(("custom-" + (item["name"]?.stringValue ?? "?"), ns, saved.body.count))
                }
            }
        }
        for (name, ns, bytes) in timed {
            rows.append(.object([("scheme", .string(name)), ("bytes", .int(Int64(bytes))), ("ns", .int(Int64(ns))),
                                 ("vs_sha256", .double((ns / max(sha256, 1) * 100).rounded() / 100))]))
        }
        return .object([("body_bytes", .int(1200)), ("sha256_ns", .int(Int64(sha256))), ("schemes", .array(rows))])
    }

    private static func time(_ scheme: SignatureScheme, _ saved: SavedRequest, secrets: [SecretValue], now: Int64) -> Double? {
        let request = saved.inbound(url: saved.url)
        guard case .success = scheme.verify(request, url: saved.url, secrets: secrets, now: now) else { return nil }
        return Stopwatch.nanosecondsPerCall(iterations: iterations) {
            blackHole(scheme.verify(request, url: saved.url, secrets: secrets, now: now))
        }
    }

    private static func load(_ directory: String, _ name: String) throws -> JSONValue {
        let path = (directory as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else { throw FixtureError(description: "cannot read \(path)") }
        return try JSONParser.parse([UInt8](data))
    }

    private static func valid1200(_ cases: JSONValue?) -> JSONValue? {
        guard case let .array(items)? = cases else { return nil }
        return items.first { $0["name"]?.stringValue == "valid_1200_bytes" }
    }
}
