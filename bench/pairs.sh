#!/usr/bin/env bash
# Two builds compared with `bench/quick.sh`, in pairs whose order alternates (A B, B A, A B, …):
# this machine drifts within a pair of runs, so a change that always runs first or always second
# looks better or worse than it is (docs/performance.md, item 36's list). Prints one line per run
# (req/s, the writer's and the HTTP threads' CPU per event, all threads, the larger p99 of the two
# wrk processes, the share of store appends slower than 5 ms; "-" when a thread used no CPU tick in
# the measured window, which quick.sh omits) and, per pair, B's rate over A's; then the median of
# those ratios.
#
# Usage: bench/pairs.sh BINARY_A BINARY_B [PAIRS]   (PAIRS defaults to 4)
# Every QUICK_* knob of bench/quick.sh applies to both builds (e.g. QUICK_SCATTERED=1).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=$(realpath "$1")
B=$(realpath "$2")
PAIRS=${3:-4}

# One quick-loop run of BINARY, summarised on one line: rps writer http all p99_ms.
run() {
    local out
    out=$("$ROOT/bench/quick.sh" "$1" 2>&1) || { echo "$out" >&2; exit 1; }
    echo "$out" | awk '
        /= [0-9]+ req\/s/ { for (i = 1; i <= NF; i++) if ($i == "=") rps = $(i + 1) }
        /^store-writer / { writer = $4 + $6 }
        /^MHD-worker / { http += $4 + $6 }
        /^all threads / { all = $3 }
        /^store appends over 5 ms/ { slow = $6; sub(/%,/, "", slow) }
        match($0, /"p99_us":[0-9]+/) { v = substr($0, RSTART + 9, RLENGTH - 9) + 0; if (v > p99) p99 = v }
        END { printf "%d %s %.1f %.1f %.1f %s\n", rps, writer == "" ? "-" : sprintf("%.1f", writer), http, all, p99 / 1000, slow == "" ? "-" : slow }'
}

printf '%-5s %-4s %8s %10s %10s %10s %8s %9s\n' pair run 'req/s' 'writer µs' 'http µs' 'all µs' 'p99 ms' '>5 ms %'
ratios=()
for pair in $(seq 1 "$PAIRS"); do
    if [ $((pair % 2)) = 1 ]; then order="A B"; else order="B A"; fi
    declare -A rate=()
    for which in $order; do
        binary=$A; [ "$which" = B ] && binary=$B
        read -r rps writer http all p99 slow < <(run "$binary")
        rate[$which]=$rps
        printf '%-5s %-4s %8s %10s %10s %10s %8s %9s\n' "$pair" "$which" "$rps" "$writer" "$http" "$all" "$p99" "$slow"
    done
    ratio=$(awk -v a="${rate[A]}" -v b="${rate[B]}" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$ratio")
    echo "pair $pair ($order): B/A = $ratio"
    unset rate
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END { m = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2; printf "median B/A over %d pairs: %.3f (lowest %.3f, highest %.3f)\n", NR, m, r[1], r[NR] }'
