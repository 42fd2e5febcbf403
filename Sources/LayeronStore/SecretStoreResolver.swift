import Foundation
import LayeronCore

/// Resolves references from the secrets store for one environment. `current()` reads and decrypts the
/// whole environment once, so a snapshot sees one state of the store; a read that fails (a tampered
/// value, a locked file, a key that no longer opens it) is reported through `onFailure` and gives an
/// `UnreadableSecretSource`, which a snapshot refuses rather than fall back to the environment.
public struct SecretStoreResolver: SecretResolver {
    public let store: SecretStore
    public let environment: String
    private let onFailure: @Sendable (SecretStoreError) -> Void

    public init(store: SecretStore, environment: String, onFailure: @escaping @Sendable (SecretStoreError) -> Void) {
        self.store = store
        self.environment = environment
        self.onFailure = onFailure
    }

    public func resolve(_ reference: SecretReference) -> SecretValue? {
        resolveAll(reference).first
    }

    public func resolveAll(_ reference: SecretReference) -> [SecretValue] {
        do {
            return try store.values(reference.name, environment: environment, now: Self.nowMilliseconds())
        } catch {
            onFailure(error)
            return []
        }
    }

    public func current() -> any SecretResolver {
        do {
            return FixedSecretResolver(try store.allValues(environment: environment, now: Self.nowMilliseconds()))
        } catch {
            onFailure(error)
            return UnreadableSecretSource(reason: error.description)
        }
    }

    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
