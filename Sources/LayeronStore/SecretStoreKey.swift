import Foundation
import LayeronCore
import LayeronCrypto

/// The 32-byte AES-256 key that seals every value in the secrets store. It comes from
/// `LAYERON_MASTER_KEY`, else the file `LAYERON_MASTER_KEY_FILE` names, else (in development only) the
/// key file beside the database, which development creates on first use.
public struct MasterKey: Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    /// Where the key came from, for the startup log. Never the key itself.
    public enum Source: Sendable, Equatable, CustomStringConvertible {
        case environment
        case file(String)
        case created(String)

        public var description: String {
            switch self {
            case .environment: return "LAYERON_MASTER_KEY"
            case let .file(path): return path
            case let .created(path): return "\(path) (new development key)"
            }
        }
    }

    public var description: String { "<master key>" }

    /// A fresh random key, for a new development store or a test.
    public static func random() -> MasterKey { MasterKey(bytes: SecureRandom.bytes(AESGCM.keyLength)) }

    /// Finds the key: `LAYERON_MASTER_KEY`, then `LAYERON_MASTER_KEY_FILE`, then `developmentFile`
    /// (given only in the development environment, so another environment never runs on a key that was
    /// generated beside the data). With `create`, a missing development file is written with a new
    /// random key (mode 0600); without it (a store already exists, sealed with the key the file
    /// held), a missing file is `.keyFileMissing`. No key at all is `.noMasterKey`.
    public static func load(variables: [String: String], developmentFile: String?, create: Bool,
                            environment: String) throws(SecretStoreError) -> (key: MasterKey, source: Source) {
        if let text = variables["LAYERON_MASTER_KEY"], !text.isEmpty {
            return (try parse(text, source: "LAYERON_MASTER_KEY"), .environment)
        }
        if let path = variables["LAYERON_MASTER_KEY_FILE"], !path.isEmpty {
            return (try read(path), .file(path))
        }
        guard let developmentFile else { throw .noMasterKey(environment: environment) }
        if FileManager.default.fileExists(atPath: developmentFile) {
            return (try read(developmentFile), .file(developmentFile))
        }
        guard create else { throw .keyFileMissing(path: developmentFile) }
        let key = random()
        switch writeNew(key, to: developmentFile) {
        case .written: return (key, .created(developmentFile))
        // Another process (a `layeron secrets` command next to `serve`) made it first: use theirs.
        case .exists: return (try read(developmentFile), .file(developmentFile))
        case let .failed(reason): throw .keyFile(path: developmentFile, reason: reason)
        }
    }

    /// 64 hex characters, or base64 of 32 bytes; surrounding whitespace (a file's newline) is ignored.
    /// `source` names where the text came from in the error.
    public static func parse(_ text: String, source: String) throws(SecretStoreError) -> MasterKey {
        let trimmed = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
        if trimmed.utf8.count == AESGCM.keyLength * 2, let bytes = ByteEncoding.hex.decode(trimmed) {
            return MasterKey(bytes: bytes)
        }
        if let bytes = ByteEncoding.base64.decode(trimmed), bytes.count == AESGCM.keyLength {
            return MasterKey(bytes: bytes)
        }
        throw .badMasterKey(source: source)
    }

    private static func read(_ path: String) throws(SecretStoreError) -> MasterKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .keyFile(path: path, reason: UnreadableFile.reason(path))
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    private enum WriteOutcome { case written, exists, failed(String) }

    /// Writes a private temporary file and links it into place: a reader sees no file or the whole
    /// key, never half of one, and a file another process made first is kept.
    private static func writeNew(_ key: MasterKey, to path: String) -> WriteOutcome {
        let temporary: String
        switch key.writeTemporary(beside: path) {
        case let .success(path): temporary = path
        case let .failure(failure): return .failed(failure.reason)
        }
        defer { unlink(temporary) }
        guard link(temporary, path) == 0 else {
            return errno == EEXIST ? .exists : .failed(String(cString: strerror(errno)))
        }
        return .written
    }

    /// A key file written beside `path` but not yet in its place: `install()` renames it over `path`,
    /// `discard()` removes it. `secrets rekey` writes the development key file this way before it
    /// reseals the store, so the new key is on disk before anything depends on it.
    public struct PendingFile: Sendable {
        public let temporary: String
        public let path: String

        public func install() throws(SecretStoreError) {
            guard rename(temporary, path) == 0 else {
                throw .keyFile(path: path, reason: "cannot move the new key into place (\(String(cString: strerror(errno)))); the store is sealed with the key in \(temporary): move that file to \(path) yourself")
            }
        }

        public func discard() { unlink(temporary) }
    }

    /// Writes this key to a private file beside `path`, to be installed over it once the store is
    /// sealed with it.
    public func pendingFile(replacing path: String) throws(SecretStoreError) -> PendingFile {
        switch writeTemporary(beside: path) {
        case let .success(temporary): return PendingFile(temporary: temporary, path: path)
        case let .failure(failure): throw .keyFile(path: path, reason: failure.reason)
        }
    }

    private struct WriteFailure: Error { let reason: String }

    /// A file next to `path` holding the key in hex, mode 0600 from its creation (the key is never
    /// readable by others) and synced; the caller links or renames it into place.
    private func writeTemporary(beside path: String) -> Result<String, WriteFailure> {
        PrivateFolders.make(toFile: path)
        let temporary = "\(path).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(WriteFailure(reason: String(cString: strerror(errno)))) }
        let text = Array((ByteEncoding.hex.encode(bytes) + "\n").utf8)
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == text.count, synced else {
            unlink(temporary)
            return .failure(WriteFailure(reason: "cannot write the new key: \(String(cString: strerror(errno)))"))
        }
        return .success(temporary)
    }
}
