#!/usr/bin/env bash
# `make bench`: Layeron's throughput, latency and memory against the machine's own ceilings, measured
# in one invocation so that the ratios hold even when the absolute figures move with machine load.
# See docs/performance.md for what each figure means. Expects the release products layeron and
# layeron-bench (.build/release) and
# wrk, nginx, valgrind and sqlite3 on PATH (the Makefile's bench target installs them).
#
# Knobs (environment): BENCH_DURATION seconds per load run (10), BENCH_RATE expected requests/s per
# wrk process, to size the unique-id request files (22000; a run that walks past the end of its
# files sends ids again, and the report names it), BENCH_SEED_ROWS events in the large store
# (1000000), BENCH_CALLGRIND_REQUESTS (2000), BENCH_BINARY (.build/release/layeron),
# BENCH_COMPARE_BINARY another layeron build to run the ingest scenario with as well (before/after),
# BENCH_ROUNDS rounds of the ingest scenario (5), an nginx run before each and after the last, the
# headline share of nginx being the median of the rounds' (a single round moves by a tenth here, and
# three rounds' medians still moved by one or two points between invocations),
# BENCH_ONLY a space-separated subset of: ceiling variants large callgrind micro outbound (nginx and
# ingest always run; a short development loop is BENCH_ONLY=none BENCH_DURATION=5),
# BENCH_OUTBOUND_EVENTS events emitted per full-speed or drain outbound run (20000),
# BENCH_OUTBOUND_PACE emits/s of the paced outbound runs, which last BENCH_DURATION (500),
# BENCH_OUTBOUND_CONCURRENCY each destination's concurrency (10, the config default).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
DURATION=${BENCH_DURATION:-10}
RATE=${BENCH_RATE:-22000}
SEED_ROWS=${BENCH_SEED_ROWS:-1000000}
CALLGRIND_REQUESTS=${BENCH_CALLGRIND_REQUESTS:-2000}
BINARY=${BENCH_BINARY:-$ROOT/.build/release/layeron}
COMPARE_BINARY=${BENCH_COMPARE_BINARY:-}
ROUNDS=${BENCH_ROUNDS:-5}
OUTBOUND_EVENTS=${BENCH_OUTBOUND_EVENTS:-20000}
OUTBOUND_PACE=${BENCH_OUTBOUND_PACE:-500}
OUTBOUND_CONCURRENCY=${BENCH_OUTBOUND_CONCURRENCY:-10}
EMITTERS=8    # send_requests.py processes emitting through the admin API, one keep-alive connection each
CONNECTIONS=64
PROCESSES=2   # one wrk -t1 per core, each with its own request file (see BENCHMARKING.md)
SECRET="whsec_bench_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
OUTBOUND_SECRET="whsec_$(head -c 24 /dev/urandom | base64)"
TOKEN="bench-admin-token"
RUN=$(mktemp -d /tmp/layeron-bench.XXXXXX)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$RUN/results.jsonl"
SERVER_PID=""
NGINX_STARTED=""

cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$NGINX_STARTED" ] && [ -f "$RUN/nginx/nginx.pid" ] && kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null
    # BENCH_KEEP=1 keeps the run folder (request files, logs, callgrind output) for a closer look.
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT

say() { echo "bench: $*" >&2; }
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }
record() { echo "$1" >> "$RESULTS"; }

mkdir -p "$RUN/plugins" "$RUN/data" "$BENCH/results"
cc -shared -fPIC -O2 -Wall -Wextra -Werror -I "$ROOT/Sources/CLayeronPlugin/include" -o "$RUN/plugins/bench.so" "$BENCH/plugins/bench.c"
cc -O2 -Wall -Wextra -o "$RUN/storebench" "$BENCH/store/storebench.c" -lsqlite3
cp "$BENCH/layeron-bench.json" "$RUN/layeron.json"

