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
        """
        ALTER TABLE events ADD COLUMN response TEXT;       -- after-handler answer, replayed to duplicates
        ALTER TABLE events ADD COLUMN ordering_key TEXT;   -- ordering "per-key": one at a time per key
        CREATE INDEX events_ordering ON events(webhook, ordering_key, seq)
            WHERE ordering_key IS NOT NULL AND status = 'pending';
        CREATE INDEX dedupe_expiry ON dedupe(expires_at);
        CREATE INDEX events_due_by_webhook ON events(webhook, next_attempt_at) WHERE next_attempt_at IS NOT NULL;
        """,
        """
        -- Admin list filters: each walks an index in row order, so pages stay fast on millions of rows.
        CREATE INDEX events_by_webhook ON events(webhook, seq);
        CREATE INDEX events_by_type ON events(type, seq);
        CREATE INDEX events_unsettled ON events(status, seq) WHERE status != 'processed';
        CREATE INDEX events_outbound ON events(seq) WHERE direction = 'outbound';
        CREATE INDEX events_by_received ON events(received_at);
        CREATE INDEX events_by_dedupe_key ON events(dedupe_key) WHERE dedupe_key IS NOT NULL;
        CREATE INDEX events_by_provider_id ON events(provider_event_id) WHERE provider_event_id IS NOT NULL;
        ALTER TABLE events ADD COLUMN replay_at INTEGER;  -- an operator's replay scheduled for later
        CREATE INDEX events_replay_due ON events(replay_at) WHERE replay_at IS NOT NULL;
        """,
        """
        -- Outbound deliveries: what each attempt got back. Idempotency keys of emitted events live in
        -- the dedupe table under the destination's name (config keeps those apart from webhook names).
        ALTER TABLE attempts ADD COLUMN status_code INTEGER;       -- the receiver's HTTP status; NULL on a transport error
        ALTER TABLE attempts ADD COLUMN latency_ms INTEGER;
        ALTER TABLE attempts ADD COLUMN response_headers TEXT;     -- JSON array of [name, value], at most 8 KB
        ALTER TABLE attempts ADD COLUMN response_body BLOB;        -- the first 4 KB of the answer
        ALTER TABLE attempts ADD COLUMN transport_error TEXT;      -- refused address, DNS, connect, TLS, timeout
        CREATE TABLE outbound_destinations (
            name            TEXT PRIMARY KEY,
            disabled_at     INTEGER,                   -- Unix ms; set when the receiver answered 410 Gone
            disabled_reason TEXT
        ) WITHOUT ROWID;
        """,
        """
        -- events_due_by_webhook serves every due-event query; the older single-column index only
        -- cost a write on every status change.
        DROP INDEX IF EXISTS events_due;
        """,
        """
        -- Dedupe keys live on their event: the event row already carries the key, so a separate table
        -- cost two more b-tree inserts per event (its key and its expiry index) for nothing the event's
        -- own index on (dedupe_key, webhook) cannot answer. Expired keys no longer need a sweep: the
        -- lookup ignores them and they go with their event. The horizon bounds every live key's
        -- expiry, so a restart knows until when a miss in memory must still ask the store.
        ALTER TABLE events ADD COLUMN dedupe_expires_at INTEGER;  -- Unix ms; NULL when the key folds nothing
        UPDATE events SET dedupe_expires_at = (
            SELECT d.expires_at FROM dedupe d WHERE d.webhook = events.webhook AND d.key = events.dedupe_key AND d.event_seq = events.seq)
        WHERE dedupe_key IS NOT NULL;
        CREATE TABLE dedupe_horizon (live_until INTEGER NOT NULL);  -- one row, Unix ms
        INSERT INTO dedupe_horizon SELECT COALESCE(MAX(expires_at), 0) FROM dedupe;
        DROP TABLE dedupe;
        DROP INDEX events_by_dedupe_key;
        CREATE INDEX events_by_dedupe ON events(dedupe_key, webhook) WHERE dedupe_key IS NOT NULL;
        -- Most providers' dedupe key is their event id: an event whose id is its dedupe key is found
        -- by the search through events_by_dedupe, so only the others need an index of their own.
        DROP INDEX events_by_provider_id;
        CREATE INDEX events_by_other_provider_id ON events(provider_event_id)
            WHERE provider_event_id IS NOT NULL AND provider_event_id IS NOT dedupe_key;
        """,
        """
        -- Headers and body beside the event row: they never change, while the row is updated when its
        -- handler finishes. With them inline a row was about 2 KB, so that update rewrote a page per
        -- two events; a row of about 300 bytes shares its page with dozens, and a batch's updates
        -- touch a page or two.
        CREATE TABLE event_payloads (
            seq     INTEGER PRIMARY KEY,                   -- the event's seq
            headers TEXT NOT NULL,                         -- JSON array of [name, value]
            body    BLOB NOT NULL
        );
        INSERT INTO event_payloads (seq, headers, body) SELECT seq, headers, body FROM events;
        ALTER TABLE events DROP COLUMN headers;
        ALTER TABLE events DROP COLUMN body;
        """,
        """
        -- An event's id begins with its received_at (EventID: 48-bit milliseconds, then random bits),
        -- so the id's unique index orders events by time as this one did. Every event paid for both
        -- (docs/performance.md, item 51); time ranges now go through the id.
        DROP INDEX IF EXISTS events_by_received;
        """,
        """
        -- An operator's replays, a row each from the request until its attempt starts: the request is
        -- answered 202 once its row is committed, and the attempt's start record takes the row in the
        -- same transaction, so a crash neither loses an acknowledged replay nor runs one twice, and
        -- several replays of one event asked for while it is busy stay several. They replace the
        -- events' replay_at column, which held one scheduled replay per event. Dropping that column
        -- rewrites the events table once.
        CREATE TABLE replay_requests (
            id        INTEGER PRIMARY KEY,
            event_seq INTEGER NOT NULL,
            due_at    INTEGER NOT NULL                 -- Unix ms: when it was asked for, or its `at`
        );
        CREATE INDEX replay_requests_by_event ON replay_requests(event_seq, due_at);
        CREATE INDEX replay_requests_due ON replay_requests(due_at);
        INSERT INTO replay_requests (event_seq, due_at) SELECT seq, replay_at FROM events WHERE replay_at IS NOT NULL;
        DROP INDEX events_replay_due;
        ALTER TABLE events DROP COLUMN replay_at;
        """,
        """
        -- The highest seq a purge deleted: new events are numbered above it and above every stored
        -- one (EventNumbering), so a purged event's seq is never given to another event. Without
        -- it, SQLite's MAX(seq) + 1 gave the purged newest events' numbers again, and their
        -- attempt records and replays landed on the events that took them. One row.
        CREATE TABLE seq_high_water (seq INTEGER NOT NULL);
        INSERT INTO seq_high_water SELECT COALESCE(MAX(seq), 0) FROM events;
        """,
        """
        -- Builds before step 10 could purge an event while its replay ran, and the replay's attempt
        -- record outlived it; step 10 set the high-water mark from the events alone, so the first new
        -- event took that seq and the leftover attempt with it (a replay it never had). The mark now
        -- covers every seq any table names, and records of events that are gone are dropped. Payloads
        -- are dropped only above the newest event: below it no new event can take their seq.
        UPDATE seq_high_water SET seq = MAX(seq,
            COALESCE((SELECT MAX(event_seq) FROM attempts), 0),
            COALESCE((SELECT MAX(event_seq) FROM replay_requests), 0),
            COALESCE((SELECT MAX(seq) FROM event_payloads), 0));
        DELETE FROM attempts WHERE event_seq NOT IN (SELECT seq FROM events);
        DELETE FROM replay_requests WHERE event_seq NOT IN (SELECT seq FROM events);
        DELETE FROM event_payloads WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM events);
        """,
    ]

    /// Runs the `steps` (the events schema unless told otherwise) that `db` has not run yet.
    static func migrate(_ db: SQLiteConnection, steps: [String] = Migrations.steps) throws(SQLiteError) {
        let version = try db.prepared("PRAGMA user_version")
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
