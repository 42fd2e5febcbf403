/// Why the events database could not be opened. A file written by a newer build is its own case:
/// SQLite found nothing wrong with it, so its message must not read as an SQLite failure.
public enum EventStoreOpenError: Error, CustomStringConvertible, Sendable {
    case sqlite(SQLiteError)
    /// The file's `user_version` counts more schema steps than this build has.
    case newerSchema(version: Int64, known: Int)
    /// The path is a folder (SQLite would say only "unable to open database file").
    case directory

    public var description: String {
        switch self {
        case let .sqlite(error):
            return error.description
        case let .newerSchema(version, known):
            return "its schema version is \(version), newer than this build knows (\(known)): a newer layeron wrote it; run that build, or point --database at another file"
        case .directory:
            return "it is a folder, not a database file: --database (or the config's `database`) names the file, such as data/layeron.db"
        }
    }
}
