import Foundation
import LayeronCore
import Synchronization

extension Server {
    /// The secrets store changed (`layeron secrets set/rotate/rm`): the running config with the values
    /// as they are now. The config file is not read again, so a half-edited file cannot hold back a
    /// rotation or the replacement of a leaked value. A reference whose value is gone (`secrets rm`
    /// of a name the config still uses) keeps the value it had, logged as an error: refusing the
    /// whole reload would also hold back every other change until the config is edited.
    public func reloadSecrets() {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        let config = snapshots.snapshot.config
        let view = resolver.current()
        if let reason = view.unreadable {
            logger.error("secrets reload refused, keeping the running values: cannot read the secrets store: \(reason)")
            return
        }
        let effective = ChainedSecretResolver([view, FixedSecretResolver(keptValues(of: config, in: view))])
        let snapshot: RuntimeSnapshot
        do {
            snapshot = try RuntimeSnapshot(config: config, configFile: options.configPath, resolver: effective,
                                           environment: options.environment, metrics: metrics)
        } catch {
            logger.error("secrets reload refused, keeping the running values: \(error)")
            return
        }
        snapshots.swap(snapshot)
        lastValues.remember(config, from: effective)
        snapshot.unverifiableSecrets.forEach { logger.error($0) }
        logger.info("secrets reloaded")
    }

    /// The running values of the references of `config` that `view` resolves nowhere any more (`secrets
    /// rm` of a name the config still uses), each name logged as an error. A reference that had no
    /// value in the running config is not among them.
    func keptValues(of config: ServerConfig, in view: any SecretResolver) -> [String: [SecretValue]] {
        let gone = Set(config.secretReferences.map(\.reference.name).filter { view.resolveAll(SecretReference(name: $0)).isEmpty })
        let kept = lastValues.values(named: gone)
        for name in gone.sorted() where kept[name] != nil {
            logger.error("secret \(name) is no longer set, but the config still references it: the running server keeps its last value until the config stops using it or the secret is set again (to revoke a value, set a new one)")
        }
        return kept
    }
}

/// Every value of each secret reference of the running config, as the last snapshot resolved it.
final class LastSecretValues: Sendable {
    private let values = Mutex<[String: [SecretValue]]>([:])

    func remember(_ config: ServerConfig, from resolver: any SecretResolver) {
        let view = resolver.current()
        var resolved: [String: [SecretValue]] = [:]
        for (_, reference) in config.secretReferences { resolved[reference.name] = view.resolveAll(reference) }
        values.withLock { $0 = resolved }
    }

    func values(named names: Set<String>) -> [String: [SecretValue]] {
        values.withLock { all in all.filter { names.contains($0.key) && !$0.value.isEmpty } }
    }
}
