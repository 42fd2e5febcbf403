import LayeronCrypto

/// Parses what a webhook says about its signature: the `signature` object of a `"custom"` provider,
/// or a preset's `secret` / `publicKey`, plus the webhook's `url` for schemes that sign it.
enum SignatureConfigParser {
    /// Webhook-level keys this parser reads, beside `secret`, `signature` and `tolerance`.
    static let webhookKeys: Set<String> = ["url", "publicKey"]

    static let signatureKeys: Set<String> = [
        "header", "algorithm", "encoding", "prefix", "format", "separator", "secret", "secretEncoding", "publicKey",
        "signedPayload", "timestamp", "id",
    ]
    static let timestampKeys: Set<String> = ["from", "unit", "tolerance"]

    /// A preset's scheme with the webhook's tolerance, public key and URL; its secrets.
    static func parsePreset(_ preset: ProviderPreset, webhook view: ObjectView, tolerance: TimeSpan?,
                            reader: ConfigReader) -> (SignatureScheme?, [SecretReference]) {
        let before = reader.issues.count
        var scheme = preset.scheme(tolerance?.seconds)
        var secrets: [SecretReference] = []
        if let kind = scheme.algorithm.publicKeyKind {
            scheme.publicKeys = publicKeys(view, kind: kind)
            secrets = view.secretReferences("secret", required: scheme.publicKeys.isEmpty)
            if scheme.publicKeys.isEmpty, secrets.isEmpty, view.raw("secret") == nil {
                reader.report(view.keyPath("publicKey"), "is required for provider \"\(preset.name)\" (or a \"secret\" reference holding the public key)")
            }
        } else {
            if view.raw("publicKey") != nil {
                reader.report(view.keyPath("publicKey"), "provider \"\(preset.name)\" uses a shared secret, not a public key; use \"secret\"")
            }
            secrets = view.secretReferences("secret", required: true)
        }
        scheme.publicURL = publicURL(view)
        guard reader.issues.count == before else { return (nil, secrets) }
        return (scheme, secrets)
    }

