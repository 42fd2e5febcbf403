import LayeronCrypto

/// One signature scheme as data: the engine below verifies any scheme so described, built-in provider
/// presets and users' custom schemes alike.
public struct SignatureScheme: Sendable, Hashable {
    /// Where the signature is: a header almost always, a JSON body field for Mailgun.
    public var signature: FieldSource
    public var format: SignatureHeaderFormat
    public var algorithm: SignatureAlgorithm
    public var encoding: SignatureEncoding
    /// How a shared secret becomes key bytes (HMAC and token schemes).
    public var secretFormat: SecretFormat
    public var payload: SignedPayloadTemplate
    /// Nil for schemes without a timestamp.
    public var timestamp: TimestampRule?
    /// Where `{id}` comes from.
    public var id: ValueSource?
    /// Public keys written in config, parsed at load. Secret values of an asymmetric scheme are parsed
    /// as public keys too, so a key may also live in the secrets store.
    public var publicKeys: [PublicKey]
    /// Twilio: when the URL carries `bodySHA256`, the body's SHA-256 must match it.
    public var checksBodySHA256Query: Bool
    /// Twilio signs the URL inconsistently with and without the default port: accept both.
    public var acceptsURLWithDefaultPort: Bool
    /// A handshake the server answers itself once the request verified (Zoom, Slack, Discord, Twitch).
    public var challenge: ChallengeResponder?
    /// The public URL of the endpoint (scheme, host and path) for schemes that sign `{url}`, when the
    /// server sits behind a proxy that changes it. The request's query string is appended.
    public var publicURL: String?
    /// The status a request that fails verification gets: 400, unless the provider's own setup check
    /// expects another (Xero's "Intent to Receive" wants 401).
    public var rejectionStatus = 400
    /// Answer `HEAD` on the endpoint with 200: Trello probes the callback URL that way before it
    /// creates a webhook.
    public var answersHeadProbe = false

    public init(signature: FieldSource, format: SignatureHeaderFormat = .whole(prefix: ""),
                algorithm: SignatureAlgorithm, encoding: SignatureEncoding, secretFormat: SecretFormat = .text,
                payload: SignedPayloadTemplate = .rawBody, timestamp: TimestampRule? = nil, id: ValueSource? = nil,
                publicKeys: [PublicKey] = [], checksBodySHA256Query: Bool = false,
                acceptsURLWithDefaultPort: Bool = false, challenge: ChallengeResponder? = nil, publicURL: String? = nil) {
        self.signature = signature
        self.format = format
        self.algorithm = algorithm
        self.encoding = encoding
        self.secretFormat = secretFormat
        self.payload = payload
        self.timestamp = timestamp
        self.id = id
        self.publicKeys = publicKeys
        self.checksBodySHA256Query = checksBodySHA256Query
        self.acceptsURLWithDefaultPort = acceptsURLWithDefaultPort
        self.challenge = challenge
        self.publicURL = publicURL
    }

