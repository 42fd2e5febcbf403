import LayeronCrypto

/// Parses one entry of `webhooks`.
enum WebhookConfigParser {
    static let keys: Set<String> = Set([
        "name", "provider", "path", "host", "secret", "signature", "tolerance", "dedupe", "handler", "on",
        "respond", "event", "retry", "unhandled", "timeout", "concurrency", "ordering", "orderingKey", "lease",
    ]).union(SignatureConfigParser.webhookKeys)

    static func parse(_ value: JSONValue, at path: String, reader: ConfigReader) -> WebhookConfig? {
        guard let view = reader.object(value, at: path, known: keys) else { return nil }
        let issuesBefore = reader.issues.count

        let name = view.slug("name") ?? ""
        let providerText = view.string("provider", required: true)
        let provider = providerText ?? ""
        let configuredPath = view.string("path") ?? "/webhooks/\(name)"
        if !configuredPath.hasPrefix("/") || configuredPath.contains("?") || configuredPath.contains(" ") {
            reader.report(view.keyPath("path"), "\"\(configuredPath)\" must start with / and hold no query or spaces")
        } else if configuredPath.contains("%") {
            reader.report(view.keyPath("path"), "\"\(configuredPath)\" holds %: a request's path is percent-decoded before it is matched, so this one would need each % sent as %25; write it without percent-escapes")
        } else if let problem = RequestHeadLimit.pathProblem(configuredPath) ?? Self.segmentProblem(configuredPath) {
            reader.report(view.keyPath("path"), problem)
        }
        // Stored as the router matches it: a path written with a trailing slash was unreachable.
        let routePath = WebhookRouter.key(configuredPath)
        var host: HostPattern?
        if let text = view.string("host") {
            do throws(HostPattern.ParseError) {
                host = try HostPattern(parsing: text)
            } catch {
                reader.report(view.keyPath("host"), error.description)
            }
        }
        let tolerance = SignatureConfigParser.tolerance(in: view)

        var scheme: SignatureScheme?
        var secrets: [SecretReference] = []
        var eventID: FieldSource?
        var eventType: FieldSource?
        var dedupeDefault: DedupeKeyTemplate?

        if provider == "custom" {
            if view.raw("secret") != nil {
                reader.report(view.keyPath("secret"), "a custom provider takes its secret inside \"signature\"")
            }
            if let raw = view.raw("signature") {
                (scheme, secrets) = SignatureConfigParser.parseCustomSignature(raw, at: view.keyPath("signature"), webhook: view, tolerance: tolerance, reader: reader)
            } else {
                reader.report(view.keyPath("signature"), "is required for provider \"custom\": {header, algorithm, encoding, secret, signedPayload}")
            }
            eventType = .body(["type"])
        } else if let preset = ProviderPreset.all[provider] {
            if view.raw("signature") != nil {
                reader.report(view.keyPath("signature"), "provider \"\(provider)\" has its own signature scheme; use provider \"custom\" to describe one")
            }
            (scheme, secrets) = SignatureConfigParser.parsePreset(preset, webhook: view, tolerance: tolerance, reader: reader)
            eventID = preset.eventID
            eventType = preset.eventType
            dedupeDefault = preset.dedupeKey
        } else if providerText != nil {
            // An empty one too (a template's unset variable): it would leave the webhook out unnoticed.
            reader.report(view.keyPath("provider"), (provider.isEmpty ? "is empty" : "unknown provider \"\(provider)\"")
                          + "; expected one of: \(ProviderPreset.knownNames.joined(separator: ", "))")
        }

        if let raw = view.raw("event"), let ev = reader.object(raw, at: view.keyPath("event"), known: ["id", "type"]) {
            eventID = fieldSource(ev, "id", reader: reader) ?? eventID
            eventType = fieldSource(ev, "type", reader: reader) ?? eventType
        }

        var dedupe = dedupeDefault.map { DedupeConfig(key: $0, ttl: .seconds(7 * 86_400)) }
        if let raw = view.raw("dedupe"), let dd = reader.object(raw, at: view.keyPath("dedupe"), known: ["key", "ttl"]) {
            let ttl = dd.duration("ttl") ?? .seconds(7 * 86_400)
            if ttl.milliseconds == 0 { reader.report(dd.keyPath("ttl"), "must be longer than zero; leave dedupe out to fold no retries") }
            if ttl.milliseconds > 3650 * 86_400_000 { reader.report(dd.keyPath("ttl"), "must be at most 3650d (providers retry for days, not decades)") }
            if let keyText = dd.string("key") {
                do throws(DedupeKeyTemplate.ParseError) {
                    dedupe = DedupeConfig(key: try DedupeKeyTemplate(parsing: keyText), ttl: ttl)
                } catch {
                    reader.report(dd.keyPath("key"), error.description)
                }
            } else if let existing = dedupe {
                dedupe = DedupeConfig(key: existing.key, ttl: ttl)
            } else {
                reader.report(dd.keyPath("key"), "is required: provider \"\(provider)\" has no default dedupe key")
            }
        }

        // A scheme without a timestamp never reads a tolerance: one set there would be a check that
        // is not made.
        if tolerance != nil, let scheme, scheme.timestamp == nil {
            let signsNone = provider == "custom" ? "this signature has none" : "provider \"\(provider)\" signs none"
            reader.report(view.keyPath("tolerance"), "applies only to a signature with a timestamp, and \(signsNone); leave it out")
        }

        let routes = parseRoutes(view, reader: reader)

        var respond = RespondMode.afterRecord
        if let text = view.string("respond") {
            if let mode = RespondMode(rawValue: text) {
                respond = mode
            } else {
                reader.report(view.keyPath("respond"), "unknown value \"\(text)\"; expected \"after-record\" or \"after-handler\"")
            }
        }

        let retry = view.raw("retry").map { parseRetry($0, at: view.keyPath("retry"), reader: reader) } ?? .defaults

        var unhandled = UnhandledPolicy.ignore
        if let text = view.string("unhandled") {
            if let policy = UnhandledPolicy(rawValue: text) {
                unhandled = policy
            } else {
                reader.report(view.keyPath("unhandled"), "unknown value \"\(text)\"; expected \"ignore\" or \"reject\"")
            }
        }
        let timeout = view.duration("timeout") ?? .seconds(10)
        if timeout.milliseconds == 0 { reader.report(view.keyPath("timeout"), "must be longer than zero") }
        let concurrency = view.integer("concurrency", range: 1...1024)
        let lease = view.duration("lease") ?? WebhookConfig.defaultLease
        if lease.milliseconds == 0 { reader.report(view.keyPath("lease"), "must be longer than zero: the longest a handler may run before its event runs again") }

        var ordering: OrderingConfig?
        let orderingMode = view.string("ordering")
        if orderingMode == "per-key" {
            if let key = fieldSource(view, "orderingKey", reader: reader) {
                ordering = OrderingConfig(key: key)
            } else if view.raw("orderingKey") == nil {
                reader.report(view.keyPath("orderingKey"), "is required with \"ordering\": \"per-key\": the field events are ordered by, like \"body.data.object.customer\"")
            }
        } else if let orderingMode, orderingMode != "none" {
            reader.report(view.keyPath("ordering"), "unknown value \"\(orderingMode)\"; expected \"per-key\" or \"none\"")
        } else if view.raw("orderingKey") != nil {
            reader.report(view.keyPath("orderingKey"), "only applies with \"ordering\": \"per-key\"")
        }

        guard reader.issues.count == issuesBefore, let scheme else { return nil }
        return WebhookConfig(name: name, keyPath: path, provider: provider, path: routePath, host: host, scheme: scheme,
                             secrets: secrets, eventID: eventID, eventType: eventType, dedupe: dedupe,
                             routes: routes, respond: respond, retry: retry, unhandled: unhandled,
                             timeout: timeout, concurrency: concurrency, ordering: ordering, lease: lease)
    }