# make_files NAME COUNT ARGS...: one request file per wrk process, ids unique across files.
make_files() {
    local name=$1 count=$2
    shift 2
    for p in $(seq 1 $PROCESSES); do
        python3 "$BENCH/make_requests.py" --out "$RUN/$name.$p" --count "$count" --secret "$SECRET" --salt "$name$p$STAMP" "$@" &
    done
    wait
}

# load NAME URL FILES: the wrk processes started together; prints the summed JSON.
load() {
    local name=$1 url=$2 files=$3
    local pids=()
    for p in $(seq 1 $PROCESSES); do
        wrk -t1 -c$((CONNECTIONS / PROCESSES)) -d"${DURATION}s" --timeout 10s -s "$BENCH/wrk/walk.lua" "$url" -- "$RUN/$files.$p" > "$RUN/wrk.$name.$p" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}"
    python3 "$BENCH/summarize.py" wrk "$name" "$RUN"/wrk."$name".*
}

# start_server DATABASE [BINARY] [CONFIG]: sets SERVER_PID, PUBLIC and ADMIN.
MASTER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
start_server() {
    local database=$1 binary=${2:-$BINARY} config=${3:-$RUN/layeron.json}
    # A non-development environment needs a master key for its (here empty) secrets store.
    (cd "$RUN" && LAYERON_ENV=bench LAYERON_MASTER_KEY="$MASTER_KEY" STRIPE_WEBHOOK_SECRET="$SECRET" LAYERON_ADMIN_TOKEN="$TOKEN" \
        OUTBOUND_WEBHOOK_SECRET="$OUTBOUND_SECRET" \
        exec "$binary" serve --config "$config" --database "$database" --log-level warn --log-format json \
        > "$RUN/server.out" 2> "$RUN/server.err") &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if grep -q "^admin listening on" "$RUN/server.out" 2>/dev/null; then break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$RUN/server.err" >&2; exit 1; }
        sleep 0.1
    done
    PUBLIC=$(sed -n 's/^listening on //p' "$RUN/server.out")
    ADMIN=$(sed -n 's/^admin listening on //p' "$RUN/server.out")
    [ -n "$PUBLIC" ] || { say "the server did not start"; cat "$RUN/server.err" >&2; exit 1; }
}

# stop_server DATABASE [WAIT]: waits (at most WAIT fifths of a second, 100) for handlers and deliveries
# to catch up, reads peak RSS, stops, checks the store.
stop_server() {
    local database=$1
    for _ in $(seq 1 "${2:-100}"); do
        [ "$(sqlite3 "$database" "SELECT COUNT(*) FROM events WHERE status = 'pending'")" = 0 ] && break
        sleep 0.2
    done
    RSS_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" || true
    SERVER_PID=""
    STORE=$(sqlite3 "$database" "SELECT COUNT(*), COALESCE(SUM(duplicates), 0), COALESCE(SUM(status = 'processed'), 0), COALESCE(SUM(status = 'pending'), 0) FROM events")
}

# ingest NAME FILES PATH [BINARY] [DATABASE]: one run against the server; records wrk + store + RSS.
ingest() {
    local name=$1 files=$2 path=$3 binary=${4:-$BINARY} database=${5:-$RUN/data/$1.db}
    # What earlier runs left in the page cache (the store ceiling's and the seed's hundreds of MB,
    # the previous run's database) is written back first, so its writeback does not land in this
    # run's fsyncs.
    sync
    start_server "$database" "$binary"
    local before
    before=$(sqlite3 "$database" "SELECT COUNT(*), COALESCE(SUM(duplicates), 0) FROM events")
    local result
    result=$(load "$name" "http://$PUBLIC$path" "$files")
    stop_server "$database"
    record "$(python3 "$BENCH/summarize.py" ingest "$result" "$STORE" "$before" "$RSS_KB")"
    say "$name: $(tail -1 "$RESULTS")"
}

# nginx on loopback answering `return 200`: the HTTP ceiling, and the outbound runs' receiver.
start_nginx() {
    nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -e "$RUN/nginx/nginx-error.log"
    NGINX_STARTED=1
    sleep 0.5
}
stop_nginx() {
    kill "$(cat "$RUN/nginx/nginx.pid")"
    NGINX_STARTED=""
}