    static func parseCustomSignature(_ raw: JSONValue, at path: String, webhook: ObjectView, tolerance: TimeSpan?,
                                     reader: ConfigReader) -> (SignatureScheme?, [SecretReference]) {
        guard let view = reader.object(raw, at: path, known: signatureKeys) else { return (nil, []) }
        if webhook.raw("publicKey") != nil {
            reader.report(webhook.keyPath("publicKey"), "a custom provider takes its public key inside \"signature\"")
        }
        let before = reader.issues.count
        let configuredHeader = view.string("header", required: true)
        if let configuredHeader, let problem = Self.headerNameProblem(configuredHeader) {
            reader.report(view.keyPath("header"), problem)
        }
        let header = configuredHeader ?? ""

        var algorithm = SignatureAlgorithm.hmac(.sha256)
        if let text = view.string("algorithm", required: true) {
            if let a = SignatureAlgorithm.byConfigName[text] {
                algorithm = a
            } else {
                reader.report(view.keyPath("algorithm"), "unknown algorithm \"\(text)\"; expected one of: \(SignatureAlgorithm.byConfigName.keys.sorted().joined(separator: ", "))")
            }
        }
        var encoding = algorithm == .token ? SignatureEncoding.text : .hex
        if let text = view.string("encoding") {
            if let e = SignatureEncoding(rawValue: text) {
                encoding = e
            } else {
                reader.report(view.keyPath("encoding"), "unknown encoding \"\(text)\"; expected \(SignatureEncoding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        if encoding == .text, algorithm != .token {
            reader.report(view.keyPath("encoding"), "\"text\" compares the header with the secret as it is, which is algorithm \"token\"; a \(algorithm) signature is bytes sent as hex, base64 or base64url")
        }

        var secrets: [SecretReference] = []
        var keys: [PublicKey] = []
        var secretFormat = SecretFormat.text
        if let kind = algorithm.publicKeyKind {
            keys = publicKeys(view, kind: kind)
            secrets = view.secretReferences("secret", required: false)
            if keys.isEmpty, secrets.isEmpty, view.raw("publicKey") == nil, view.raw("secret") == nil {
                reader.report(view.keyPath("publicKey"), "is required for \(algorithm): the provider's public key as PEM, hex or base64 (or a \"secret\" reference holding it)")
            }
            if view.raw("secretEncoding") != nil {
                reader.report(view.keyPath("secretEncoding"), "does not apply to \(algorithm), which verifies with a public key")
            }
        } else {
            secrets = view.secretReferences("secret", required: true)
            if view.raw("publicKey") != nil {
                reader.report(view.keyPath("publicKey"), "\(algorithm) uses a shared secret; a public key needs ed25519, ecdsa-p256-sha256 or rsa-sha256")
            }
            if let text = view.string("secretEncoding") {
                if let f = SecretFormat(rawValue: text) {
                    secretFormat = f
                } else {
                    reader.report(view.keyPath("secretEncoding"), "unknown secret encoding \"\(text)\"; expected \(SecretFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            // A token is compared with the secret's bytes: decoded from hex or base64, they are not
            // the text the header carries, so no request could match.
            if algorithm == .token, secretFormat != .text, encoding == .text {
                reader.report(view.keyPath("secretEncoding"), "\"\(secretFormat.rawValue)\" decodes the secret to bytes, which a token header sent as text never equals; set \"encoding\": \"\(secretFormat.rawValue)\" too (the header then carries the token in that encoding), or drop \"secretEncoding\"")
            }
        }

        var separator: Character?
        if let text = view.string("separator") {
            if text.count == 1 { separator = text.first } else {
                reader.report(view.keyPath("separator"), "\"\(text)\" must be a single character, like \",\" or \" \"")
            }
        }
        var format = SignatureHeaderFormat.whole(prefix: view.string("prefix") ?? "")
        if let text = view.string("format") {
            if view.raw("prefix") != nil {
                reader.report(view.keyPath("prefix"), "cannot be combined with \"format\"; write the prefix into the format, like \"sha256={signature}\"")
            }
            do throws(SchemeDefinitionError) {
                format = try SignatureHeaderFormat(parsingFormat: text, separator: separator)
            } catch {
                reader.report(view.keyPath("format"), error.description)
            }
        } else if separator != nil {
            reader.report(view.keyPath("separator"), "only applies with a \"format\" (between the fields a one-field format like \"v1,{signature}\" repeats)")
        }

        var payload = SignedPayloadTemplate.rawBody
        if let text = view.string("signedPayload") {
            do throws(SchemeDefinitionError) {
                payload = try SignedPayloadTemplate(parsing: text)
            } catch {
                reader.report(view.keyPath("signedPayload"), error.description)
            }
            if algorithm == .token {
                reader.report(view.keyPath("signedPayload"), "does not apply to algorithm \"token\", which compares the header with the secret")
            }
        }

        let timestamp = timestampRule(view, format: format, tolerance: tolerance, reader: reader)
        if payload.usesTimestamp, timestamp == nil {
            reader.report(view.keyPath("signedPayload"), "uses {timestamp} but nothing provides one; add a {timestamp} field to \"format\" or set \"timestamp\": \"header.<name>\"")
        }
        if format.hasTimestampField, timestamp?.source != .formatField {
            reader.report(view.keyPath("format"), "has a {timestamp} field but \"timestamp\" reads it from \(timestamp?.source.description ?? "nowhere"); drop one")
        }

        var id: ValueSource?
        if let text = view.string("id") {
            id = ValueSource(parsing: text)
            if id == nil { reader.report(view.keyPath("id"), "\"\(text)\" is not a source; expected \"format\", header.<name> or body.<path>") }
        } else if format.hasIDField {
            id = .formatField
        }
        if format.hasIDField, let id, id != .formatField {
            reader.report(view.keyPath("format"), "has an {id} field but \"id\" reads it from \(id); drop one")
        }
        if id == .formatField, !format.hasIDField {
            reader.report(view.keyPath("id"), "\"format\" needs a \"format\" with an {id} field")
        }
        if payload.usesID, id == nil {
            reader.report(view.keyPath("signedPayload"), "uses {id} but nothing provides one; set \"id\": \"header.<name>\"")
        }
        guard reader.issues.count == before else { return (nil, secrets) }
        return (SignatureScheme(signature: .header(header.lowercased()), format: format, algorithm: algorithm,
                                encoding: encoding, secretFormat: secretFormat, payload: payload, timestamp: timestamp,
                                id: id, publicKeys: keys, publicURL: publicURL(webhook)), secrets)
    }

    /// Why `name` cannot be a header's name, or nil: a name is one or more of RFC 9110's token
    /// characters (section 5.6.2). No request could carry any other, so a webhook with one would
    /// refuse every request as unsigned.
    static func headerNameProblem(_ name: String) -> String? {
        let example = "like \"x-signature\""
        if name.isEmpty { return "is empty; name the header the signature arrives in, \(example)" }
        guard HTTPToken.isHeaderName(name) else {
            return "\"\(name)\" is not a header name; a header name is letters, digits and !#$%&'*+-.^_`|~ (RFC 9110), \(example)"
        }
        return RequestHeadLimit.headerNameProblem(name)
    }

    /// `"timestamp"`: `"format"`, `"header.NAME"`, `"body.PATH"` or `{"from", "unit", "tolerance"}`; a
    /// format with a {timestamp} field implies `"format"`. Tolerance defaults to 5 minutes.
    private static func timestampRule(_ view: ObjectView, format: SignatureHeaderFormat, tolerance: TimeSpan?,
                                      reader: ConfigReader) -> TimestampRule? {
        var sourceText: String?
        var unit = TimestampRule.Unit.seconds
        var innerTolerance: TimeSpan?
        var sourcePath = view.keyPath("timestamp")
        switch view.raw("timestamp") {
        case nil:
            guard format.hasTimestampField else { return nil }
            sourceText = "format"
        case .string?:
            sourceText = view.string("timestamp")
        case let raw?:
            guard let inner = reader.object(raw, at: view.keyPath("timestamp"), known: timestampKeys) else { return nil }
            sourceText = inner.string("from") ?? (format.hasTimestampField ? "format" : nil)
            if sourceText == nil { reader.report(inner.keyPath("from"), "is required: \"format\", header.<name> or body.<path>") }
            sourcePath = inner.keyPath("from")
            if let text = inner.string("unit") {
                if let u = TimestampRule.Unit(rawValue: text) { unit = u } else {
                    reader.report(inner.keyPath("unit"), "unknown unit \"\(text)\"; expected \(TimestampRule.Unit.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }
            innerTolerance = Self.tolerance(in: inner)
            if innerTolerance != nil, tolerance != nil {
                reader.report(inner.keyPath("tolerance"), "is also set as the webhook's \"tolerance\"; keep one")
            }
        }
        guard let sourceText else { return nil }
        guard let source = ValueSource(parsing: sourceText) else {
            reader.report(sourcePath, "\"\(sourceText)\" is not a timestamp source; expected \"format\", header.<name> or body.<path>")
            return nil
        }
        if source == .formatField, !format.hasTimestampField {
            reader.report(sourcePath, "\"format\" needs a \"format\" with a {timestamp} field")
        }
        let seconds = (innerTolerance ?? tolerance)?.seconds ?? 300
        return TimestampRule(source, unit: unit, toleranceSeconds: seconds)
    }

    /// The `"tolerance"` of `view` (the webhook, or its signature's `timestamp`). Timestamps are whole
    /// seconds and a tolerance is kept as whole seconds, so under 1s it would be 0 and refuse nearly
    /// every request.
    static func tolerance(in view: ObjectView) -> TimeSpan? {
        guard let span = view.duration("tolerance") else { return nil }
        if span.milliseconds < 1000 {
            view.reader.report(view.keyPath("tolerance"), "must be at least 1s: timestamps are whole seconds, so a shorter tolerance would refuse every request")
        }
        return span
    }

    /// `"publicKey"`: one key or a list (rotation), each PEM, hex or base64; checked now so that a key
    /// that cannot work is refused at load.
    private static func publicKeys(_ view: ObjectView, kind: PublicKey.Kind) -> [PublicKey] {
        guard let raw = view.raw("publicKey") else { return [] }
        var texts: [(String, String)] = []
        switch raw {
        case let .string(s): texts = [(view.keyPath("publicKey"), s)]
        case let .array(items):
            for (i, item) in items.enumerated() {
                guard case let .string(s) = item else {
                    view.reader.report("\(view.keyPath("publicKey"))[\(i)]", "expected a key as a string, found \(item.kindName)")
                    continue
                }
                texts.append(("\(view.keyPath("publicKey"))[\(i)]", s))
            }
            if items.isEmpty { view.reader.report(view.keyPath("publicKey"), "the list of public keys is empty") }
        default:
            view.reader.report(view.keyPath("publicKey"), "expected a key as a string (PEM, hex or base64) or a list of them, found \(raw.kindName)")
        }
        return texts.compactMap { path, text in
            do throws(PublicKeyError) {
                return try PublicKey(text: text, expected: kind)
            } catch {
                view.reader.report(path, "not a valid \(kind.displayName.dropFirst(3)) public key: \(error)")
                return nil
            }
        }
    }

    /// The webhook's `"url"`: its public address, for schemes that sign the URL behind a proxy.
    private static func publicURL(_ view: ObjectView) -> String? {
        guard let text = view.string("url") else { return nil }
        guard text.hasPrefix("https://") || text.hasPrefix("http://"), !text.contains("?"), !text.contains(" ") else {
            view.reader.report(view.keyPath("url"), "\"\(text)\" must be an http(s) URL without a query, like \"https://hooks.example.com/webhooks/twilio\"")
            return nil
        }
        return text
    }
}
