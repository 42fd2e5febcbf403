import Foundation
import LayeronCore
import LayeronCrypto
import LayeronOutbound

/// Why the server cannot run with a config: a secret reference resolves nowhere, or an outbound
/// destination's secret resolves to a value it cannot use (a signing key that cannot sign, a header
/// value with a line break). Each line names the config file, the owner and the reference, never a value.
public struct SecretResolutionError: Error, CustomStringConvertible {
    public let file: String
    /// `publicKey` is the key type when the reference holds a provider's public key (a webhook whose
    /// signatures are ed25519, ECDSA or RSA, such as Discord's or SendGrid's), nil for a shared secret.
    public let missing: [(owner: String, reference: SecretReference, publicKey: PublicKey.Kind?)]
    /// Values that resolved but cannot be used; `problem` follows the reference's name and says what
    /// the value cannot do and why, without quoting it.
    public let unusable: [(owner: String, reference: SecretReference, problem: String)]
    public let environment: String
    /// The secrets store could not be read (then nothing else is looked at).
    public var unreadableStore: String?

    public var description: String { (unreadableLines + missingLines + unusableLines).joined(separator: "\n") }

    var unreadableLines: [String] {
        unreadableStore.map {
            ["\(file): cannot read the secrets store for environment \(environment): \($0); its values are not replaced by environment variables, fix the store or its key"]
        } ?? []
    }

    var missingLines: [String] { missing.map(missingLine) }

    /// What to set for one unset reference. A public key is no shared secret to make up (development
    /// leaves it unset), and an operator told only "set it" looks for a signing secret the provider
    /// never shows: the line says which key it is and where it comes from.
    func missingLine(_ entry: (owner: String, reference: SecretReference, publicKey: PublicKey.Kind?)) -> String {
        let unset = "\(file): \(entry.owner): secret \(entry.reference.name) is not set for environment \(environment)"
        guard let kind = entry.publicKey else { return "\(unset); set it with \(remedy(entry.reference))" }
        return "\(unset) and holds a public key (\(kind.displayName) key: the provider signs with its private key and publishes this one), "
            + "which serve cannot make up; set it to the provider's public key with \(remedy(entry.reference))"
    }

    /// Problems in every environment: development generates missing values, never replaces a set one.
    var unusableLines: [String] {
        unusable.map {
            "\(file): \($0.owner): secret \($0.reference.name) \($0.problem); set a new value with \(remedy($0.reference))"
        }
    }

    private func remedy(_ reference: SecretReference) -> String {
        "`layeron secrets set \(reference.name) --env \(environment)` or the environment variable \(reference.name)"
    }
}

/// One webhook as its requests see it. A class: a request used to copy its `WebhookConfig` out of
/// the config's array, and that copy retained each of the config's fields, strings every request of
/// the webhook shares, so their counts bounced between the cores (docs/performance.md, item 49).
final class InboundWebhook: Sendable {
    let config: WebhookConfig
    /// In reference order; a reference in a rotation's grace adds its old value too.
    let secrets: [SecretValue]
    let metrics: WebhookMetrics

    init(config: WebhookConfig, secrets: [SecretValue], metrics: WebhookMetrics) {
        self.config = config
        self.secrets = secrets
        self.metrics = metrics
    }
}

/// Everything a request needs from config, resolved and immutable. A reload builds a new one and
/// swaps it in; a request keeps the snapshot it started with.
final class RuntimeSnapshot: Sendable {
    let config: ServerConfig
    let router: WebhookRouter
    /// The webhooks in `config.webhooks` order, each with its secret values, for the request path.
    let inbound: [InboundWebhook]
    /// Signing secrets per outbound destination, every active value (all of them sign).
    let outboundSecrets: [String: [SecretValue]]
    /// The headers each destination sends, secret references resolved (`OutboundHeaderValue`).
    let outboundHeaders: [String: [(name: String, value: String)]]
    /// What each destination's answers are scrubbed of before they are recorded: the values of its
    /// secret headers and its signing secrets, which a receiver may echo back.
    let outboundScrubbers: [String: EchoedSecretScrubber]
    /// The admin listener's tokens with the SHA-256 digests of their values; empty means an open
    /// loopback listener. A request's token is compared by its digest (`AdminAPI.authorize`), so the
    /// comparison takes the same time whatever the configured token's length.
    let adminTokens: [(token: AdminToken, digest: [UInt8])]
    let mountToken: (token: AdminToken, digest: [UInt8])?
    /// Inbound secrets that resolved but can never verify with their webhook's scheme, one message
    /// each naming the webhook and the reference, never the value. Not a reason to refuse the
    /// config: the other webhooks work, and a rotation may still hold a usable value.
    let unverifiableSecrets: [String]
    /// Positions in `config.webhooks` by name. The dispatcher looks a webhook up several times per
    /// event; a scan that copied the matching config each time cost more than the rest of its
    /// bookkeeping, and grew with the number of webhooks.
    private let webhookPositions: [String: Int]