    private static func parseRetry(_ raw: JSONValue, at path: String, reader: ConfigReader) -> RetryPolicy {
        var retry = RetryPolicy.defaults
        guard let rv = reader.object(raw, at: path, known: ["attempts", "initial", "max", "backoff", "jitter"]) else { return retry }
        retry.attempts = rv.integer("attempts", range: 1...100) ?? retry.attempts
        let initial = rv.duration("initial")
        let maximum = rv.duration("max")
        retry.initial = initial ?? retry.initial
        retry.maximum = maximum ?? retry.maximum
        // Compared only when neither was invalid (already reported): a default standing in for an
        // invalid value would make a second, false error.
        let bothValid = (initial != nil || rv.raw("initial") == nil) && (maximum != nil || rv.raw("max") == nil)
        if bothValid, retry.maximum < retry.initial {
            reader.report(rv.keyPath("max"), "\(retry.maximum) is shorter than initial (\(retry.initial))")
        }
        if let text = rv.string("backoff") {
            if let backoff = RetryPolicy.Backoff(rawValue: text) {
                retry.backoff = backoff
            } else {
                reader.report(rv.keyPath("backoff"), "unknown backoff \"\(text)\"; expected \"exponential\" or \"fixed\"")
            }
        }
        switch rv.raw("jitter") {
        case nil: break
        case let .bool(on)?: retry.jitter = on ? RetryPolicy.defaults.jitter : 0
        case let .number(n)? where (0...1).contains(n.value): retry.jitter = n.value
        case let other?: reader.report(rv.keyPath("jitter"), "expected true, false or a fraction from 0 to 1, found \(other.serialized())")
        }
        return retry
    }

