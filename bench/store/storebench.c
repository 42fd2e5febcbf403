/*
 * Raw SQLite against Layeron's own schema, with no server in the way.
 *
 *   storebench ceiling DB ROWS   inserts ROWS inbound events shaped like the server's (1.2 KB body,
 *                                headers JSON, a dedupe key and its expiry) in transactions of 256, WAL and
 *                                synchronous=NORMAL, and prints {"rows":…,"seconds":…,"rows_per_s":…}.
 *                                That rate is the ceiling the server's ingestion is compared with.
 *   storebench seed DB ROWS      fills a store quickly for the large-store figures: the same rows,
 *                                received over the last 7 days, mostly processed, a few failed or
 *                                ignored, several webhooks and types, so every admin filter has work.
 *                                Their dedupe keys live for 7 days and the stored dedupe horizon covers
 *                                them, as a server that recorded them would have left it: a server
 *                                started on the store asks it on every dedupe miss, as after a restart.
 *   storebench lifecycle DB ROWS BATCH today|split
 *                                a model of the writer with a fast handler: each commit holds BATCH new
 *                                events and the finished attempts of the previous commit's events (the
 *                                attempt row and the event's new status), as the group commit does.
 *                                `today` updates the event row; `split` first moves the mutable columns
 *                                (status, attempt count, next attempt, response) and their indexes to a
 *                                table of their own and updates that. Prints rows/s, CPU µs and WAL frames
 *                                per event. A question for the schema, not a ceiling: the server never
 *                                runs the split shape.
 *
 * DB must already carry the schema (bench/run.sh starts the server on it once). The statements are
 * the ones EventStore.insert runs (the event row, then its headers and body in event_payloads) (the dedupe key lives on the event row; the dedupe horizon it
 * also keeps is written about once an hour, so it is left out).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

static const char *INSERT_EVENT =
    "INSERT INTO events (id, webhook, direction, provider, type, provider_event_id, dedupe_key, status, "
    "received_at, handler, next_attempt_at, ordering_key, dedupe_expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char *INSERT_PAYLOAD = "INSERT INTO event_payloads (seq, headers, body) VALUES (?1, ?2, ?3)";
static const char *HEADERS =
    "[[\"host\",\"localhost\"],[\"user-agent\",\"Stripe/1.0 (+https://stripe.com/docs/webhooks)\"],"
    "[\"content-type\",\"application/json; charset=utf-8\"],[\"accept\",\"*/*; q=0.5, application/xml\"],"
    "[\"cache-control\",\"no-cache\"],[\"stripe-signature\",\"t=1700000000,v1=9cdce058866825ebe65f6d1ff48c290f"
    "48231d92bc2752e44709c0c008f5e94a\"],[\"content-length\",\"1200\"]]";
static const char *TYPES[] = { "invoice.paid", "invoice.payment_failed", "checkout.session.completed",
                               "customer.subscription.updated", "charge.refunded" };
static const char *WEBHOOKS[] = { "stripe", "stripe", "stripe", "stripe-slow", "vendor" };

static const char *INSERT_ATTEMPT =
    "INSERT INTO attempts (event_seq, n, started_at, finished_at, outcome, error, replay, plugin, plugin_version) "
    "VALUES (?1, 1, ?2, ?2, 'ok', NULL, 0, 'bench', '1.0') "
    "ON CONFLICT (event_seq, n) DO UPDATE SET finished_at = excluded.finished_at, outcome = excluded.outcome";
static const char *UPDATE_EVENT =
    "UPDATE events SET status = 'processed', next_attempt_at = NULL, attempt_count = MAX(attempt_count, 1), "
    "response = COALESCE(NULL, response) WHERE seq = ?1";
static const char *SPLIT_SCHEMA =
    "DROP INDEX events_unsettled; DROP INDEX events_due_by_webhook; DROP INDEX events_ordering;"
    "CREATE TABLE event_state (seq INTEGER PRIMARY KEY, webhook TEXT NOT NULL, status TEXT NOT NULL,"
    "  attempt_count INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER, response TEXT);"
    "CREATE INDEX state_unsettled ON event_state(status, seq) WHERE status != 'processed';"
    "CREATE INDEX state_due_by_webhook ON event_state(webhook, next_attempt_at) WHERE next_attempt_at IS NOT NULL;";
static const char *INSERT_STATE =
    "INSERT INTO event_state (seq, webhook, status, next_attempt_at) VALUES (?1, 'stripe', 'pending', ?2)";
