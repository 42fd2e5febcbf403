import LayeronCrypto

/// Why the secrets store or its master key could not be used. Messages name the file, the secret and
/// the environment, and what to do; they never hold a secret value or key bytes.
public enum SecretStoreError: Error, CustomStringConvertible, Sendable {
    case sqlite(path: String, SQLiteError)
    /// OpenSSL refused to seal; nothing was written.
    case crypto(path: String, AESGCMError)
    /// The store was sealed under another master key.
    case wrongKey(path: String)
    /// One value's bytes changed, or the row was moved to another name, environment or version.
    case cannotDecrypt(path: String, name: String, environment: String, version: Int64)
    case notFound(name: String, environment: String)
    /// `secrets rm` of a name the store does not hold.
    case nothingToRemove(name: String, environment: String)
    case newerSchema(path: String, version: Int64, known: Int)
    /// A non-development environment and no key anywhere.
    case noMasterKey(environment: String)
    /// `LAYERON_MASTER_KEY` or a key file does not hold 32 bytes in hex or base64.
    case badMasterKey(source: String)
    case keyFile(path: String, reason: String)
    /// The development key file is gone while the store it sealed is still there.
    case keyFileMissing(path: String)
    case invalidName
    case invalidEnvironment(String)
    case emptyValue(name: String)

    public var description: String {
        switch self {
        case let .sqlite(path, error):
            return "secrets store \(path): \(error)"
        case let .crypto(path, error):
            return "secrets store \(path): \(error)"
        case let .wrongKey(path):
            return "the master key does not open the secrets store \(path): it was created with another key; set LAYERON_MASTER_KEY or LAYERON_MASTER_KEY_FILE to the key it was made with"
        case let .cannotDecrypt(path, name, environment, version):
            return "secret \(name) (environment \(environment), version \(version)) in \(path) does not decrypt: its bytes were changed or it was moved from another name or environment; set it again with `layeron secrets set \(name) --env \(environment)`"
        case let .notFound(name, environment):
            return "secret \(name) is not in the store for environment \(environment); set it with `layeron secrets set \(name) --env \(environment)`"
        case let .nothingToRemove(name, environment):
            return "secret \(name) is not in the store for environment \(environment), so there is nothing to remove; `layeron secrets list` shows the names it holds"
        case let .newerSchema(path, version, known):
            return "secrets store \(path) has schema version \(version), newer than this build knows (\(known)); upgrade layeron"
        case let .noMasterKey(environment):
            return "environment \(environment) needs a master key for the secrets store: set LAYERON_MASTER_KEY (64 hex characters, from `openssl rand -hex 32`) or LAYERON_MASTER_KEY_FILE (a file holding one); only development makes its own key"
        case let .badMasterKey(source):
            return "the master key in \(source) is not 32 bytes written as 64 hex characters or base64; make one with `openssl rand -hex 32`"
        case let .keyFile(path, reason):
            return "master key file \(path): \(reason)"
        case let .keyFileMissing(path):
            return "master key file \(path) is missing, but the secrets store beside it exists and was sealed with the key it held (a new key would not open it): restore the file, or set LAYERON_MASTER_KEY or LAYERON_MASTER_KEY_FILE to that key"
        case .invalidName:
            // Not echoed: a value pasted where the name belongs must not be printed back.
            return "that secret name is not valid; use letters, digits and _ (like STRIPE_WEBHOOK_SECRET)"
        case let .invalidEnvironment(name):
            return "invalid environment name \"\(name)\"; use letters, digits, - and _ (like production)"
        case let .emptyValue(name):
            return "the value for secret \(name) is empty; write it on standard input"
        }
    }
}
