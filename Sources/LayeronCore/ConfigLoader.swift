/// Turns config JSON into a `ServerConfig`, or into every issue found in it.
public enum ConfigLoader {
    /// Parses and validates `text`; `file` names the file in error messages.
    public static func load(text: [UInt8], file: String) throws(ConfigError) -> ServerConfig {
        try read(text: text, file: file).valid()
    }

    /// The config as far as it can be read, with every issue found in it: a part with an issue keeps
    /// its default (a webhook that does not parse is left out). `check` reviews the rest of such a
    /// config, so that one run lists every problem. Throws only when nothing can be read: the text is
    /// not JSON, or not an object.
    public static func read(text: [UInt8], file: String) throws(ConfigError) -> ConfigReading {
        if text.starts(with: JSONParser.byteOrderMark) {
            throw .syntax(file: file, JSONSyntaxError(offset: 0, reason: "the file begins with a UTF-8 byte-order mark (bytes EF BB BF), which JSON does not allow; save it as UTF-8 without one"),
                          line: 1, column: 1)
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(text)
        } catch {
            let (line, column) = error.lineAndColumn(in: text)
            throw .syntax(file: file, error, line: line, column: column)
        }
        let reader = ConfigReader()
        for duplicate in JSONParser.duplicateKeys(in: text) {
            let line = JSONSyntaxError.lineAndColumn(of: duplicate.firstOffset, in: text).line
            reader.report(duplicate.keyPath, "duplicate key (also at line \(line)); write each key once, since only one of them would count")
        }
        guard let config = parse(json, reader: reader) else { throw .invalid(file: file, issues: reader.issues) }
        return ConfigReading(file: file, config: config, issues: reader.issues)
    }

    private static let topKeys: Set<String> = ["listen", "admin", "database", "durability", "plugins", "limits", "workers", "webhooks", "outbound"]

    private static func parse(_ json: JSONValue, reader: ConfigReader) -> ServerConfig? {
        guard case .object = json else {
            reader.report("", "the config is a JSON object ({ … }); this file holds \(json.kindName)")
            return nil
        }
        guard let top = reader.object(json, at: "", known: topKeys) else { return nil }
        let listen = top.listenAddress("listen") ?? ListenAddress(host: "127.0.0.1", port: 8080)

        var admin = AdminConfig(listen: ListenAddress(host: "127.0.0.1", port: 9090), token: nil)
        if let raw = top.raw("admin"), let view = reader.object(raw, at: "admin", known: ["listen", "token", "tokens", "mount", "retention"]) {
            admin.listen = view.listenAddress("listen") ?? admin.listen
            admin.token = view.singleSecretReference("token", required: false)
            admin.retention = view.duration("retention") ?? admin.retention
            if admin.retention.milliseconds == 0 {
                reader.report("admin.retention", "must be longer than zero: 0s would delete each event at the next pass after it settles (pending events are kept)")
            }
            if let rawTokens = view.raw("tokens") {
                admin.tokens = AdminConfigParser.tokens(rawTokens, at: "admin.tokens", reader: reader)
            }
            if let rawMount = view.raw("mount") {
                admin.mount = AdminConfigParser.mount(rawMount, at: "admin.mount", reader: reader)
            }
        }

        let database = top.string("database") ?? "data/layeron.db"
        if let refusal = DatabasePath.refusal(database) { reader.report("database", refusal) }
        var durability = Durability.normal
        if let text = top.string("durability") {
            if let value = Durability(rawValue: text) {
                durability = value
            } else {
                reader.report("durability", "\"\(text)\" is not a durability; expected \"normal\" (survives a process crash) or \"fsync\" (every commit fsynced)")
            }
        }

        var plugins = PluginsConfig(dir: "plugins", config: [:])
        if let raw = top.raw("plugins"), let view = reader.object(raw, at: "plugins", known: ["dir", "config"]) {
            plugins.dir = view.string("dir") ?? plugins.dir
            if let rawConfig = view.raw("config"), let cfg = reader.object(rawConfig, at: "plugins.config", known: Set(rawConfig.objectKeys)) {
                for (name, value) in cfg.members {
                    guard case .object = value else {
                        reader.report("plugins.config.\(name)", "expected an object, found \(value.kindName)")
                        continue
                    }
                    plugins.config[name] = value
                }
            }
        }

        var limits = Limits.defaults
        if let raw = top.raw("limits"),
           let view = reader.object(raw, at: "limits", known: ["maxBodyBytes", "connectionTimeout", "requestTimeout", "maxConnections", "maxConnectionsPerAddress"]) {
            limits.maxBodyBytes = view.integer("maxBodyBytes", range: 1...(256 << 20)) ?? limits.maxBodyBytes
            limits.maxConnections = view.integer("maxConnections", range: 1...65536) ?? limits.maxConnections
            limits.maxConnectionsPerAddress = view.integer("maxConnectionsPerAddress", range: 0...65536) ?? limits.maxConnectionsPerAddress
            limits.connectionTimeout = view.duration("connectionTimeout") ?? limits.connectionTimeout
            if limits.connectionTimeout.milliseconds > 3_600_000 {
                reader.report("limits.connectionTimeout", "must be at most 1h: it is how long an idle or trickling connection is kept")
                limits.connectionTimeout = Limits.defaults.connectionTimeout
            }
            limits.requestTimeout = view.duration("requestTimeout") ?? limits.requestTimeout
            if limits.requestTimeout < .seconds(1) {
                reader.report("limits.requestTimeout", "must be at least 1s: deadlines are checked once a second, and a shorter one would cut off clients sending at an ordinary pace")
                limits.requestTimeout = Limits.defaults.requestTimeout
            } else if limits.requestTimeout > .seconds(3600) {
                reader.report("limits.requestTimeout", "must be at most 1h: it is how long a client trickling its request may hold a connection")
                limits.requestTimeout = Limits.defaults.requestTimeout
            }
        }

        let workers = top.integer("workers", range: 1...256) ?? 4

        // Each with its index in the file: one left out for its issues must not shift the others' key paths.
        var parsed: [(index: Int, webhook: WebhookConfig)] = []
        if let raw = top.raw("webhooks") {
            if case let .array(items) = raw {
                for (i, item) in items.enumerated() {
                    if let webhook = WebhookConfigParser.parse(item, at: "webhooks[\(i)]", reader: reader) {
                        parsed.append((i, webhook))
                    }
                }
            } else {
                reader.report("webhooks", "expected an array of webhooks, found \(raw.kindName)")
            }
        }
        checkUnique(parsed, reader: reader)
        if let mount = admin.mount { checkReachable(parsed, past: mount, reader: reader) }
        let webhooks = parsed.map(\.webhook)
        let outbound = top.raw("outbound").map { OutboundConfigParser.parse($0, reader: reader, webhooks: webhooks) } ?? []
        let config = ServerConfig(listen: listen, admin: admin, database: database, durability: durability, plugins: plugins,
                                  limits: limits, workers: workers, webhooks: webhooks, outbound: outbound)
        for issue in config.listenerIssues { reader.report(issue.keyPath, issue.message) }
        return config
    }

