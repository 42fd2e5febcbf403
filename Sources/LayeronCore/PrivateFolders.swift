import Foundation

/// The folders the server creates for its files (the database, the secrets store and its key):
/// each one it has to make is made mode 0700, whatever the umask. With the default mode a loose
/// umask (`umask 000`) left them writable by every local user, who could then delete or swap the
/// master key and the secrets store beside it. Folders that exist are left as they are.
public enum PrivateFolders {
    /// Makes the missing folders on the way to the file at `path`; failures are left to the open
    /// of the file that follows, which names the path.
    public static func make(toFile path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        guard !folder.isEmpty else { return }
        var built = folder.hasPrefix("/") ? "" : "."
        for component in folder.split(separator: "/", omittingEmptySubsequences: true) {
            built += "/" + component
            if mkdir(built, 0o700) != 0 && errno != EEXIST { return }
        }
    }
}
