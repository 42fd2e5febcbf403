/// The schema, as an ordered list of steps. `PRAGMA user_version` records how many have run; a new
/// version appends a step and never edits a released one.
enum Migrations {
    static let steps: [String] = [
        """
        CREATE TABLE events (
            seq               INTEGER PRIMARY KEY,     -- insertion order: cheap appends, keyset pages
            id                TEXT NOT NULL UNIQUE,    -- whevt_…, time-sortable so the index appends
            webhook           TEXT NOT NULL,
            direction         TEXT NOT NULL,           -- inbound | outbound
            provider          TEXT NOT NULL,
            type              TEXT NOT NULL,
            provider_event_id TEXT,
            dedupe_key        TEXT,
            status            TEXT NOT NULL,           -- pending | processed | failed | ignored
            received_at       INTEGER NOT NULL,        -- Unix ms
            headers           TEXT NOT NULL,           -- JSON array of [name, value]
            body              BLOB NOT NULL,
            duplicates        INTEGER NOT NULL DEFAULT 0,
            attempt_count     INTEGER NOT NULL DEFAULT 0,
            handler           TEXT,                    -- PLUGIN.HANDLER chosen at receipt
            next_attempt_at   INTEGER                  -- Unix ms; NULL when nothing is scheduled
        );
        CREATE INDEX events_due ON events(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
        CREATE TABLE attempts (
            event_seq      INTEGER NOT NULL,
            n              INTEGER NOT NULL,
            started_at     INTEGER NOT NULL,
            finished_at    INTEGER,
            outcome        TEXT,                       -- ok | retry | error; NULL while running
            error          TEXT,
            replay         INTEGER NOT NULL,
            plugin         TEXT,
            plugin_version TEXT,
            PRIMARY KEY (event_seq, n)
        ) WITHOUT ROWID;
        CREATE TABLE dedupe (
            webhook    TEXT NOT NULL,
            key        TEXT NOT NULL,
            event_seq  INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,               -- Unix ms
            PRIMARY KEY (webhook, key)
        ) WITHOUT ROWID;
        """,
    ]

    /// Runs the `steps` (the events schema unless told otherwise) that `db` has not run yet.
    static func migrate(_ db: SQLiteConnection, steps: [String] = Migrations.steps) throws(SQLiteError) {
        let version = try db.statement("PRAGMA user_version")
        _ = try version.step()
        let current = Int(version.int(0))
        version.reset()
        guard current < steps.count else { return }
        for (index, step) in steps.enumerated() where index >= current {
            try db.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                try db.execute(step)
                try db.execute("PRAGMA user_version = \(index + 1)")
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
        }
    }
}
