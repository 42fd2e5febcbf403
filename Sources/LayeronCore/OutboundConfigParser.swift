/// Parses the top-level `"outbound"` list: the destinations outbound events are delivered to.
enum OutboundConfigParser {
    static let keys: Set<String> = [
        "name", "url", "secret", "events", "headers", "timeout", "retry", "rate", "concurrency", "allow_private", "signatures",
    ]

    /// Headers the delivery sets itself; a destination may not override them. Every `webhook-*` name
    /// is the Standard Webhooks scheme's too (`webhook-version` included), whether sent or not.
    static let reservedHeaders: Set<String> = [
        "content-type", "content-length", "host", "x-hub-signature-256",
    ]

    /// Headers about the connection and the body's framing, which libcurl owns: `Transfer-Encoding:
    /// chunked` from config would frame the body as chunks that a receiver reading Content-Length
    /// takes for an empty body (under a valid signature).
    static let connectionHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect",
    ]

    static func parse(_ raw: JSONValue, reader: ConfigReader, webhooks: [WebhookConfig]) -> [OutboundDestination] {
        guard case let .array(items) = raw else {
            reader.report("outbound", "expected an array of destinations like {\"name\", \"url\", \"secret\"}, found \(raw.kindName)")
            return []
        }
        var out: [OutboundDestination] = []
        var seen: [String: Int] = [:]
        let inbound = Set(webhooks.map(\.name))
        for (i, item) in items.enumerated() {
            let path = "outbound[\(i)]"
            guard let destination = parseOne(item, at: path, reader: reader) else { continue }
            if let first = seen[destination.name] {
                reader.report("\(path).name", "duplicate destination name \"\(destination.name)\" (also outbound[\(first)])")
            } else if inbound.contains(destination.name) {
                reader.report("\(path).name", "\"\(destination.name)\" is already an inbound webhook's name; events of both directions are listed by name, so pick another")
            }
            seen[destination.name] = seen[destination.name] ?? i
            out.append(destination)
        }
        return out
    }

    private static func parseOne(_ value: JSONValue, at path: String, reader: ConfigReader) -> OutboundDestination? {
        guard let view = reader.object(value, at: path, known: keys) else { return nil }
        let issuesBefore = reader.issues.count
        let name = view.slug("name") ?? ""
        let url = view.string("url", required: true) ?? ""
        if !url.isEmpty, let refusal = URLRefusal(url) {
            reader.report(view.keyPath("url"), refusal.message(url))
        }
        let secrets = view.secretReferences("secret", required: true)
        var destination = OutboundDestination(name: name, url: url, secrets: secrets)
        if let raw = view.raw("events") {
            destination.events = patterns(raw, at: view.keyPath("events"), reader: reader)
        }
        if let raw = view.raw("headers") {
            destination.headers = headers(raw, at: view.keyPath("headers"), in: view, reader: reader)
        }
        destination.timeout = view.duration("timeout") ?? destination.timeout
        if destination.timeout.milliseconds == 0 { reader.report(view.keyPath("timeout"), "must be longer than zero") }
        if let raw = view.raw("retry") {
            destination.schedule = schedule(raw, at: view.keyPath("retry"), reader: reader)
        }
        if let text = view.string("rate") {
            if let rate = RateCap(parsing: text) {
                destination.rate = rate
            } else {
                reader.report(view.keyPath("rate"), "invalid rate \"\(text)\"; expected a count per second, minute or hour, like \"50/s\" or \"600/m\"")
            }
        }
        destination.concurrency = view.integer("concurrency", range: 1...1024) ?? destination.concurrency
        switch view.raw("allow_private") {
        case nil: break
        case let .bool(on)?: destination.allowPrivate = on
        case let other?: reader.report(view.keyPath("allow_private"), "expected true or false, found \(other.kindName)")
        }
        if let raw = view.raw("signatures") {
            destination.extraSignatures = extraSignatures(raw, at: view.keyPath("signatures"), reader: reader)
        }
        guard reader.issues.count == issuesBefore else { return nil }
        return destination
    }

    /// Why a destination's URL cannot be delivered to. Checked at load, so that a URL no attempt can
    /// use is refused where the operator sees it rather than failed by every attempt for a day.
    enum URLRefusal {
        case notHTTP
        /// `user:password@host`: refused, and never echoed, since the part before `@` is a secret.
        case credentials
        /// A tab, line break, NUL or other control byte: libcurl cuts the URL at a NUL, so the
        /// request would go to another path.
        case controlCharacter
        /// A space, which no URL holds (RFC 3986) and libcurl refuses.
        case space
        case port

        init?(_ url: String) {
            let lower = url.lowercased()
            guard let rest = ["https://", "http://"].first(where: lower.hasPrefix).map({ lower.dropFirst($0.count) }) else {
                self = .notHTTP
                return
            }
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            if authority.contains("@") {
                self = .credentials
            } else if url.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                self = .controlCharacter
            } else if url.contains(" ") {
                self = .space
            } else if let refusal = Self.hostAndPort(authority) {
                self = refusal
            } else {
                return nil
            }
        }

        /// `host`, `host:port`, `[v6]` or `[v6]:port`, with a host and, when given, a port from 1
        /// to 65535 (an empty one is the scheme's default, as RFC 3986 reads it).
        private static func hostAndPort(_ authority: Substring) -> URLRefusal? {
            let host: Substring, port: Substring?
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return .notHTTP }
                host = authority[authority.index(after: authority.startIndex)..<close]
                let after = authority[authority.index(after: close)...]
                guard after.isEmpty || after.hasPrefix(":") else { return .notHTTP }
                port = after.isEmpty ? nil : after.dropFirst()
            } else if let colon = authority.lastIndex(of: ":") {
                (host, port) = (authority[..<colon], authority[authority.index(after: colon)...])
            } else {
                (host, port) = (authority, nil)
            }
            if host.isEmpty { return .notHTTP }
            guard let port, !port.isEmpty else { return nil }
            guard port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int(port.prefix(6)), (1...65535).contains(number) else {
                return .port
            }
            return nil
        }

        func message(_ url: String) -> String {
            switch self {
            case .notHTTP: "\"\(url)\" is not an http:// or https:// URL with a host"
            case .credentials: "credentials in the URL (user:password@host) are not allowed; send them as a header from the secrets store, like \"headers\": {\"Authorization\": {\"secret\": \"PARTNER_TOKEN\"}}"
            case .controlCharacter: "\"\(url)\" holds a control character (a tab, a line break or NUL); write the URL without it, percent-encoded if the receiver needs one"
            case .space: "\"\(url)\" holds a space; write it percent-encoded, as %20"
            case .port: "\"\(url)\" has a port outside 1-65535"
            }
        }
    }

    private static func patterns(_ raw: JSONValue, at path: String, reader: ConfigReader) -> [EventTypePattern] {
        guard case let .array(items) = raw else {
            reader.report(path, "expected an array of event types like [\"order.*\"], found \(raw.kindName)")
            return []
        }
        return items.enumerated().compactMap { i, item in
            guard case let .string(text) = item, !text.isEmpty else {
                reader.report("\(path)[\(i)]", "expected an event type or pattern like \"order.*\", found \(item.serialized())")
                return nil
            }
            guard let pattern = EventTypePattern(validating: text) else {
                reader.report("\(path)[\(i)]", EventTypePattern.refusal(text))
                return nil
            }
            return pattern
        }
    }

    private static func headers(_ raw: JSONValue, at path: String, in view: ObjectView,
                                reader: ConfigReader) -> [(name: String, value: OutboundHeaderValue)] {
        guard case let .object(members) = raw else {
            reader.report(path, "expected an object of header names and values, found \(raw.kindName)")
            return []
        }
        var out: [(name: String, value: OutboundHeaderValue)] = []
        for (name, value) in members {
            let keyPath = "\(path).\(name)"
            let headerValue: OutboundHeaderValue
            switch value {
            case let .string(text):
                headerValue = .text(text)
            case .object:
                guard let reference = view.secretReference(value, at: keyPath) else { continue }
                headerValue = .secret(reference)
            default:
                reader.report(keyPath, "expected a string, or a secret reference like {\"secret\": \"NAME\"} for a credential, found \(value.kindName)")
                continue
            }
            if !HTTPToken.isHeaderName(name) {
                reader.report(keyPath, "\"\(name)\" is not a valid header name")
            } else if reservedHeaders.contains(name.lowercased()) || name.lowercased().hasPrefix("webhook-") {
                reader.report(keyPath, "\(name) is set by the delivery itself and cannot be configured")
            } else if connectionHeaders.contains(name.lowercased()) {
                reader.report(keyPath, "\(name) is about the connection or the body's framing, which the HTTP client sets; it cannot be configured")
            } else if case let .text(text) = headerValue, let problem = HTTPToken.headerValueProblem(text) {
                reader.report(keyPath, "the value \(problem)")
            } else {
                out.append((name, headerValue))
            }
        }
        return out
    }

    private static func schedule(_ raw: JSONValue, at path: String, reader: ConfigReader) -> DeliverySchedule {
        guard let view = reader.object(raw, at: path, known: ["schedule"]) else { return .standard }
        guard let list = view.raw("schedule") else {
            reader.report(view.keyPath("schedule"), "is required: the waits between attempts, like [\"5s\", \"5m\", \"30m\"]")
            return .standard
        }
        guard case let .array(items) = list, items.count <= 50 else {
            reader.report(view.keyPath("schedule"), "expected an array of at most 50 durations like [\"5s\", \"5m\"], found \(list.serialized())")
            return .standard
        }
        var delays: [TimeSpan] = []
        for (i, item) in items.enumerated() {
            if case let .string(text) = item, case .failure(.tooLong) = TimeSpan.parse(text) {
                reader.report("\(view.keyPath("schedule"))[\(i)]", TimeSpan.tooLongMessage(text))
                continue
            }
            guard case let .string(text) = item, let span = TimeSpan(parsing: text) else {
                reader.report("\(view.keyPath("schedule"))[\(i)]", "invalid duration \(item.serialized()); expected a number and a unit, like \"5s\" or \"2h\"")
                continue
            }
            delays.append(span)
        }
        return DeliverySchedule(delays: delays)
    }

    private static func extraSignatures(_ raw: JSONValue, at path: String, reader: ConfigReader) -> [ExtraSignatureScheme] {
        guard case let .array(items) = raw else {
            reader.report(path, "expected an array of scheme names like [\"github\"], found \(raw.kindName)")
            return []
        }
        return items.enumerated().compactMap { i, item in
            guard let text = item.stringValue, let scheme = ExtraSignatureScheme(rawValue: text) else {
                reader.report("\(path)[\(i)]", "unknown signature scheme \(item.serialized()); expected one of: \(ExtraSignatureScheme.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            return scheme
        }
    }
}
