import Foundation
import LayeronCore
import LayeronCrypto
import LayeronServer

/// `layeron verify`: checks one saved request against a provider's scheme or a configured webhook and
/// says which rule failed. Exit 0 valid, 1 invalid, 2 usage or config errors.
enum VerifyCommand {
    static let usage = """
        layeron verify --provider P --secret S [--now UNIX] [--tolerance SEC] [--url URL]  < request.json
          layeron verify --provider P --secret-env NAME [...]                             < request.json
          layeron verify --config FILE --webhook NAME [--now UNIX] [--env ENV]            < request.json
        """

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        let args = Arguments(words)
        try args.only(["provider", "secret", "secret-env", "now", "tolerance", "url", "config", "webhook", "env", "database"], words: [])
        var tolerance: Int64?
        if let text = args.value("tolerance") {
            // As the config's `tolerance`: timestamps are whole seconds, so 0 would refuse nearly every request.
            guard let value = Int64(text), value >= 1 else { throw UsageError("--tolerance takes whole seconds, at least 1, like 300") }
            tolerance = value
        }
        let now: Int64
        if let text = args.value("now") {
            guard let value = Int64(text) else { throw UsageError("--now takes a Unix time in seconds") }
            now = value
        } else {
            now = Int64(Date().timeIntervalSince1970)
        }

        var scheme: SignatureScheme
        let secrets: [SecretValue]
        // What the scheme is, as a refusal of `--tolerance` names it.
        let signer: String
        if let webhookName = args.value("webhook") {
            if let given = ["secret", "secret-env"].first(where: { args.value($0) != nil }) {
                throw UsageError("--webhook takes its secrets from --config and the secrets store; drop --\(given)")
            }
            let path = ProcessEnvironment.configPath(args)
            let config: ServerConfig
            do { config = try loadConfig(path: path) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                return 2
            }
            guard let webhook = config.webhooks.first(where: { $0.name == webhookName }) else {
                FileHandle.standardError.write(Data("\(path): no webhook named \(webhookName); configured: \(config.webhooks.map(\.name).joined(separator: ", "))\n".utf8))
                return 2
            }
            if let provider = args.value("provider"), provider != webhook.provider {
                throw UsageError("webhook \(webhookName) is configured with provider \(webhook.provider), not \(provider)")
            }
            var values: [SecretValue] = []
            let environment = try ProcessEnvironment.environmentName(args)
            let resolver = ProcessEnvironment.secretResolver(environment: environment,
                                                             database: try ProcessEnvironment.databaseFlag(args) ?? config.database).current()
            for ref in webhook.secrets {
                let resolved = resolver.resolveAll(ref)
                guard !resolved.isEmpty else {
                    FileHandle.standardError.write(Data("webhook \(webhookName): secret \(ref.name) is not set for environment \(environment)\n".utf8))
                    return 2
                }
                values += resolved
            }
            scheme = webhook.scheme.withTolerance(tolerance)
            secrets = values
            signer = "webhook \(webhookName) (provider \(webhook.provider))"
        } else {
            guard let provider = args.value("provider") else { throw UsageError("give --provider P --secret S, or --config FILE --webhook NAME") }
            guard provider != "custom" else { throw UsageError("--provider custom needs a scheme from config: use --config FILE --webhook NAME") }
            guard let preset = ProviderPreset.all[provider] else {
                throw UsageError("unknown provider \(provider); expected one of: \(ProviderPreset.list.map(\.name).joined(separator: ", "))")
            }
            let secret = try secretArgument(args)
            scheme = preset.scheme(tolerance)
            signer = "provider \(provider)"
            if let kind = scheme.algorithm.publicKeyKind {
                do throws(PublicKeyError) {
                    scheme.publicKeys = [try PublicKey(text: secret, expected: kind)]
                } catch {
                    throw UsageError("--secret for \(provider) is its public key, and this one is not a valid \(kind.displayName.dropFirst(3)) public key: \(error)")
                }
                secrets = []
            } else {
                secrets = [SecretValue(secret)]
            }
        }

        if tolerance != nil, scheme.timestamp == nil {
            // Ignored, it would let `valid` read as if the tolerance given had been applied.
            throw UsageError("--tolerance: \(signer) signs no timestamp, so there is no tolerance to change; drop --tolerance")
        }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let saved: SavedRequest
        do { saved = try SavedRequest(parsing: [UInt8](input)) } catch { throw UsageError("standard input: \(error)") }
        var url = saved.url
        if let override = args.value("url") {
            // --url names the exact URL the provider signed, so it wins over the webhook's "url".
            url = override
            scheme.publicURL = nil
        }
        return report(scheme, saved, url: url, secrets: secrets, now: now)
    }

    /// `--secret S`, or `--secret-env NAME`: the value of that environment variable, so that a
    /// signing secret need not be in the command line, which other local users can read (`ps`) and
    /// the shell's history keeps.
    private static func secretArgument(_ args: Arguments) throws(UsageError) -> String {
        switch (args.value("secret"), args.value("secret-env")) {
        case let (secret?, nil):
            return secret
        case let (nil, name?):
            guard let value = ProcessEnvironment.variable(name) else {
                throw UsageError("--secret-env \(TerminalText.escaped(name, newline: "\\n")): no such environment variable, or it is empty")
            }
            return value
        case (nil, nil):
            throw UsageError("--provider needs --secret S or --secret-env NAME")
        case (_?, _?):
            throw UsageError("give --secret or --secret-env, not both")
        }
    }

    private static func report(_ scheme: SignatureScheme, _ saved: SavedRequest, url: String, secrets: [SecretValue], now: Int64) -> Int32 {
        switch scheme.verify(saved.inbound(url: url), url: url, secrets: secrets, now: now) {
        case .success:
            print("valid")
            return 0
        case let .failure(failure):
            print("invalid: \(failure)")
            return 1
        }
    }
}