# outbound_config NAME DESTINATIONS [RATE]: writes $RUN/NAME.json, destinations delivering to nginx.
outbound_config() {
    python3 "$BENCH/outbound.py" config "$RUN/layeron.json" "$RUN/$1.json" "$2" "http://127.0.0.1:$NGINX_PORT/outbound" "$OUTBOUND_CONCURRENCY" ${3:+"$3"}
}

# emit NAME DESTINATIONS CONFIG COUNT [RATE]: starts the server on CONFIG and emits COUNT events through
# the admin API, EMITTERS processes at once (together at most RATE a second if given), spread over the
# destinations; leaves the server running.
emit() {
    local name=$1 destinations=$2 config=$3 per=$((($4 + EMITTERS - 1) / EMITTERS))
    local pace=${5:+$(awk "BEGIN { print $5 / $EMITTERS }")}
    for p in $(seq 1 $EMITTERS); do
        python3 "$BENCH/make_requests.py" --out "$RUN/$name.$p" --count "$per" --emit "$destinations" --token "$TOKEN" --salt "$name$p$STAMP" &
    done
    wait
    start_server "$RUN/data/$name.db" "$BINARY" "$config"
    local pids=()
    for p in $(seq 1 $EMITTERS); do
        python3 "$BENCH/send_requests.py" "$ADMIN" "$RUN/$name.$p" 0 "$per" $pace > "$RUN/sent.$name.$p" &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# outbound NAME DESTINATIONS full|paced|drain, delivering to nginx:
#   full   emits as fast as the emitters can while the server delivers (both rates, and the latency
#          from emit to first attempt, which grows with the backlog when delivery falls behind);
#   paced  emits at OUTBOUND_PACE a second for DURATION seconds (the latency at a known load);
#   drain  emits with every destination held back by a rate of 1/h, restarts without it and times
#          the backlog's delivery alone (the delivery path's own rate, no emits competing).
# Each waits (bounded) until everything is delivered and records what the store says was sent.
outbound() {
    local name=$1 destinations=$2 mode=$3 database=$RUN/data/$1.db since=0
    outbound_config "$name" "$destinations"
    case $mode in
    full) emit "$name" "$destinations" "$RUN/$name.json" "$OUTBOUND_EVENTS" ;;
    paced) emit "$name" "$destinations" "$RUN/$name.json" "$((OUTBOUND_PACE * DURATION))" "$OUTBOUND_PACE" ;;
    drain)
        outbound_config "$name.held" "$destinations" 1/h
        emit "$name" "$destinations" "$RUN/$name.held.json" "$OUTBOUND_EVENTS"
        stop_server "$database" 1
        since=$(date +%s%3N)
        start_server "$database" "$BINARY" "$RUN/$name.json"
        ;;
    esac
    stop_server "$database" 600
    record "$(python3 "$BENCH/outbound.py" measure "$name" "$mode" "$database" "$destinations" "$since" "$RUN"/sent."$name".* "$RSS_KB")"
    say "$name: $(tail -1 "$RESULTS")"
}

count=$((RATE * DURATION))

say "nginx return 200 (the HTTP ceiling)"
mkdir -p "$RUN/nginx"
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/@PORT@/$NGINX_PORT/" "$BENCH/nginx.conf" > "$RUN/nginx/nginx.conf"
make_files unique "$count"
# nginx_ceiling NAME: one nginx run. One before each round of the ingest scenario and one right after
# the last; the report takes the mean of the runs either side of a round as its ceiling, since this
# machine's nginx rate drifts by a fifth within minutes.
nginx_ceiling() {
    start_nginx
    record "$(load "$1" "http://127.0.0.1:$NGINX_PORT/webhooks/stripe" unique)"
    stop_nginx
    say "$1: $(tail -1 "$RESULTS")"
}
nginx_ceiling nginx