static const char *UPDATE_STATE =
    "UPDATE event_state SET status = 'processed', next_attempt_at = NULL, attempt_count = MAX(attempt_count, 1), "
    "response = COALESCE(NULL, response) WHERE seq = ?1";

static double now_seconds(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "storebench: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

/* A ULID-shaped id as EventID.make builds it: 48-bit milliseconds, then 80 random bits, Crockford base 32. */
static void event_id(char out[33], int64_t ms, uint64_t *rng) {
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    uint8_t v[16];
    for (int i = 0; i < 6; i++) v[i] = (uint8_t)(ms >> (8 * (5 - i)));
    for (int i = 6; i < 16; i++) {
        *rng = *rng * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (uint8_t)(*rng >> 56);
    }
    memcpy(out, "whevt_", 6);
    int bit = -2;
    for (int g = 0; g < 26; g++) {
        int group = 0;
        for (int b = 0; b < 5; b++, bit++) {
            group <<= 1;
            if (bit >= 0) group |= (v[bit / 8] >> (7 - bit % 8)) & 1;
        }
        out[6 + g] = alphabet[group];
    }
    out[32] = '\0';
}

/* Binds row n of ROWS (the seed's spread over a week, or the ceiling's fresh pending rows) to INSERT_EVENT,
 * and writes its body into `body` for INSERT_PAYLOAD. */
static void bind_event(sqlite3_stmt *event, long n, long rows, int seed, int64_t now_ms, uint64_t *rng, char body[1300]) {
    static const int64_t week_ms = 7LL * 86400 * 1000;
    char id[33], provider_id[40];
    int64_t received = seed ? now_ms - week_ms + (week_ms * n) / rows : now_ms + n / 1000;
    event_id(id, received, rng);
    snprintf(provider_id, sizeof provider_id, "evt_seed%s%012ld", seed ? "s" : "c", n);
    int kind = (int)(n % 5);
    const char *status = seed ? (n % 50 == 7 ? "failed" : n % 100 == 3 ? "ignored" : "processed") : "pending";
    int blen = snprintf(body, 1300, "{\"id\":\"%s\",\"type\":\"%s\",\"data\":{}", provider_id,
                        seed ? TYPES[kind] : "invoice.paid");
    body[blen] = 'x';
    memcpy(body + 1198, "}", 1);
    const char *webhook = seed ? WEBHOOKS[kind] : "stripe";
    sqlite3_bind_text(event, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(event, 2, webhook, -1, SQLITE_STATIC);
    sqlite3_bind_text(event, 3, "inbound", -1, SQLITE_STATIC);
    sqlite3_bind_text(event, 4, "stripe", -1, SQLITE_STATIC);
    sqlite3_bind_text(event, 5, seed ? TYPES[kind] : "invoice.paid", -1, SQLITE_STATIC);
    sqlite3_bind_text(event, 6, provider_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(event, 7, provider_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(event, 8, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(event, 9, received);
    sqlite3_bind_text(event, 10, "bench.noop", -1, SQLITE_STATIC);
    if (seed) sqlite3_bind_null(event, 11); else sqlite3_bind_int64(event, 11, received);
    sqlite3_bind_null(event, 12);
    sqlite3_bind_int64(event, 13, received + week_ms);
}


/* Counts the WAL frames every commit appends and checkpoints as the automatic checkpoint would (at
 * 1,000 pages): installing a WAL hook turns the automatic one off. */
static long wal_frames = 0;
static int count_frames(void *last, sqlite3 *db, const char *name, int pages) {
    int *previous = last;
    wal_frames += pages - *previous;
    *previous = pages;
    if (pages >= 1000) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        *previous = 0;
    }
    return SQLITE_OK;
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *stmt;
    check(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), db, sql);
    return stmt;
}

static void step(sqlite3_stmt *stmt, sqlite3 *db, const char *what) {
    check(sqlite3_step(stmt), db, what);
    sqlite3_reset(stmt);
}

/* Inserts the event bound to `event`, then its headers and body into event_payloads, as EventStore.insert
 * does; returns the event's seq. */
static int64_t insert_event(sqlite3 *db, sqlite3_stmt *event, sqlite3_stmt *payload, const char body[1300]) {
    step(event, db, "insert event");
    int64_t seq = sqlite3_last_insert_rowid(db);
    sqlite3_bind_int64(payload, 1, seq);
    sqlite3_bind_text(payload, 2, HEADERS, -1, SQLITE_STATIC);
    sqlite3_bind_blob(payload, 3, body, 1199, SQLITE_TRANSIENT);
    step(payload, db, "insert payload");
    return seq;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static int lifecycle(sqlite3 *db, long rows, long batch, int split) {
    if (split) check(sqlite3_exec(db, SPLIT_SCHEMA, NULL, NULL, NULL), db, "split schema");
    sqlite3_stmt *event = prepare(db, INSERT_EVENT), *attempt = prepare(db, INSERT_ATTEMPT);
    sqlite3_stmt *payload = prepare(db, INSERT_PAYLOAD);
    sqlite3_stmt *update = prepare(db, split ? UPDATE_STATE : UPDATE_EVENT);
    sqlite3_stmt *state = split ? prepare(db, INSERT_STATE) : NULL;
    int last_frames = 0;
    sqlite3_wal_hook(db, count_frames, &last_frames);
    char body[1300];
    memset(body, 'x', sizeof body);
    int64_t now_ms = (int64_t)(now_seconds() * 1000);
    uint64_t rng = 42;
    int64_t *previous = calloc((size_t)batch, sizeof *previous);
    long finishing = 0;
    double start = now_seconds(), cpu = cpu_seconds();
    for (long n = 0; n < rows || finishing > 0;) {
        check(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), db, "begin");
        for (long i = 0; i < finishing; i++) {
            sqlite3_bind_int64(attempt, 1, previous[i]);
            sqlite3_bind_int64(attempt, 2, now_ms);
            step(attempt, db, "attempt");
            sqlite3_bind_int64(update, 1, previous[i]);
            step(update, db, "update");
        }
        finishing = 0;
        for (; n < rows && finishing < batch; n++) {
            bind_event(event, n, rows, 0, now_ms, &rng, body);
            if (split) sqlite3_bind_null(event, 11);
            int64_t seq = insert_event(db, event, payload, body);
            if (split) {
                sqlite3_bind_int64(state, 1, seq);
                sqlite3_bind_int64(state, 2, now_ms);
                step(state, db, "insert state");
            }
            previous[finishing++] = seq;
        }
        check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    }
    double seconds = now_seconds() - start;
    cpu = cpu_seconds() - cpu;
    printf("{\"shape\":\"%s\",\"batch\":%ld,\"rows\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.0f,\"cpu_us_per_row\":%.1f,\"wal_frames_per_row\":%.2f}\n",
           split ? "split" : "today", batch, rows, seconds, rows / seconds, cpu * 1e6 / rows, (double)wal_frames / rows);
    return 0;
}

int main(int argc, char **argv) {
    int model = argc == 6 && strcmp(argv[1], "lifecycle") == 0
                && (strcmp(argv[5], "today") == 0 || strcmp(argv[5], "split") == 0) && atol(argv[4]) > 0;
    if (!model && (argc != 4 || (strcmp(argv[1], "ceiling") != 0 && strcmp(argv[1], "seed") != 0))) {
        fprintf(stderr, "usage: storebench ceiling|seed DB ROWS | storebench lifecycle DB ROWS BATCH today|split\n");
        return 2;
    }
    int seed = strcmp(argv[1], "seed") == 0;
    long rows = atol(argv[3]);
    sqlite3 *db;
    check(sqlite3_open(argv[2], &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL), db, "pragma");
    if (model) return lifecycle(db, rows, atol(argv[4]), strcmp(argv[5], "split") == 0);
    sqlite3_stmt *event = prepare(db, INSERT_EVENT), *payload = prepare(db, INSERT_PAYLOAD);

    char body[1300];
    memset(body, 'x', sizeof body);
    int64_t now_ms = (int64_t)(now_seconds() * 1000);
    uint64_t rng = 42;
    double start = now_seconds();
    for (long n = 0; n < rows; n++) {
        if (n % 256 == 0) check(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db, "begin");
        bind_event(event, n, rows, seed, now_ms, &rng, body);
        insert_event(db, event, payload, body);
        if (n % 256 == 255 || n == rows - 1) check(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db, "commit");
    }
    double seconds = now_seconds() - start;
    if (seed) {
        sqlite3_stmt *horizon = prepare(db, "UPDATE dedupe_horizon SET live_until = MAX(live_until, ?1)");
        sqlite3_bind_int64(horizon, 1, now_ms + 7LL * 86400 * 1000);
        step(horizon, db, "dedupe horizon");
        sqlite3_finalize(horizon);
    }
    sqlite3_finalize(event);
    sqlite3_finalize(payload);
    sqlite3_close(db);
    printf("{\"rows\":%ld,\"seconds\":%.3f,\"rows_per_s\":%.0f}\n", rows, seconds, rows / seconds);
    return 0;
}
