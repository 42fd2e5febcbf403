#!/usr/bin/env bash
# The quick loop behind docs/performance.md items 27-29: one ingest run of the bench config (two
# `wrk -t1 -c32` on files of unique signed Stripe events, a no-op handler), and around a window in its
# middle (after wrk has loaded its files) the CPU of every server and wrk thread in µs per event, the
# machine's idle and softirq shares, and the bytes the server wrote per event. No nginx, no report
# files: compare builds by running them in turns (`bench/quick.sh OLD; bench/quick.sh NEW; …`), and
# trust only differences larger than back-to-back runs of one build (about 10% here).
#
# Usage: bench/quick.sh [LAYERON_BINARY]   (default .build/release/layeron)
# Knobs: QUICK_DURATION seconds of load (8; the window is from 3 s to 1 s before the end),
#        QUICK_COUNT requests per wrk file (150000),
#        QUICK_SCATTERED=1 random event ids (as GitHub's and Shopify's UUIDs) instead of counting ones,
#        QUICK_CONFIG a config instead of bench/layeron-bench.json (its /webhooks/stripe endpoint is driven),
#        QUICK_DATABASE a store to start from (copied first; e.g. one `storebench seed` filled), else a fresh one,
#        QUICK_COLD=1 the page cache dropped before the server starts (root only), as after a reboot,
#        QUICK_DRAIN=1 after the load, time the drain of the pending events (up to 5 minutes) and the
#        server's CPU per drained event (docs/performance.md items 43 and 45; use a config whose
#        handler is slower than the load, e.g. one of bench/plugins' sleep_1ms with a concurrency cap).
# Also prints, from /metrics, the share of store appends (enqueue to commit) slower than 5 and 10 ms,
# the writer's side of the latency tail and far steadier between runs than wrk's p99, how often
# and how long the writer's own WAL checkpoint held the commits, and the writer's batch size.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BINARY=$(realpath "${1:-$ROOT/.build/release/layeron}")
DURATION=${QUICK_DURATION:-8}
COUNT=${QUICK_COUNT:-150000}
RUN=$(mktemp -d /tmp/layeron-quick.XXXXXX)
SERVER=""
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$RUN"
}
trap cleanup EXIT
mkdir -p "$RUN/plugins" "$RUN/data"
cc -shared -fPIC -O2 -I "$ROOT/Sources/CLayeronPlugin/include" -o "$RUN/plugins/bench.so" "$ROOT/bench/plugins/bench.c"
cp "${QUICK_CONFIG:-$ROOT/bench/layeron-bench.json}" "$RUN/layeron.json"
SECRET="whsec_quick_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
for p in 1 2; do
    python3 "$ROOT/bench/make_requests.py" --out "$RUN/requests.$p" --count "$COUNT" --secret "$SECRET" --salt "q$p$$" ${QUICK_SCATTERED:+--scattered-ids} &
