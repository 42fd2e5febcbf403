import LayeronCrypto

/// Why a request's signature was refused. Messages name the rule that failed and never a secret.
public enum VerificationFailure: Error, Equatable, CustomStringConvertible, Sendable {
    case missingHeader(String)
    case malformedHeader(String, reason: String)
    case missingTimestamp
    case timestampOutsideTolerance(skewSeconds: Int64, toleranceSeconds: Int64)
    case signatureMismatch

    public var description: String {
        switch self {
        case let .missingHeader(name): return "missing signature header \(name)"
        case let .malformedHeader(name, reason): return "malformed \(name) header: \(reason)"
        case .missingTimestamp: return "no timestamp in the signature"
        case let .timestampOutsideTolerance(skew, tolerance):
            return "timestamp outside tolerance (\(skew) s > \(tolerance) s)"
        case .signatureMismatch: return "no signature matches"
        }
    }

    /// A short stable label for metrics.
    public var code: String {
        switch self {
        case .missingHeader: return "missing_header"
        case .malformedHeader: return "malformed_header"
        case .missingTimestamp: return "missing_timestamp"
        case .timestampOutsideTolerance: return "timestamp"
        case .signatureMismatch: return "mismatch"
        }
    }
}

/// What is signed: the raw body, or a template over parts of the request (`"{timestamp}.{body}"`).
public struct SignedPayloadTemplate: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal([UInt8])
        case body, timestamp, id, method, url
        case header(String)
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
                if name.hasPrefix("header:"), name.count > 7 {
                    parts.append(.header(name.dropFirst(7).lowercased()))
                } else {
                    throw .invalid("unknown placeholder {\(name)} in signed payload template; expected {body}, {timestamp}, {id}, {method}, {url} or {header:NAME}")
                }
            }
            rest = rest[rest.index(after: close)...]
        }
        if !rest.isEmpty { parts.append(.literal(Array(rest.utf8))) }
        guard !parts.isEmpty else { throw .invalid("the signed payload template is empty") }
        self.parts = parts
    }

    public var usesTimestamp: Bool { parts.contains(.timestamp) }
    public var usesID: Bool { parts.contains(.id) }
}

/// A scheme definition that cannot work, found when config is loaded.
public enum SchemeDefinitionError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self { case let .invalid(s): return s }
    }
}

/// How the signature header is laid out.
public enum SignatureHeaderFormat: Sendable, Hashable {
    /// The whole header is one signature, after an optional prefix such as `sha256=`.
    case whole(prefix: String)
    /// Key/value fields such as Stripe's `t=…,v1=…,v1=…`: `separator` between fields, `=` inside one.
    /// A key mapped to `.signature` may repeat; every value is a candidate.
    case fields(separator: Character, keys: [String: FieldRole])

    public enum FieldRole: String, Sendable, Hashable {
        case signature, timestamp, id
    }

    /// Parses a description like `"t={timestamp},v1={signature}"`.
    public init(parsingFormat text: String) throws(SchemeDefinitionError) {
        guard let firstClose = text.firstIndex(of: "}") else {
            throw .invalid("format \"\(text)\" has no {signature} field")
        }
        let after = text[text.index(after: firstClose)...]
        let separator = after.first ?? ","
        var keys: [String: FieldRole] = [:]
        for item in text.split(separator: separator) {
            let trimmed = item.trimmingSpaces
            guard let eq = trimmed.firstIndex(of: "="), trimmed.hasSuffix("}"),
                  trimmed[trimmed.index(after: eq)...].hasPrefix("{") else {
                throw .invalid("format field \"\(trimmed)\" is not of the form key={signature|timestamp|id}")
            }
            let key = String(trimmed[..<eq])
            let roleName = trimmed[trimmed.index(eq, offsetBy: 2)..<trimmed.index(before: trimmed.endIndex)]
            guard let role = FieldRole(rawValue: String(roleName)) else {
                throw .invalid("format field \"\(trimmed)\": unknown role {\(roleName)}; expected signature, timestamp or id")
            }
            keys[key] = role
        }
        guard keys.values.contains(.signature) else {
            throw .invalid("format \"\(text)\" has no {signature} field")
        }
        self = .fields(separator: separator, keys: keys)
    }
}

/// Where a timed scheme's timestamp comes from, when not from a header field.
public enum TimestampSource: Sendable, Hashable {
    case formatField
    case header(String)
}

/// One signature scheme as data: the engine below verifies any scheme so described, built-in provider
/// presets and users' custom schemes alike.
public struct SignatureScheme: Sendable, Hashable {
    public var header: String
    public var format: SignatureHeaderFormat
    public var algorithm: HashAlgorithm
    public var encoding: ByteEncoding
    public var payload: SignedPayloadTemplate
    public var timestamp: TimestampSource?
    public var idHeader: String?
    /// Zero for schemes without a timestamp.
    public var toleranceSeconds: Int64