    /// The public listener hands every path under the admin mount's prefix to the admin API before
    /// any webhook is matched: a webhook there would answer 404 (or 405) to its provider for ever.
    private static func checkReachable(_ webhooks: [(index: Int, webhook: WebhookConfig)], past mount: AdminMount, reader: ConfigReader) {
        for (i, webhook) in webhooks where webhook.path.hasPrefix(mount.path + "/") {
            reader.report("webhooks[\(i)].path", "\(webhook.path) is under admin.mount.path (\(mount.path)), which takes every request under it for the admin API, so this webhook would never be reached; move one of them")
        }
    }

    private static func checkUnique(_ webhooks: [(index: Int, webhook: WebhookConfig)], reader: ConfigReader) {
        var names: [String: Int] = [:]
        var routes: [String: Int] = [:]
        for (i, webhook) in webhooks {
            if let first = names[webhook.name] {
                reader.report("webhooks[\(i)].name", "duplicate webhook name \"\(webhook.name)\" (also webhooks[\(first)])")
            } else {
                names[webhook.name] = i
            }
            let route = "\(webhook.host?.description ?? "*") \(webhook.path)"
            if let first = routes[route] {
                reader.report("webhooks[\(i)].path", "webhooks[\(first)] already serves \(webhook.path) on host \(webhook.host?.description ?? "(any)")")
            } else {
                routes[route] = i
            }
        }
    }
}

/// The events database's path, from the config or `--database`.
public enum DatabasePath {
    /// Why a path is refused, or nil. SQLite opens `""` as a private temporary database and
    /// `:memory:` as a database in memory, one per connection and gone at close: readers would not
    /// see the writer's events and a restart would lose every event acknowledged.
    public static func refusal(_ path: String) -> String? {
        let advice = "give a file, like \"data/layeron.db\""
        if path.isEmpty { return "is empty; SQLite would keep the events in a temporary database that is deleted at close; \(advice)" }
        if path == ":memory:" { return "is \":memory:\"; SQLite would keep the events in memory, lost at every stop; \(advice)" }
        return nil
    }
}

/// A config file read past its issues (`ConfigLoader.read`).
public struct ConfigReading: Sendable {
    public var file: String
    public var config: ServerConfig
    /// Empty when the config is valid.
    public var issues: [ConfigIssue]

    /// The config, when it has no issue.
    public func valid() throws(ConfigError) -> ServerConfig {
        guard issues.isEmpty else { throw .invalid(file: file, issues: issues) }
        return config
    }
}

extension JSONValue {
    var objectKeys: [String] {
        if case let .object(members) = self { return members.map(\.0) }
        return []
    }
}