    /// `metrics` gives each webhook its counters (the same cells across reloads).
    /// `configFile` is where `config` was read, for the error's lines.
    init(config: ServerConfig, configFile: String, resolver: any SecretResolver, environment: String,
         metrics: Metrics) throws(SecretResolutionError) {
        let resolver = resolver.current()
        if let reason = resolver.unreadable {
            throw SecretResolutionError(file: configFile, missing: [], unusable: [], environment: environment, unreadableStore: reason)
        }
        var missing: [(String, SecretReference, PublicKey.Kind?)] = []
        var unusable: [(String, SecretReference, String)] = []
        var unverifiable: [String] = []
        var inbound: [InboundWebhook] = []
        for webhook in config.webhooks {
            var values: [SecretValue] = []
            for ref in webhook.secrets {
                let resolved = resolver.resolveAll(ref)
                if resolved.isEmpty { missing.append(("webhook \(webhook.name)", ref, webhook.scheme.algorithm.publicKeyKind)) }
                for (index, value) in resolved.enumerated() {
                    guard let reason = webhook.scheme.unusableReason(value) else { continue }
                    let which = index == 0 ? "" : " (a previous value kept for its rotation)"
                    unverifiable.append("webhook \(webhook.name): secret \(ref.name)\(which) \(reason); no request can verify with it")
                }
                values += resolved
            }
            inbound.append(InboundWebhook(config: webhook, secrets: values, metrics: metrics.webhook(named: webhook.name)))
        }
        var outbound: [String: [SecretValue]] = [:]
        var headers: [String: [(name: String, value: String)]] = [:]
        var scrubbers: [String: EchoedSecretScrubber] = [:]
        /// Secret header values each delivery sends verbatim, with where they are sent.
        var sentHeaderValues: [(SecretValue, String)] = []
        for destination in config.outbound {
            var values: [SecretValue] = []
            for ref in destination.secrets {
                let resolved = resolver.resolveAll(ref)
                if resolved.isEmpty { missing.append(("outbound \(destination.name)", ref, nil)) }
                for (position, value) in resolved.enumerated() {
                    guard let problem = OutboundSigner.problem(with: value) else { continue }
                    let which = position == 0 ? "" : "(the previous one, still in its rotation's grace) "
                    unusable.append(("outbound \(destination.name)", ref, "cannot sign deliveries: its value " + which + problem))
                }
                values += resolved
            }
            outbound[destination.name] = values
            var secretHeaderValues: [String] = []
            headers[destination.name] = destination.headers.compactMap { name, value in
                switch value {
                case let .text(text): return (name, text)
                case let .secret(ref):
                    guard let resolved = resolver.resolve(ref) else {
                        missing.append(("outbound \(destination.name) header \(name)", ref, nil))
                        return nil
                    }
                    // libcurl would send what follows a line break as headers of their own.
                    if let problem = HTTPToken.headerValueProblem(resolved.text) {
                        let hint = resolved.text.utf8.contains(0x0A) ? " (a trailing newline counts, as `echo` or a file mounted from a Kubernetes Secret leaves one)" : ""
                        unusable.append(("outbound \(destination.name) header \(name)", ref,
                                         "cannot be sent as a header: its value \(problem)\(hint)"))
                        return nil
                    }
                    secretHeaderValues.append(resolved.text)
                    sentHeaderValues.append((resolved, "outbound \(destination.name)'s header \(name), sent to its receiver"))
                    return (name, resolved.text)
                }
            }
            scrubbers[destination.name] = EchoedSecretScrubber(headerValues: secretHeaderValues, signingSecrets: values)
        }
        // An admin token with the value of a signing secret, a public key or a secret header opens
        // the admin API to whoever holds that value: the provider, every receiver of a destination
        // (a header's value is sent to it with each delivery), or anyone at all for a provider's
        // published key. Compared here, on values, since two names may hold one.
        let signingValues = inbound.flatMap { webhook in webhook.secrets.map { ($0, "webhook \(webhook.config.name)'s signing secret") } }
            + config.outbound.flatMap { destination in (outbound[destination.name] ?? []).map { ($0, "outbound \(destination.name)'s signing secret") } }
            + sentHeaderValues
        func checkOwnValue(_ value: SecretValue, of owner: String, _ reference: SecretReference) {
            guard let shared = signingValues.first(where: { $0.0 == value }) else { return }
            unusable.append((owner, reference, "has the same value as \(shared.1): whoever holds that value could use the admin API; give the token a value of its own"))
        }
        var tokens: [(AdminToken, [UInt8])] = []
        for token in config.admin.listenerTokens {
            if let value = resolver.resolve(token.secret) {
                checkOwnValue(value, of: "admin token \(token.name)", token.secret)
                tokens.append((token, AdminAPI.tokenDigest(value.bytes)))
            } else {
                missing.append(("admin token \(token.name)", token.secret, nil))
            }
        }
        var mount: (AdminToken, [UInt8])?
        if let m = config.admin.mount {
            if let value = resolver.resolve(m.token.secret) {
                checkOwnValue(value, of: "admin.mount.token", m.token.secret)
                mount = (m.token, AdminAPI.tokenDigest(value.bytes))
            } else {
                missing.append(("admin.mount.token", m.token.secret, nil))
            }
        }
        guard missing.isEmpty, unusable.isEmpty else {
            throw SecretResolutionError(file: configFile, missing: missing, unusable: unusable, environment: environment)
        }
        self.config = config
        self.unverifiableSecrets = unverifiable
        self.router = WebhookRouter(config.webhooks)
        self.inbound = inbound
        self.outboundSecrets = outbound
        self.outboundHeaders = headers
        self.outboundScrubbers = scrubbers
        self.adminTokens = tokens
        self.mountToken = mount
        var positions: [String: Int] = [:]
        for (index, webhook) in config.webhooks.enumerated() where positions[webhook.name] == nil {
            positions[webhook.name] = index
        }
        self.webhookPositions = positions
    }

