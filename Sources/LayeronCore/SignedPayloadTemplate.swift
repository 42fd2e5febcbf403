import LayeronCrypto

/// What is signed: the raw body, or a template over parts of the request (`"{timestamp}.{body}"`).
public struct SignedPayloadTemplate: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal([UInt8])
        case body, timestamp, id, method, url
        /// A header's value or a JSON body field's text (`{header:NAME}`, `{body:a.b}`).
        case field(FieldSource)
        /// Twilio's rule, which no template can say: the form parameters sorted by name, each name
        /// followed by its values sorted; nothing when the URL carries `bodySHA256` (JSON bodies).
        case sortedFormParameters
    }

    public let parts: [Part]

    public static let rawBody = SignedPayloadTemplate(parts: [.body])

    public init(parts: [Part]) { self.parts = parts }

    /// Parses `"rawBody"` or a template; the error names the placeholder that is not known.
    public init(parsing text: String) throws(SchemeDefinitionError) {
        if text == "rawBody" {
            self = .rawBody
            return
        }
        var parts: [Part] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            if open > rest.startIndex { parts.append(.literal(Array(rest[..<open].utf8))) }
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw .invalid("unclosed '{' in signed payload template \"\(text)\"")
            }
            let name = rest[rest.index(after: open)..<close]
            switch name {
            case "body": parts.append(.body)
            case "timestamp": parts.append(.timestamp)
            case "id": parts.append(.id)
            case "method": parts.append(.method)
            case "url": parts.append(.url)
            default:
                if name.hasPrefix("header:"), name.count > 7,
                   let source = FieldSource(parsing: "header." + name.dropFirst(7)) {
                    parts.append(.field(source))
                } else if name.hasPrefix("body:"), name.count > 5,
                          let source = FieldSource(parsing: "body." + name.dropFirst(5)) {
                    parts.append(.field(source))
                } else {
                    throw .invalid("unknown placeholder {\(name)} in signed payload template; expected {body}, {timestamp}, {id}, {method}, {url}, {header:NAME} or {body:PATH}")
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(Array(rest.utf8))) }
        guard !parts.isEmpty else { throw .invalid("the signed payload template is empty") }
        self.parts = parts
    }

    /// A template written in a preset; presets are tested, so a bad one is a programming error.
    static func preset(_ text: String) -> SignedPayloadTemplate {
        do { return try SignedPayloadTemplate(parsing: text) } catch { preconditionFailure("preset template \(text): \(error)") }
    }

    public var usesTimestamp: Bool { parts.contains(.timestamp) }
    public var usesID: Bool { parts.contains(.id) }
    var usesBodyField: Bool { parts.contains { if case .field(.body) = $0 { true } else { false } } }

    /// The bytes the provider signed, given the values the scheme located.
    func render(_ request: InboundRequest, url: String, timestamp: String, id: String, body: JSONValue?) -> [UInt8] {
        if self == .rawBody { return request.body }
        var input = HMACInput.collecting(reservingCapacity: request.body.count + 64)
        feed(request, url: url, timestamp: timestamp, id: id, body: body, into: &input)
        return input.collected
    }

    /// Hands the signed bytes to `input` part by part, so that a MAC is computed over them without
    /// copying the body into one message first.
    func feed(_ request: InboundRequest, url: String, timestamp: String, id: String, body: JSONValue?, into input: inout HMACInput) {
        for part in parts {
            switch part {
            case let .literal(bytes): input.update(bytes)
            case .body: input.update(request.body)
            case .timestamp: input.update(timestamp)
            case .id: input.update(id)
            case .method: input.update(request.method)
            case .url: input.update(url)
            case let .field(.header(name)) where !request.invalidUTF8HeaderValues.isEmpty:
                // The sender signed the bytes it sent, not their U+FFFD repair.
                if let bytes = request.invalidUTF8Bytes(ofHeader: name) {
                    input.update(bytes)
                } else {
                    input.update(request.header(name) ?? "")
                }
            case let .field(source): input.update(source.value(in: request, body: body) ?? "")
            case .sortedFormParameters: input.update(FormParameters.twilioConcatenation(body: request.body, url: url))
            }
        }
    }
}
