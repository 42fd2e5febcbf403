import Glibc

/// Reads one JSON object of the config, collecting issues under its key path instead of stopping at
/// the first, so that `layeron check` can list every mistake at once.
final class ConfigReader {
    private(set) var issues: [ConfigIssue] = []

    func report(_ keyPath: String, _ message: String) {
        issues.append(ConfigIssue(keyPath, message))
    }

    /// The members of `value` as an object, reporting any member not in `known`.
    func object(_ value: JSONValue, at path: String, known: Set<String>) -> ObjectView? {
        guard case let .object(members) = value else {
            report(path, "expected an object, found \(value.kindName)")
            return nil
        }
        for (key, _) in members where !known.contains(key) {
            report(join(path, key), "unknown key; expected one of: \(known.sorted().joined(separator: ", "))")
        }
        return ObjectView(reader: self, path: path, members: members)
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}

/// Typed access to the members of one config object.
struct ObjectView {
    let reader: ConfigReader
    let path: String
    let members: [(String, JSONValue)]

    func keyPath(_ key: String) -> String { reader.join(path, key) }

    func raw(_ key: String) -> JSONValue? { members.first(where: { $0.0 == key })?.1 }

    func string(_ key: String, required: Bool = false) -> String? {
        guard let value = raw(key) else {
            if required { reader.report(keyPath(key), "is required") }
            return nil
        }
        guard case let .string(s) = value else {
            reader.report(keyPath(key), "expected a string, found \(value.kindName)")
            return nil
        }
        return s
    }

    /// A required name (of a webhook, destination or token): a lowercase slug, since it goes into
    /// paths, log lines and metric labels. `""` is refused like any other non-slug rather than taken
    /// as "not given", which let an empty name through to a webhook served at `/webhooks`.
    func slug(_ key: String) -> String? {
        guard let name = string(key, required: true) else { return nil }
        guard WebhookConfigParser.isSlug(name) else {
            reader.report(keyPath(key), (name.isEmpty ? "is empty; expected" : "\"\(name)\" is not") + " a lowercase slug (a-z, 0-9 and -, starting with a letter or digit)")
            return nil
        }
        return name
    }

    func integer(_ key: String, range: ClosedRange<Int>) -> Int? {
        guard let value = raw(key) else { return nil }
        guard case let .number(number) = value, case let n = number.value, n == n.rounded(), Double(range.lowerBound) <= n, n <= Double(range.upperBound) else {
            reader.report(keyPath(key), "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(value.serialized())")
            return nil
        }
        return Int(n)
    }

    func duration(_ key: String) -> TimeSpan? {
        guard let text = string(key) else { return nil }
        switch TimeSpan.parse(text) {
        case let .success(span):
            return span
        case .failure(.tooLong):
            reader.report(keyPath(key), TimeSpan.tooLongMessage(text))
        case .failure(.malformed):
            reader.report(keyPath(key), "invalid duration \"\(text)\"; expected a number and a unit, like \"30s\", \"5m\", \"2h\" or \"7d\"")
        }
        return nil
    }

    func listenAddress(_ key: String) -> ListenAddress? {
        guard let text = string(key) else { return nil }
        guard let address = ListenAddress(parsing: text) else {
            reader.report(keyPath(key), "invalid address \"\(text)\"; expected HOST:PORT with a port from 0 to 65535, like \"127.0.0.1:8080\"")
            return nil
        }
        guard address.isIPAddress else {
            reader.report(keyPath(key), "\"\(address.host)\" is not an IP address; listen on one, like 127.0.0.1, 0.0.0.0 or ::1 (host names are not resolved)")
            return nil
        }
        return address
    }

    /// `{"secret": "NAME"}` or a list of them.
    func secretReferences(_ key: String, required: Bool) -> [SecretReference] {
        guard let value = raw(key) else {
            if required { reader.report(keyPath(key), "is required: a secret reference like {\"secret\": \"NAME\"}") }
            return []
        }
        if case let .array(items) = value {
            if items.isEmpty { reader.report(keyPath(key), "the list of secret references is empty") }
            return items.enumerated().compactMap { secretReference(items[$0.offset], at: "\(keyPath(key))[\($0.offset)]") }
        }
        return secretReference(value, at: keyPath(key)).map { [$0] } ?? []
    }

    /// Exactly one `{"secret": "NAME"}`: a list where one value is meant would keep only its first.
    func singleSecretReference(_ key: String, required: Bool) -> SecretReference? {
        if case .array? = raw(key) {
            reader.report(keyPath(key), "expected one secret reference like {\"secret\": \"NAME\"}, found a list; several admin tokens are entries of admin.tokens, each with a name and a scope")
            return nil
        }
        return secretReferences(key, required: required).first
    }

    /// One `{"secret": "NAME"}` at `path` (a member of this object or deeper), or nil after reporting why not.
    func secretReference(_ value: JSONValue, at path: String) -> SecretReference? {
        if case .string = value {
            reader.report(path, "secrets are never written in config; use a reference like {\"secret\": \"NAME\"} and set its value with `layeron secrets set NAME`")
            return nil
        }
        guard let view = reader.object(value, at: path, known: ["secret"]),
              let name = view.string("secret", required: true) else { return nil }
        guard SecretReference.isValidName(name) else {
            reader.report(view.keyPath("secret"), "invalid secret name \"\(name)\"; use letters, digits and _ (like STRIPE_WEBHOOK_SECRET)")
            return nil
        }
        if let holder = SecretReference.variableHeldForAnotherUse(name) {
            reader.report(view.keyPath("secret"), "\(name) is \(holder), not a secret: a reference to it would take that variable's value "
                          + "when no secret of that name is set; name the secret for what it holds (like STRIPE_WEBHOOK_SECRET)")
            return nil
        }
        return SecretReference(name: name)
    }
}