    /// What the dispatcher checks before it queues an event of `name`, read without copying the
    /// webhook's whole config: no cap and the default lease for a webhook no longer configured.
    func dispatchLimits(ofWebhook name: String) -> (concurrency: Int?, leaseMilliseconds: Int64) {
        guard let index = webhookPositions[name] else { return (nil, WebhookConfig.defaultLease.milliseconds) }
        return (config.webhooks[index].concurrency, config.webhooks[index].lease.milliseconds)
    }

    /// The handler webhook `name`'s routes give `type` now; nil when none does, or the webhook is no
    /// longer configured. An operator's replay of an `ignored` event routes it with this.
    func handler(forType type: String, ofWebhook name: String) -> HandlerReference? {
        guard let index = webhookPositions[name] else { return nil }
        return config.webhooks[index].routes.handler(for: type)
    }

    /// What an attempt runs and is recorded with, read the same way: nil for a webhook no longer
    /// configured. One lookup for all three, as every attempt needs them.
    func attemptRules(ofWebhook name: String) -> (retry: RetryPolicy, respond: RespondMode, leaseMilliseconds: Int64)? {
        guard let index = webhookPositions[name] else { return nil }
        return (config.webhooks[index].retry, config.webhooks[index].respond, config.webhooks[index].lease.milliseconds)
    }
}

/// The current snapshot, swapped whole on reload.
final class SnapshotHolder: @unchecked Sendable {
    /// Guards `current`.
    private let lock = NSLock()
    private var current: RuntimeSnapshot

    init(_ snapshot: RuntimeSnapshot) { current = snapshot }

    var snapshot: RuntimeSnapshot {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Installs `snapshot`; the HMAC contexts every thread keyed with the old secrets go at its next MAC.
    func swap(_ snapshot: RuntimeSnapshot) {
        lock.lock()
        current = snapshot
        lock.unlock()
        HMAC.forgetKeys()
    }
}
