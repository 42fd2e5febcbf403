import LayeronCrypto

/// Parses the `signature` object of a webhook with provider `"custom"`.
enum SignatureConfigParser {
    static let signatureKeys: Set<String> = [
        "header", "algorithm", "encoding", "prefix", "format", "secret", "signedPayload", "timestamp", "id",
    ]

    static func parseCustomSignature(_ raw: JSONValue, at path: String, tolerance: TimeSpan?,
                                     reader: ConfigReader) -> (SignatureScheme?, [SecretReference]) {
        guard let view = reader.object(raw, at: path, known: signatureKeys) else { return (nil, []) }
        let before = reader.issues.count
        let header = view.string("header", required: true) ?? ""
        let secrets = view.secretReferences("secret", required: true)

        var algorithm = HashAlgorithm.sha256
        if let text = view.string("algorithm", required: true) {
            let known = ["hmac-sha1": HashAlgorithm.sha1, "hmac-sha256": .sha256, "hmac-sha512": .sha512]
            if let a = known[text] {
                algorithm = a
            } else {
                reader.report(view.keyPath("algorithm"), "unknown algorithm \"\(text)\"; expected one of: \(known.keys.sorted().joined(separator: ", "))")
            }
        }
        var encoding = ByteEncoding.hex
        if let text = view.string("encoding") {
            if let e = ByteEncoding(rawValue: text) {
                encoding = e
            } else {
                reader.report(view.keyPath("encoding"), "unknown encoding \"\(text)\"; expected hex, base64 or base64url")
            }
        }
        var format = SignatureHeaderFormat.whole(prefix: view.string("prefix") ?? "")
        if let text = view.string("format") {
            do throws(SchemeDefinitionError) {
                format = try SignatureHeaderFormat(parsingFormat: text)
            } catch {
                reader.report(view.keyPath("format"), error.description)
            }
        }
        var payload = SignedPayloadTemplate.rawBody
        if let text = view.string("signedPayload") {
            do throws(SchemeDefinitionError) {
                payload = try SignedPayloadTemplate(parsing: text)
            } catch {
                reader.report(view.keyPath("signedPayload"), error.description)
            }
        }
        var timestamp: TimestampSource?
        if let text = view.string("timestamp") {
            if text == "format" {
                timestamp = .formatField
            } else if text.hasPrefix("header."), text.count > 7 {
                timestamp = .header(String(text.dropFirst(7)).lowercased())
            } else {
                reader.report(view.keyPath("timestamp"), "\"\(text)\" is not a timestamp source; expected \"format\" or header.<name>")
            }
        } else if case let .fields(_, keys) = format, keys.values.contains(.timestamp) {
            timestamp = .formatField
        }
        if payload.usesTimestamp, timestamp == nil {
            reader.report(view.keyPath("signedPayload"), "uses {timestamp} but nothing provides one; add a {timestamp} field to \"format\" or set \"timestamp\": \"header.<name>\"")
        }
        if timestamp == .formatField, case .whole = format {
            reader.report(view.keyPath("timestamp"), "\"format\" needs a \"format\" with a {timestamp} field")
        }
        let idHeader = view.string("id").map { $0.hasPrefix("header.") ? String($0.dropFirst(7)) : $0 }
        var formatHasID = false
        if case let .fields(_, keys) = format { formatHasID = keys.values.contains(.id) }
        if payload.usesID, idHeader == nil, !formatHasID {
            reader.report(view.keyPath("signedPayload"), "uses {id} but nothing provides one; set \"id\": \"header.<name>\"")
        }
        guard reader.issues.count == before else { return (nil, secrets) }
        let toleranceSeconds = timestamp == nil ? 0 : (tolerance?.seconds ?? 300)
        return (SignatureScheme(header: header, format: format, algorithm: algorithm, encoding: encoding,
                                payload: payload, timestamp: timestamp, idHeader: idHeader,
                                toleranceSeconds: toleranceSeconds), secrets)
    }
}
