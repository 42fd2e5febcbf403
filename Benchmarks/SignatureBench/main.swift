import Foundation
import LayeronCore
import LayeronCrypto

// `make bench`: verification time per ~1.2 KB request for every built-in scheme and the asymmetric
// custom schemes, in one run, beside a bare SHA-256 of the same bytes. Requests are the committed
// `valid_1200_bytes` vectors, so each is checked to verify before it is timed.

let directory = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "Tests/Fixtures/signatures")

func load(_ name: String) -> JSONValue {
    guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path),
          let json = try? JSONParser.parse([UInt8](data)) else {
        FileHandle.standardError.write(Data("signature-bench: cannot read \(name) in \(directory.path)\n".utf8))
        exit(2)
    }
    return json
}

/// Median nanoseconds per call over a few rounds of about 0.1 s each.
func nanoseconds(_ body: () -> Void) -> Double {
    var iterations = 16
    while true {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        if elapsed > 100_000_000 || iterations > 1 << 24 { break }
        iterations *= 2
    }
    var rounds: [Double] = []
    for _ in 0..<5 {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { body() }
        rounds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations))
    }
    return rounds.sorted()[2]
}

struct Row { let name: String; let bytes: Int; let ns: Double }

func case1200(_ cases: JSONValue?) -> JSONValue? {
    guard case let .array(items)? = cases else { return nil }
    return items.first { $0["name"]?.stringValue == "valid_1200_bytes" }
}

var rows: [Row] = []
var baselineBody: [UInt8] = []
for preset in ProviderPreset.list {
    guard let entry = case1200(load("\(preset.name).json")["cases"]),
          let saved = try? SavedRequest(entry["request"] ?? .null) else { continue }
    let secrets: [SecretValue]
    if case let .array(items)? = entry["secrets"] { secrets = items.compactMap(\.stringValue).map(SecretValue.init) } else { secrets = [] }
    let now = Int64(entry["now"]?.scalarText ?? "") ?? 0
    let request = saved.inbound(url: saved.url)
    let scheme = preset.scheme(nil)
    guard case .success = scheme.verify(request, url: saved.url, secrets: secrets, now: now) else {
        FileHandle.standardError.write(Data("signature-bench: \(preset.name) vector does not verify\n".utf8))
        exit(1)
    }
    if preset.name == "github" { baselineBody = saved.body }
    rows.append(Row(name: preset.name, bytes: saved.body.count, ns: nanoseconds {
        _ = scheme.verify(request, url: saved.url, secrets: secrets, now: now)
    }))
}

if case let .array(schemes)? = load("custom.json")["schemes"] {
    for item in schemes {
        guard let entry = case1200(item["cases"]), let saved = try? SavedRequest(entry["request"] ?? .null),
              let signature = item["signature"]?.serialized() else { continue }
        let text = #"{"webhooks": [{"name": "bench", "provider": "custom", "signature": \#(signature)}]}"#
        guard let webhook = (try? ConfigLoader.load(text: Array(text.utf8), file: "custom.json"))?.webhooks.first else { continue }
        let request = saved.inbound(url: saved.url)
        let now = Int64(entry["now"]?.scalarText ?? "") ?? 0
        guard case .success = webhook.scheme.verify(request, url: saved.url, secrets: [], now: now) else { continue }
        rows.append(Row(name: "custom " + (item["name"]?.stringValue ?? "?"), bytes: saved.body.count, ns: nanoseconds {
            _ = webhook.scheme.verify(request, url: saved.url, secrets: [], now: now)
        }))
    }
}

let baseline = nanoseconds { _ = Digest.hash(.sha256, baselineBody) }
print("signature verification per request (median of 5 rounds)")
print("scheme".padding(toLength: 44, withPad: " ", startingAt: 0) + "  bytes       ns/op   x sha256")
print("sha256 (baseline)".padding(toLength: 44, withPad: " ", startingAt: 0)
      + String(format: "  %5d  %10.0f   %8.1f", baselineBody.count, baseline, 1.0))
for row in rows {
    print(row.name.padding(toLength: 44, withPad: " ", startingAt: 0)
          + String(format: "  %5d  %10.0f   %8.1f", row.bytes, row.ns, row.ns / baseline))
}