    /// A scheme whose signature is in the header `header`.
    public init(header: String, format: SignatureHeaderFormat = .whole(prefix: ""), algorithm: SignatureAlgorithm,
                encoding: SignatureEncoding, secretFormat: SecretFormat = .text, payload: SignedPayloadTemplate = .rawBody,
                timestamp: TimestampRule? = nil, id: ValueSource? = nil, challenge: ChallengeResponder? = nil) {
        self.init(signature: .header(header.lowercased()), format: format, algorithm: algorithm, encoding: encoding,
                  secretFormat: secretFormat, payload: payload, timestamp: timestamp, id: id, challenge: challenge)
    }

    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`, HMAC-SHA256 of `"<t>.<body>"` keyed with
    /// the `whsec_…` secret exactly as shown in the dashboard.
    public static func stripe(toleranceSeconds: Int64 = 300) -> SignatureScheme {
        SignatureScheme(header: "stripe-signature",
                        format: .fields(separator: ",", assignment: "=", keys: ["t": .timestamp, "v1": .signature]),
                        algorithm: .hmac(.sha256), encoding: .hex, payload: .preset("{timestamp}.{body}"),
                        timestamp: TimestampRule(.formatField, toleranceSeconds: toleranceSeconds))
    }

    /// The same scheme, answering failed verifications with `status`.
    public func rejecting(with status: Int) -> SignatureScheme {
        var copy = self
        copy.rejectionStatus = status
        return copy
    }

    /// The same scheme, answering `HEAD` probes of the endpoint with 200.
    public func answeringHeadProbes() -> SignatureScheme {
        var copy = self
        copy.answersHeadProbe = true
        return copy
    }

    /// The same scheme with another tolerance; schemes without a timestamp are unchanged.
    public func withTolerance(_ seconds: Int64?) -> SignatureScheme {
        guard let seconds, timestamp != nil else { return self }
        var copy = self
        copy.timestamp?.toleranceSeconds = seconds
        return copy
    }

    /// True when `verify` reads the `url` it is given: the scheme signs the URL (`{url}`, Twilio's
    /// form parameters) or checks its `bodySHA256`, and no `publicURL` replaces it. The caller can
    /// then skip building the URL for schemes that never look at it (Stripe and most presets).
    public var usesRequestURL: Bool {
        guard publicURL == nil else { return false }
        return checksBodySHA256Query || payload.parts.contains { $0 == .url || $0 == .sortedFormParameters }
    }

    /// Checks `request` against every secret (several during a rotation) and configured public key.
    /// `url` is the URL the request arrived at, used unless `publicURL` is set; `now` is Unix seconds.
    /// Never throws and never traps on malformed input: every failure is a `VerificationFailure`.
    public func verify(_ request: InboundRequest, url: String, secrets: [SecretValue], now: Int64) -> Result<VerifiedSignature, VerificationFailure> {
        let needsBody = signature.isBodyField || payload.usesBodyField
            || timestamp.map { $0.source.isBodyField } == true || id.map { $0.isBodyField } == true
        let body = needsBody ? try? JSONParser.parse(request.body) : nil
        guard let signatureText = signature.value(in: request, body: body) else {
            return .failure(.missingSignature(signature))
        }
        let parsed: ParsedSignatureHeader
        switch format.parse(signatureText, source: signature, encoding: encoding) {
        case let .success(p): parsed = p
        case let .failure(failure): return .failure(failure)
        }

        var timestampText = ""
        if let timestamp {
            let located = timestamp.source == .formatField ? parsed.timestamp : timestamp.source.value(in: request, body: body)
            guard let text = located, !text.isEmpty else { return .failure(.missingTimestamp(timestamp.source, signature: signature)) }
            if let failure = timestamp.check(text, now: now) { return .failure(failure) }
            timestampText = text
        }
        var idText = ""
        if let id {
            let located = id == .formatField ? parsed.id : id.value(in: request, body: body)
            guard let text = located, !text.isEmpty else { return .failure(.missingID) }
            idText = text
        }

        let signedURL = publicURL.map { request.query.isEmpty ? $0 : "\($0)?\(request.query)" } ?? url
        if checksBodySHA256Query, let expected = FormParameters.queryValue("bodySHA256", in: signedURL) {
            let actual = ByteEncoding.hex.encode(Digest.hash(.sha256, request.body))
            guard ConstantTime.equals(Array(actual.utf8), Array(expected.lowercased().utf8)) else {
                return .failure(.bodyDigestMismatch)
            }
        }
        var urls = [signedURL]
        if acceptsURLWithDefaultPort, let other = Self.togglingDefaultPort(signedURL) { urls.append(other) }
        let signed = SignedMessage(payload: payload, request: request, timestamp: timestampText, id: idText, body: body)
        return match(parsed.candidates, urls: urls, signed: signed, secrets: secrets)
    }

    /// What the provider signed, for each URL the request may have been signed at: fed straight into
    /// a MAC, or rendered for the public-key checks.
    private struct SignedMessage {
        let payload: SignedPayloadTemplate
        let request: InboundRequest
        let timestamp: String
        let id: String
        let body: JSONValue?

        func feed(url: String, into input: inout HMACInput) {
            payload.feed(request, url: url, timestamp: timestamp, id: id, body: body, into: &input)
        }

        func render(url: String) -> [UInt8] {
            payload.render(request, url: url, timestamp: timestamp, id: id, body: body)
        }
    }

    /// Why `secret` can never verify a request of this scheme (a Standard Webhooks secret that is not
    /// base64, a public key that does not parse), or nil when it can be used. Never quotes the value:
    /// config checks and reloads report it by the reference's name.
    public func unusableReason(_ secret: SecretValue) -> String? {
        switch algorithm {
        case .hmac, .token:
            return secretFormat.keyBytes(secret) == nil ? secretFormat.refusal : nil
        case .ed25519, .ecdsaP256SHA256, .rsaSHA256:
            do throws(PublicKeyError) {
                _ = try PublicKey.cached(text: secret.text, expected: algorithm.publicKeyKind ?? .ed25519)
                return nil
            } catch {
                // Read after the secret's name: "secret S is not a usable … public key: <why>".
                switch error {
                case .wrongKind: return error.description
                case let .unreadable(why): return "is not a usable \((algorithm.publicKeyKind ?? .ed25519).displayName.dropFirst(3)) public key: \(why)"
                }
            }
        }
    }

    private func match(_ candidates: [[UInt8]], urls: [String], signed: SignedMessage, secrets: [SecretValue]) -> Result<VerifiedSignature, VerificationFailure> {
        // A secret that cannot be used is skipped so that rotation keeps working; it is reported only
        // when nothing usable is left, because then no request can ever verify.
        var unusable: String?
        var usable = 0
        switch algorithm {
        case let .hmac(hash):
            for (index, secret) in secrets.enumerated() {
                guard let key = secretFormat.keyBytes(secret) else {
                    unusable = "secret \(index + 1) \(secretFormat.refusal)"
                    continue
                }
                usable += 1
                for url in urls {
                    let expected = HMAC.authenticate(hash, key: key) { signed.feed(url: url, into: &$0) }
                    if candidates.contains(where: { ConstantTime.equals(expected, $0) }) {
                        return .success(VerifiedSignature(secretIndex: index))
                    }
                }
            }
        case .token:
            for (index, secret) in secrets.enumerated() {
                guard let key = secretFormat.keyBytes(secret) else {
                    unusable = "secret \(index + 1) \(secretFormat.refusal)"
                    continue
                }
                usable += 1
                if candidates.contains(where: { ConstantTime.equals(key, $0) }) {
                    return .success(VerifiedSignature(secretIndex: index))
                }
            }
        case .ed25519, .ecdsaP256SHA256, .rsaSHA256:
            var keys = publicKeys.map { (key: $0, secretIndex: Int?.none) }
            for (index, secret) in secrets.enumerated() {
                do throws(PublicKeyError) {
                    keys.append((try PublicKey.cached(text: secret.text, expected: algorithm.publicKeyKind ?? .ed25519), index))
                } catch {
                    unusable = "secret \(index + 1) \(error)"
                }
            }
            usable = keys.count
            let messages = urls.map(signed.render)
            for (key, index) in keys {
                for message in messages where candidates.contains(where: { key.verifies($0, message: message) }) {
                    return .success(VerifiedSignature(secretIndex: index))
                }
            }
        }
        if usable == 0, let unusable { return .failure(.unusableKey(unusable)) }
        return .failure(.signatureMismatch)
    }

    /// `https://host/path` ↔ `https://host:443/path` (and 80 for http); nil when another port is named.
    static func togglingDefaultPort(_ url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let defaultPort = url.hasPrefix("https") ? ":443" : ":80"
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if authority.hasSuffix(defaultPort) {
            return String(url[..<schemeEnd.upperBound]) + authority.dropLast(defaultPort.count) + rest[authorityEnd...]
        }
        if authority.contains(":") { return nil }
        return String(url[..<schemeEnd.upperBound]) + authority + defaultPort + rest[authorityEnd...]
    }
}

/// A request that verified, and which configured secret verified it (nil for a key written in config),
/// so that a challenge answer uses the same secret during a rotation.
public struct VerifiedSignature: Sendable, Equatable {
    public let secretIndex: Int?
}

extension FieldSource {
    var isBodyField: Bool { if case .body = self { true } else { false } }
}

extension ValueSource {
    var isBodyField: Bool { if case let .field(source) = self { source.isBodyField } else { false } }
}