done
wait
DATABASE="$RUN/data/quick.db"
if [ -n "${QUICK_DATABASE:-}" ]; then cp "$QUICK_DATABASE" "$DATABASE"; sync; fi
# A start after a reboot: nothing of the store in the page cache (needs root).
if [ -n "${QUICK_COLD:-}" ]; then sync; echo 1 > /proc/sys/vm/drop_caches; fi
(cd "$RUN" && LAYERON_ENV=bench LAYERON_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') \
    STRIPE_WEBHOOK_SECRET="$SECRET" LAYERON_ADMIN_TOKEN=quick \
    exec "$BINARY" serve --config "$RUN/layeron.json" --database "$DATABASE" --log-level warn --log-format json \
    > "$RUN/server.out" 2> "$RUN/server.err") &
SERVER=$!
for _ in $(seq 1 100); do grep -q "^admin listening" "$RUN/server.out" 2>/dev/null && break; sleep 0.1; done
PUBLIC=$(sed -n 's/^listening on //p' "$RUN/server.out")
[ -n "$PUBLIC" ] || { cat "$RUN/server.err" >&2; exit 1; }
WRK=()
for p in 1 2; do
    wrk -t1 -c32 -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/wrk/walk.lua" "http://$PUBLIC/webhooks/stripe" -- "$RUN/requests.$p" \
        > "$RUN/wrk.$p" 2>&1 &
    WRK+=($!)
done
seqs() { sqlite3 "$DATABASE" "SELECT COALESCE(MAX(seq), 0) FROM events"; }
sleep 3
python3 "$ROOT/bench/threads.py" snap "$RUN/threads.0" "$SERVER" "${WRK[@]}"
head -1 /proc/stat > "$RUN/stat.0"; awk '/^write_bytes/ {print $2}' "/proc/$SERVER/io" > "$RUN/io.0"; seqs > "$RUN/seq.0"
sleep $((DURATION - 4))
python3 "$ROOT/bench/threads.py" snap "$RUN/threads.1" "$SERVER" "${WRK[@]}"
head -1 /proc/stat > "$RUN/stat.1"; awk '/^write_bytes/ {print $2}' "/proc/$SERVER/io" > "$RUN/io.1"; seqs > "$RUN/seq.1"
wait "${WRK[@]}"
pending() { sqlite3 "$DATABASE" "SELECT COUNT(*) FROM events WHERE status = 'pending'"; }
if [ -n "${QUICK_DRAIN:-}" ]; then
    # How fast the backlog left by the load drains, and the server's CPU (clock ticks) meanwhile.
    ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
    START=$(date +%s%N); TICKS=$(ticks); LEFT=$(pending)
    echo "drain: $LEFT events pending when the load ended"
    for _ in $(seq 1 600); do
        P=$(pending)
        [ "$P" = 0 ] && break
        sleep 0.5
    done
    MS=$(( ($(date +%s%N) - START) / 1000000 ))
    echo "drain: $((LEFT - P)) events in $MS ms = $(( (LEFT - P) * 1000 / (MS > 0 ? MS : 1) )) events/s, $P still pending," \
         "server CPU $(( ($(ticks) - TICKS) * 10000 / ((LEFT - P) > 0 ? (LEFT - P) : 1) )) µs per drained event"
else
    for _ in $(seq 1 100); do
        [ "$(pending)" = 0 ] && break
        sleep 0.2
    done
fi
ADMIN=$(sed -n 's/^admin listening on //p' "$RUN/server.out")
curl -s -H "Authorization: Bearer quick" "http://$ADMIN/metrics" > "$RUN/metrics" || true
kill -TERM "$SERVER"; wait "$SERVER" || true; SERVER=""
EVENTS=$(( $(cat "$RUN/seq.1") - $(cat "$RUN/seq.0") ))
REQUESTS=0
for p in 1 2; do
    grep WRKJSON "$RUN/wrk.$p" | sed 's/^WRKJSON //'
    REQUESTS=$((REQUESTS + $(grep -o '"requests":[0-9]*' "$RUN/wrk.$p" | cut -d: -f2)))
done
echo "requests $REQUESTS = $((REQUESTS / DURATION)) req/s; events stored, processed: $(sqlite3 "$DATABASE" "SELECT COUNT(*), SUM(status = 'processed') FROM events")"
python3 "$ROOT/bench/threads.py" diff "$RUN/threads.0" "$RUN/threads.1" "$EVENTS"
python3 "$ROOT/bench/threads.py" stat "$RUN/stat.0" "$RUN/stat.1"
# The writer's side of the tail: appends (enqueue to commit) slower than 5 and 10 ms, whole run.
awk -F'[{}" ]+' '/^layeron_store_append_seconds_bucket/ { for (i = 1; i < NF; i++) if ($i == "le=") b[$(i + 1)] = $NF }
    /^layeron_store_append_seconds_count/ { n = $NF }
    END { if (n > 0) printf "store appends over 5 ms: %.2f%%, over 10 ms: %.2f%% of %d\n", 100 * (n - b["0.005"]) / n, 100 * (n - b["0.01"]) / n, n }' "$RUN/metrics"
awk '/^layeron_store_wal_restart_seconds_sum/ { sum = $2 } /^layeron_store_wal_restart_seconds_count/ { n = $2 }
    END { if (n > 0) printf "writer WAL restarts: %d, %.1f ms each on average\n", n, 1000 * sum / n }' "$RUN/metrics"
awk '/^layeron_store_batches_total/ { b = $2 } /^layeron_store_batch_jobs_total/ { j = $2 }
    END { if (b > 0) printf "writer batches: %d, %.1f jobs each on average\n", b, j / b }' "$RUN/metrics"
echo "written by the server: $(( ($(cat "$RUN/io.1") - $(cat "$RUN/io.0")) / EVENTS )) bytes per event"