if want ceiling; then
    say "raw SQLite insert ceiling of our schema"
    start_server "$RUN/data/ceiling.db"
    stop_server "$RUN/data/ceiling.db"
    record "{\"name\":\"store_ceiling\",$("$RUN/storebench" ceiling "$RUN/data/ceiling.db" 200000 | sed 's/^{//')"
fi

# The ingest scenario in rounds, nginx between them: round R's runs are named with the suffix _rR
# (none for the first), and each round's share of nginx is taken against the nginx runs either side
# of it. With a comparison build the two alternate which runs first, since the machine drifts
# within a round as well.
ingest_round() {
    local suffix=$1 order=$2 run
    for run in $order; do
        make_files unique "$count"
        if [ "$run" = new ]; then
            say "ingest$suffix: unique events, no-op handler, empty store"
            ingest "ingest$suffix" unique /webhooks/stripe
        else
            say "ingest_compare$suffix: the same with $COMPARE_BINARY (before/after)"
            ingest "ingest_compare$suffix" unique /webhooks/stripe "$COMPARE_BINARY"
        fi
    done
}
for round in $(seq 1 "$ROUNDS"); do
    suffix=$([ "$round" = 1 ] && echo "" || echo "_r$round")
    [ "$round" = 1 ] || nginx_ceiling "nginx$suffix"
    if [ -z "$COMPARE_BINARY" ]; then
        ingest_round "$suffix" new
    elif [ $((round % 2)) = 1 ]; then
        ingest_round "$suffix" "new old"
    else
        ingest_round "$suffix" "old new"
    fi
done
say "nginx again, right after the ingest runs (on the last ingest run's request files)"
nginx_ceiling nginx_after

if want variants; then
say "ingest: 1 ms handler"
make_files slow "$count" --path /webhooks/stripe-slow
ingest slow_handler slow /webhooks/stripe-slow

say "ingest: 10% duplicates"
make_files dup "$count" --duplicates 0.1
ingest duplicates_10 dup /webhooks/stripe

say "ingest: 10% bad signatures"
make_files bad "$count" --bad 0.1
ingest bad_signatures_10 bad /webhooks/stripe

say "ingest: random event ids (as GitHub's and Shopify's UUIDs)"
make_files random "$count" --scattered-ids
ingest random_ids random /webhooks/stripe
fi

if want large; then
say "large store: seeding $SEED_ROWS events"
start_server "$RUN/data/large.db"
stop_server "$RUN/data/large.db"
record "{\"name\":\"seed\",$("$RUN/storebench" seed "$RUN/data/large.db" "$SEED_ROWS" | sed 's/^{//')"
sqlite3 "$RUN/data/large.db" "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null

