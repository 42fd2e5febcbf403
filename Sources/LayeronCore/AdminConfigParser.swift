/// Parses the admin section's named tokens and public mount.
enum AdminConfigParser {
    static func tokens(_ raw: JSONValue, at path: String, reader: ConfigReader) -> [AdminToken] {
        guard case let .array(items) = raw else {
            reader.report(path, "expected an array of {name, token, scope}, found \(raw.kindName)")
            return []
        }
        var seen: Set<String> = []
        var out: [AdminToken] = []
        for (i, item) in items.enumerated() {
            guard let token = token(item, at: "\(path)[\(i)]", reader: reader, requireName: true) else { continue }
            if token.name == "admin" {
                reader.report("\(path)[\(i)].name", "\"admin\" is the name of admin.token in logs and messages; give this token another")
            } else if seen.contains(token.name) {
                reader.report("\(path)[\(i)].name", "token name \"\(token.name)\" is used twice")
            }
            seen.insert(token.name)
            out.append(token)
        }
        return out
    }

    static func mount(_ raw: JSONValue, at path: String, reader: ConfigReader) -> AdminMount? {
        guard let view = reader.object(raw, at: path, known: ["path", "token", "scope"]) else { return nil }
        let prefix = view.string("path", required: true) ?? ""
        if !prefix.isEmpty, !prefix.hasPrefix("/") || prefix.hasSuffix("/") || prefix.contains("?") {
            reader.report(view.keyPath("path"), "\"\(prefix)\" must start with / and not end with /, like \"/_layeron\"")
        }
        guard let token = token(raw, at: path, reader: reader, requireName: false) else { return nil }
        return AdminMount(path: prefix, token: token)
    }

    private static func token(_ raw: JSONValue, at path: String, reader: ConfigReader, requireName: Bool) -> AdminToken? {
        let known: Set<String> = requireName ? ["name", "token", "scope"] : ["path", "token", "scope"]
        guard let view = reader.object(raw, at: path, known: known) else { return nil }
        let name = requireName ? (view.slug("name") ?? "") : "mount"
        var scope = AdminScope.replay
        if let text = view.string("scope") {
            if let s = AdminScope(rawValue: text) { scope = s } else {
                reader.report(view.keyPath("scope"), "unknown scope \"\(text)\"; expected \"read\" or \"replay\"")
            }
        } else if requireName {
            scope = .read
        }
        guard let secret = view.singleSecretReference("token", required: true) else { return nil }
        return AdminToken(name: name, secret: secret, scope: scope)
    }
}
