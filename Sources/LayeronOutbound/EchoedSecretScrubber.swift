import LayeronCore

/// Cuts a destination's secret values out of what its receiver answered, before an attempt's
/// response headers and body snippet are recorded. Debug receivers and error pages echo the request's
/// headers back, in a header or in the body; the stored answer is shown to the admin API's read
/// scope, which must never see a credential that the request's own recorded headers hide.
///
/// Each value is looked for as sent and as a JSON string would quote it (`\"`, `\\`, and `\/` as
/// some encoders write a slash), since echoed headers are often a JSON object. Other encodings
/// (percent, base64, HTML entities) are not recognised.
public struct EchoedSecretScrubber: Sendable {
    /// Values shorter than this are not looked for: a short value would turn up by chance in
    /// answers that never saw it and redact them to noise, and a credential that short protects
    /// nothing anyway.
    public static let minimumBytes = 8
    public static let replacement = Array("<redacted>".utf8)

    /// What is replaced, longest first, so that a whole value goes before a part of it.
    private let needles: [[UInt8]]

    /// `headerValues` are the resolved values of the destination's secret headers; for a value with
    /// an authentication scheme (`Bearer <token>`) the credential after the scheme is looked for on
    /// its own too. `signingSecrets` are looked for whole (`whsec_…`) and without their prefix: never
    /// sent, but the receiver holds them too, and a debug page may print its configuration.
    public init(headerValues: [String], signingSecrets: [SecretValue]) {
        var values: [[UInt8]] = []
        for value in headerValues {
            values.append(Array(value.utf8))
            if let space = value.firstIndex(of: " ") {
                values.append(Array(value[value.index(after: space)...].drop(while: { $0 == " " }).utf8))
            }
        }
        for secret in signingSecrets {
            values.append(secret.bytes)
            if secret.text.hasPrefix("whsec_") { values.append(Array(secret.bytes.dropFirst("whsec_".count))) }
        }
        var seen = Set<[UInt8]>()
        needles = values.flatMap { [$0, Self.jsonQuoted($0, slash: false), Self.jsonQuoted($0, slash: true)] }
            .filter { $0.count >= Self.minimumBytes && seen.insert($0).inserted }
            .sorted { $0.count > $1.count }
    }

    /// `result` with every occurrence replaced by `<redacted>` in its header values and body snippet.
    /// A snippet cut at `DeliveryLimits.bodyBytes` may end inside a value: a tail of at least
    /// `minimumBytes` that begins a value goes too.
    public func scrub(_ result: DeliveryResult) -> DeliveryResult {
        guard !needles.isEmpty else { return result }
        var scrubbed = result
        scrubbed.headers = result.headers.map { header in
            (header.name, String(decoding: scrub(Array(header.value.utf8), truncated: false), as: UTF8.self))
        }
        scrubbed.bodySnippet = scrub(result.bodySnippet, truncated: result.bodySnippet.count >= DeliveryLimits.bodyBytes)
        return scrubbed
    }

    func scrub(_ bytes: [UInt8], truncated: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        scan: while i < bytes.count {
            let rest = bytes[i...]
            for needle in needles {
                if rest.starts(with: needle) {
                    out += Self.replacement
                    i += needle.count
                    continue scan
                }
                if truncated, rest.count >= Self.minimumBytes, rest.count < needle.count, needle.starts(with: rest) {
                    out += Self.replacement
                    break scan
                }
            }
            out.append(bytes[i])
            i += 1
        }
        return out
    }

    /// `value` as it appears inside a JSON string.
    private static func jsonQuoted(_ value: [UInt8], slash: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for byte in value {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
            case UInt8(ascii: "/") where slash: out += [UInt8(ascii: "\\"), byte]
            default: out.append(byte)
            }
        }
        return out
    }
}
