import Foundation

extension TestServer {
    /// Installs the `behaviours` fixture plugin into the plugins folder.
    func installBehaviours() throws {
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: pluginsDir, name: "behaviours.so")
    }

    /// Writes a config for the `behaviours` plugin whose webhooks are custom HMAC endpoints (hex HMAC-SHA256 of the body in `x-sig`, secret `HOOK_SECRET`, id and type from
    /// `body.id` and `body.type`). Each webhook is its name and the rest of its JSON members (handler,
    /// dedupe, lease, …); `plugin` is the plugin's config object, `limits` the top-level one.
    func writeBehavioursConfig(plugin: String, workers: Int = 4, limits: String = "{}", webhooks: [(name: String, members: String)]) throws {
        let hooks = webhooks.map { hook in
            """
            {"name": "\(hook.name)", "provider": "custom",
             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
             "event": {"id": "body.id", "type": "body.type"}, \(hook.members)}
            """
        }
        try writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" } },
              "workers": \(workers),
              "limits": \(limits),
              "plugins": { "dir": "\(pluginsDir)", "config": { "behaviours": \(plugin) } },
              "webhooks": [ \(hooks.joined(separator: ",\n")) ]
            }
            """)
    }

    /// Posts `json` to `/webhooks/NAME`, signed as `writeBehavioursConfig` expects.
    func postSigned(_ webhook: String, _ json: String, secret: String) throws -> (status: Int, body: String) {
        let body = Array(json.utf8)
        return try post("/webhooks/\(webhook)", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret))], body: body)
    }
}
