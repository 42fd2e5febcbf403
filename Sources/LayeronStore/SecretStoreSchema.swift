/// The secrets store's schema, versioned like the events database (`PRAGMA user_version`, append a
/// step, never edit a released one). The file is separate from the events database so that it can
/// be mode 0600, backed up on its own, and never travel with an events export.
enum SecretStoreSchema {
    static let steps: [String] = [
        """
        CREATE TABLE secret_versions (
            name        TEXT NOT NULL,
            environment TEXT NOT NULL,
            version     INTEGER NOT NULL,            -- grows with each set or rotate of one name
            sealed      BLOB NOT NULL,               -- AES-256-GCM: nonce ‖ ciphertext ‖ tag
            created_at  INTEGER NOT NULL,            -- Unix ms
            expires_at  INTEGER,                     -- NULL: the primary; else the end of a rotation's grace (Unix ms)
            PRIMARY KEY (name, environment, version)
        ) WITHOUT ROWID;
        CREATE TABLE store_key_check (
            id     INTEGER PRIMARY KEY CHECK (id = 1),
            sealed BLOB NOT NULL                     -- a known text sealed under the master key
        );
        """,
    ]
}
