import LayeronCore
import LayeronCrypto

/// Builds a request that a scheme accepts, from the scheme's own description (header layout,
/// payload template, algorithm, encoding), so the bench needs no per-provider code.
enum SchemeSigner {
    static func sign(_ scheme: SignatureScheme, body: [UInt8], secret: SecretValue, timestamp: Int64) -> InboundRequest {
        let ts = String(timestamp)
        let id = "msg_bench_1"
        var headers: [(name: String, value: String)] = [("content-type", "application/json")]
        if case let .header(name)? = scheme.timestamp { headers.append((name, ts)) }
        if let idHeader = scheme.idHeader { headers.append((idHeader, id)) }
        var request = InboundRequest(method: "POST", path: "/webhooks/bench", host: "localhost", headers: headers, body: body)
        let payload = scheme.signedPayload(request, url: "https://localhost/webhooks/bench", timestamp: ts, id: id)
        let signature = scheme.encoding.encode(HMAC.authenticate(scheme.algorithm, key: secret.bytes, message: payload))
        switch scheme.format {
        case let .whole(prefix):
            request.headers.append((scheme.header, prefix + signature))
        case let .fields(separator, keys):
            let fields = keys.sorted { $0.key < $1.key }.map { key, role in
                switch role {
                case .signature: return "\(key)=\(signature)"
                case .timestamp: return "\(key)=\(ts)"
                case .id: return "\(key)=\(id)"
                }
            }
            request.headers.append((scheme.header, fields.joined(separator: String(separator))))
        }
        return request
    }
}