say "large store: admin queries"
start_server "$RUN/data/large.db"
deep=$(python3 -c "import base64; print(base64.urlsafe_b64encode(b's$((SEED_ROWS / 20))').decode().rstrip('='))")
for query in "all=" "webhook=webhook=stripe-slow" "status=status=failed" "type=type=charge.refunded" \
             "type_prefix=type=invoice.*" "direction=direction=outbound" "q=q=evt_seeds000000500000" \
             "since=since=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)" "deep_page=cursor=$deep" "deep_page_filtered=webhook=stripe%26cursor=$deep"; do
    label=${query%%=*}
    args=${query#*=}
    python3 "$BENCH/make_requests.py" --out "$RUN/admin_$label.1" --count 1 --get "/admin/events?${args//%26/\&}" --token "$TOKEN"
    wrk -t1 -c1 -d2s -s "$BENCH/wrk/walk.lua" "http://$ADMIN" -- "$RUN/admin_$label.1" > "$RUN/wrk.admin_$label.1" 2>&1
    record "$(python3 "$BENCH/summarize.py" wrk "admin_$label" "$RUN/wrk.admin_$label.1")"
done
stop_server "$RUN/data/large.db"
# The empty-store rate to compare with is measured right before, not taken from the first ingest
# run minutes earlier: on this shared machine the rate drifts more than that over a full bench.
say "large store: empty-store ingest just before, for the ratio"
make_files unique "$count"
ingest ingest_empty_adjacent unique /webhooks/stripe
say "large store: ingest with $SEED_ROWS events stored"
make_files unique "$count"
ingest ingest_large_store unique /webhooks/stripe "$BINARY" "$RUN/data/large.db"
fi

if want callgrind; then
say "callgrind: instructions for $CALLGRIND_REQUESTS requests"
make_files callgrind "$((CALLGRIND_REQUESTS + 200))"
# SWIFT_BACKTRACE set: the server would otherwise start itself again (CrashReportSettings), outside valgrind.
(cd "$RUN" && LAYERON_ENV=bench LAYERON_MASTER_KEY="$MASTER_KEY" STRIPE_WEBHOOK_SECRET="$SECRET" LAYERON_ADMIN_TOKEN="$TOKEN" \
    SWIFT_BACKTRACE=registers=none exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$RUN/callgrind.out" \
    "$BINARY" serve --config "$RUN/layeron.json" --database "$RUN/data/callgrind.db" --log-level warn --log-format json \
    > "$RUN/server.out" 2> "$RUN/callgrind.err") &
SERVER_PID=$!
for _ in $(seq 1 600); do grep -q "^admin listening on" "$RUN/server.out" 2>/dev/null && break; sleep 0.1; done
PUBLIC=$(sed -n 's/^listening on //p' "$RUN/server.out")
python3 "$BENCH/send_requests.py" "$PUBLIC" "$RUN/callgrind.1" 0 200 > /dev/null
callgrind_control -i on "$SERVER_PID" > /dev/null
python3 "$BENCH/send_requests.py" "$PUBLIC" "$RUN/callgrind.1" 200 "$CALLGRIND_REQUESTS" > "$RUN/callgrind.sent"
sleep 1
callgrind_control -i off "$SERVER_PID" > /dev/null
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=""
record "$(python3 "$BENCH/summarize.py" callgrind "$CALLGRIND_REQUESTS" "$RUN/callgrind.sent" "$RUN"/callgrind.out*)"
say "callgrind: the store writer alone"
for events in 1000 5000; do
    valgrind --tool=callgrind --callgrind-out-file="$RUN/store-callgrind.$events" "$ROOT/.build/release/layeron-bench" store "$events" 25 \
        > /dev/null 2> "$RUN/store-callgrind.$events.err"
done
record "$(python3 "$BENCH/summarize.py" store_callgrind 1000 "$RUN/store-callgrind.1000" 5000 "$RUN/store-callgrind.5000")"
fi

if want outbound; then
say "outbound: emits delivered to nginx, 1 destination and 100"
start_nginx
for destinations in 1 100; do
    outbound "outbound_$destinations" "$destinations" full
    outbound "outbound_paced_$destinations" "$destinations" paced
    outbound "outbound_drain_$destinations" "$destinations" drain
done
stop_nginx
fi

if want micro; then
say "microbenchmarks"
record "{\"name\":\"verify\",$("$ROOT/.build/release/layeron-bench" verify "$ROOT/Tests/Fixtures/signatures" | sed 's/^{//')"
record "{\"name\":\"abi_call\",$("$ROOT/.build/release/layeron-bench" abi "$RUN/plugins/bench.so" | sed 's/^{//')"
fi

# Only a full run is a result of record: a subset (BENCH_ONLY) reports into the run folder, so
# bench/results keeps full runs only and latest.md is always the last of them.
if [ -z "${BENCH_ONLY:-}" ]; then REPORT="$BENCH/results"; else REPORT="$RUN/results"; mkdir -p "$REPORT"; fi
python3 "$BENCH/summarize.py" report "$RESULTS" "$REPORT/$STAMP.json" "$REPORT/latest.md" \
    "duration=$DURATION" "connections=$CONNECTIONS" "processes=$PROCESSES" "commit=$(cd "$ROOT" && git rev-parse --short HEAD)"
cat "$REPORT/latest.md"