    static func isSlug(_ s: String) -> Bool {
        guard let first = s.utf8.first, first != UInt8(ascii: "-") else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }

    /// Why a path no request reaches, or nil: an empty segment (`/x//`, kept as `/x/`, while a request
    /// to `/x/` is routed as `/x`) or a `.` or `..` segment, which clients remove before they send.
    private static func segmentProblem(_ path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let inner = path.hasSuffix("/") ? segments.dropLast() : segments
        guard inner.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        var kept: [Substring] = []
        for segment in segments where !segment.isEmpty && segment != "." {
            if segment == ".." { _ = kept.popLast() } else { kept.append(segment) }
        }
        return "\"\(path)\" holds an empty, . or .. segment, which no request's path keeps (clients remove them); write \"/\(kept.joined(separator: "/"))\""
    }

    private static func fieldSource(_ view: ObjectView, _ key: String, reader: ConfigReader) -> FieldSource? {
        guard let text = view.string(key) else { return nil }
        guard let source = FieldSource(parsing: text) else {
            reader.report(view.keyPath(key), "\"\(text)\" is not a field; expected body.<path> or header.<name>, a header name being letters, digits and !#$%&'*+-.^_`|~")
            return nil
        }
        return source
    }

    private static func parseRoutes(_ view: ObjectView, reader: ConfigReader) -> HandlerRoutes {
        var fallback: HandlerReference?
        if let text = view.string("handler") {
            fallback = handlerReference(text, at: view.keyPath("handler"), reader: reader)
        }
        var rules: [(pattern: EventTypePattern, handler: HandlerReference)] = []
        if let raw = view.raw("on") {
            if case let .object(members) = raw {
                for (type, target) in members {
                    let keyPath = "\(view.keyPath("on")).\(type)"
                    guard case let .string(text) = target else {
                        reader.report(keyPath, "expected a handler reference PLUGIN.HANDLER, found \(target.kindName)")
                        continue
                    }
                    guard let pattern = EventTypePattern(validating: type) else {
                        reader.report(keyPath, EventTypePattern.refusal(type))
                        continue
                    }
                    if let handler = handlerReference(text, at: keyPath, reader: reader) {
                        rules.append((pattern, handler))
                    }
                }
            } else {
                reader.report(view.keyPath("on"), "expected an object mapping event types to handlers, found \(raw.kindName)")
            }
        }
        return HandlerRoutes(rules: rules, fallback: fallback)
    }

    private static func handlerReference(_ text: String, at keyPath: String, reader: ConfigReader) -> HandlerReference? {
        guard let ref = HandlerReference(parsing: text) else {
            reader.report(keyPath, "\"\(text)\" is not a handler reference; expected PLUGIN.HANDLER like \"billing.fulfill_checkout\"")
            return nil
        }
        return ref
    }
}
