import Foundation
import LayeronCore
import LayeronCrypto
import LayeronStore

/// What `make run` needs to work with no environment variables: in the development environment only,
/// every secret reference that resolves nowhere gets a random value saved in the store, and `serve`
/// prints the names it created and a signed `curl` example. Values are never printed: the example
/// reads the secret with `layeron secrets get` at the moment it is pasted.
public enum DevelopmentSecrets {
    /// Saves a random value for every reference in `config` that neither the store nor the environment
    /// knows (an empty variable is no value, as for the resolver), but for those in `keeping` (which
    /// the running server still holds a value for), and returns their names in config order. The
    /// store is read directly, not through a resolver that forgives failures: a value that does not
    /// decrypt stops the start instead of looking missing and being replaced.
    static func generateMissing(config: ServerConfig, store: SecretStore, variables: [String: String],
                                keeping: Set<String> = []) throws(SecretStoreError) -> [String] {
        let now = WallClock.nowMilliseconds()
        let stored = try store.allValues(environment: SecretsSetup.development, now: now)
        let environment = DictionarySecretResolver(variables)
        let forms = secretForms(config)
        var created: [String] = []
        for (_, reference) in config.secretReferences
        where !created.contains(reference.name) && !keeping.contains(reference.name) && stored[reference.name] == nil
            && environment.resolve(reference) == nil {
            // A public key is left unset: the start then names it as a secret to set.
            guard let value = randomValue(forms[reference.name] ?? .plain) else { continue }
            try store.set(reference.name, environment: SecretsSetup.development, value: value, now: now)
            created.append(reference.name)
        }
        return created
    }

    /// The form a random value must take to be read by what uses it.
    enum SecretForm: Equatable {
        /// `whsec_<base64>`: Stripe keys HMAC with the whole string, and Standard Webhooks/Svix-style
        /// providers (and outbound destinations) decode the base64 after the prefix.
        case whsec
        /// A custom scheme's `secretEncoding`: hex or base64 of the key bytes, nothing around them.
        case encoded(ByteEncoding)
        /// A public key: the provider holds the private half, so a random value verifies nothing.
        case publicKey
        /// Not a signing secret (admin tokens): hex, inert in a shell.
        case plain
    }

    /// By name, the form each signing secret of `config` takes; the first use of a name decides.
    static func secretForms(_ config: ServerConfig) -> [String: SecretForm] {
        var forms: [String: SecretForm] = [:]
        for webhook in config.webhooks {
            let form: SecretForm
            if webhook.scheme.algorithm.publicKeyKind != nil {
                form = .publicKey
            } else {
                switch webhook.scheme.secretFormat {
                case .hex: form = .encoded(.hex)
                case .base64: form = .encoded(.base64)
                case .text, .whsec: form = .whsec
                }
            }
            for reference in webhook.secrets where forms[reference.name] == nil { forms[reference.name] = form }
        }
        for destination in config.outbound {
            for reference in destination.secrets where forms[reference.name] == nil { forms[reference.name] = .whsec }
        }
        return forms
    }

    /// 32 random bytes in `form`; nil for a public key.
    static func randomValue(_ form: SecretForm) -> SecretValue? {
        let bytes = SecureRandom.bytes(32)
        switch form {
        case .whsec: return SecretValue("whsec_" + ByteEncoding.base64.encode(bytes))
        case let .encoded(encoding): return SecretValue(encoding.encode(bytes))
        case .plain: return SecretValue(ByteEncoding.hex.encode(bytes))
        case .publicKey: return nil
        }
    }

    /// The terminal lines after the `listening on` lines: the created names, then a signed `curl` for
    /// the first Stripe webhook and the `events list` to run after it. `command` is how this binary
    /// was invoked; `secretsArguments` and `adminArguments` are the flags the follow-up commands need
    /// to find the same store and the same admin listener.
    public static func banner(created: [String], config: ServerConfig, publicAddress: String, command: String,
                              secretsArguments: [String], adminArguments: [String]) -> [String] {
        var lines: [String] = []
        let secrets = { (words: [String]) in ([command, "secrets"] + words + secretsArguments).map(shellQuoted).joined(separator: " ") }
        if !created.isEmpty {
            lines.append("development secrets created with random values (environment development): \(created.joined(separator: ", "))")
            lines.append("  list them with `\(secrets(["list"]))`; replace one with `\(secrets(["set", "NAME"])) < file`")
        }
        guard let stripe = config.webhooks.first(where: { $0.provider == "stripe" }), let reference = stripe.secrets.first else {
            return lines
        }
        let get = secrets(["get", reference.name])
        var curl = "curl -s -X POST \(shellQuoted("http://\(reachable(publicAddress))\(stripe.path)"))"
        if let host = stripe.host { curl += " -H \(shellQuoted("Host: \(exampleHost(host))"))" }
        curl += #" -H "Stripe-Signature: t=$t,v1=$sig" -d "$body"; echo"#
        lines += [
            "send a signed test event to webhook \(stripe.name) (paste these lines; the secret is read when they run, never printed):",
            #"  t=$(date +%s); body=$(printf '{"id":"evt_dev_%s","type":"checkout.session.completed","data":{"object":{}}}' "$t")"#,
            #"  sig=$(printf '%s' "$t.$body" | openssl dgst -sha256 -hmac "$("# + get + #")" | sed 's/^.* //')"#,
            "  \(curl)",
            "then list it:",
            "  " + ([command, "events", "list"] + adminArguments).map(shellQuoted).joined(separator: " "),
        ]
        return lines
    }

    /// A Host the webhook's `host` matches, so the printed `curl` is not answered 404: a wildcard's
    /// `*` becomes the label `dev`, and an IPv6 address keeps its brackets (bare, its last `:` would
    /// be taken for a port's).
    private static func exampleHost(_ pattern: HostPattern) -> String {
        switch pattern {
        case .exact: return pattern.description
        case let .wildcard(suffix): return "dev" + suffix
        }
    }

    /// A wildcard listener is reached on loopback.
    private static func reachable(_ address: String) -> String {
        if address.hasPrefix("0.0.0.0:") { return "127.0.0.1" + address.dropFirst("0.0.0.0".count) }
        if address.hasPrefix("[::]:") { return "[::1]" + address.dropFirst("[::]".count) }
        return address
    }

    /// Leaves plain words alone and single-quotes anything a shell would treat specially.
    static func shellQuoted(_ word: String) -> String {
        let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,")
        if !word.isEmpty, word.unicodeScalars.allSatisfy(plain.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