    public init(header: String, format: SignatureHeaderFormat, algorithm: HashAlgorithm, encoding: ByteEncoding,
                payload: SignedPayloadTemplate, timestamp: TimestampSource? = nil, idHeader: String? = nil,
                toleranceSeconds: Int64 = 0) {
        self.header = header.lowercased()
        self.format = format
        self.algorithm = algorithm
        self.encoding = encoding
        self.payload = payload
        self.timestamp = timestamp
        self.idHeader = idHeader?.lowercased()
        self.toleranceSeconds = toleranceSeconds
    }

    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`, HMAC-SHA256 of `"<t>.<body>"` keyed with
    /// the `whsec_…` secret exactly as shown in the dashboard.
    public static func stripe(toleranceSeconds: Int64 = 300) -> SignatureScheme {
        SignatureScheme(header: "stripe-signature",
                        format: .fields(separator: ",", keys: ["t": .timestamp, "v1": .signature]),
                        algorithm: .sha256, encoding: .hex,
                        payload: SignedPayloadTemplate(parts: [.timestamp, .literal([UInt8(ascii: ".")]), .body]),
                        timestamp: .formatField, toleranceSeconds: toleranceSeconds)
    }

    /// Checks `request` against every secret (several during a rotation); `now` is Unix seconds.
    public func verify(_ request: InboundRequest, url: String, secrets: [SecretValue], now: Int64) -> Result<Void, VerificationFailure> {
        guard let headerValue = request.header(header) else { return .failure(.missingHeader(header)) }
        var candidates: [[UInt8]] = []
        var timestampText: String?
        var idText = idHeader.flatMap { request.header($0) }

        switch format {
        case let .whole(prefix):
            guard headerValue.hasPrefix(prefix) else {
                return .failure(.malformedHeader(header, reason: "expected the prefix \"\(prefix)\""))
            }
            guard let decoded = encoding.decode(headerValue.dropFirst(prefix.count).trimmingSpaces) else {
                return .failure(.malformedHeader(header, reason: "signature is not \(encoding.rawValue)"))
            }
            candidates.append(decoded)
        case let .fields(separator, keys):
            for field in headerValue.split(separator: separator) {
                let item = field.trimmingSpaces
                guard let eq = item.firstIndex(of: "=") else { continue }
                let key = String(item[..<eq])
                let value = item[item.index(after: eq)...]
                switch keys[key] {
                case .signature:
                    // An undecodable candidate cannot match; others may still.
                    if let decoded = encoding.decode(value), !decoded.isEmpty { candidates.append(decoded) }
                case .timestamp: timestampText = String(value)
                case .id: idText = String(value)
                case nil: continue
                }
            }
            if candidates.isEmpty {
                return .failure(.malformedHeader(header, reason: "no \(encoding.rawValue) signature field"))
            }
        }

        if case let .header(name)? = timestamp { timestampText = request.header(name) }
        if timestamp != nil {
            guard let text = timestampText else { return .failure(.missingTimestamp) }
            guard let ts = Int64(text) else {
                return .failure(.malformedHeader(header, reason: "timestamp \"\(text.prefix(20))\" is not a Unix time"))
            }
            if toleranceSeconds > 0 {
                // Both directions: a far-future timestamp would otherwise stay replayable for a long time.
                let skew = ts > now ? ts - now : now - ts
                if skew > toleranceSeconds {
                    return .failure(.timestampOutsideTolerance(skewSeconds: skew, toleranceSeconds: toleranceSeconds))
                }
            }
        }

        let message = signedPayload(request, url: url, timestamp: timestampText ?? "", id: idText ?? "")
        var matched = false
        for secret in secrets {
            let expected = HMAC.authenticate(algorithm, key: secret.bytes, message: message)
            for candidate in candidates where ConstantTime.equals(expected, candidate) {
                matched = true
            }
        }
        return matched ? .success(()) : .failure(.signatureMismatch)
    }

    /// The bytes the provider signed for this request.
    public func signedPayload(_ request: InboundRequest, url: String, timestamp: String, id: String) -> [UInt8] {
        if payload == .rawBody { return request.body }
        var out: [UInt8] = []
        out.reserveCapacity(request.body.count + 64)
        for part in payload.parts {
            switch part {
            case let .literal(bytes): out += bytes
            case .body: out += request.body
            case .timestamp: out += Array(timestamp.utf8)
            case .id: out += Array(id.utf8)
            case .method: out += Array(request.method.utf8)
            case .url: out += Array(url.utf8)
            case let .header(name): out += Array((request.header(name) ?? "").utf8)
            }
        }
        return out
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
