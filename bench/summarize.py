#!/usr/bin/env python3
"""Turns the raw outputs of bench/run.sh into result records, and the records into the report.

  summarize.py wrk NAME WRK_OUTPUT...          sums one-line JSON from each wrk -t1 process
  summarize.py ingest WRK_JSON STORE BEFORE RSS_KB
                                               adds the store check and peak RSS to a load run
  summarize.py callgrind COUNT SENT_JSON CALLGRIND_OUT...
  summarize.py store_callgrind SHORT_COUNT SHORT_OUT LONG_COUNT LONG_OUT
                                               the store writer benchmark's instructions per event: the
                                               difference of a short and a long run, so start-up cancels
  summarize.py report RESULTS_JSONL OUT_JSON OUT_MD key=value...

The outbound runs' records come from bench/outbound.py measure; the report adds their share of nginx.
"""
import json
import statistics
import sys


def wrk(name, paths):
    runs = []
    for path in paths:
        with open(path) as f:
            lines = [l for l in f if l.startswith("WRKJSON ")]
        if not lines:
            sys.exit("bench: no wrk result in %s:\n%s" % (path, open(path).read()))
        runs.append(json.loads(lines[-1][len("WRKJSON "):]))
    requests = sum(r["requests"] for r in runs)
    seconds = max(r["duration_us"] for r in runs) / 1e6
    errors = sum(r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"] for r in runs)
    return {
        "name": name, "requests": requests, "seconds": round(seconds, 2),
        "requests_per_s": round(sum(r["requests"] / (r["duration_us"] / 1e6) for r in runs)),
        "non_2xx": sum(r["status_errors"] for r in runs), "socket_errors": errors,
        # Percentiles do not add across processes: the median of each is averaged, the tail is the worst.
        "p50_ms": round(sum(r["p50_us"] for r in runs) / len(runs) / 1000, 2),
        "p99_ms": round(max(r["p99_us"] for r in runs) / 1000, 2),
        "max_ms": round(max(r["max_us"] for r in runs) / 1000, 2),
        "wraps": sum(r["wraps"] for r in runs),
    }


def ingest(result, store, before, rss_kb):
    r = json.loads(result)
    rows, duplicates, processed, pending = (int(x) for x in store.split("|"))
    rows0, duplicates0 = (int(x) for x in before.split("|"))
    ok = r["requests"] - r["non_2xx"]
    r.update({
        "rows": rows - rows0, "duplicates_folded": duplicates - duplicates0, "processed": processed, "pending": pending,
        # Every 2xx is either a new row or a duplicate folded into one; nothing else may answer 2xx.
        # wrk counts requests it sent in the last moments whose answers it did not wait for, so
        # allow the connections' in-flight requests as slack.
        "store_matches_2xx": abs((rows - rows0) + (duplicates - duplicates0) - ok) <= 64,
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
    })
    return r


def callgrind_total(path):
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = max(total, int(line.split()[1]))
    return total


def callgrind(count, sent_path, outs):
    total = max(callgrind_total(path) for path in outs)
    sent = json.load(open(sent_path))
    return {"name": "callgrind", "requests": int(count), "statuses": sent["statuses"],
            "instructions": total, "instructions_per_request": round(total / int(count))}


def store_callgrind(short_count, short_out, long_count, long_out):
    events = int(long_count) - int(short_count)
    per_event = (callgrind_total(long_out) - callgrind_total(short_out)) / events
    return {"name": "store_callgrind", "events": events, "instructions_per_event": round(per_event)}


def round_suffix(n):
    """The names' suffix of the ingest scenario's round n (bench/run.sh): none for the first."""
    return "" if n == 1 else "_r%d" % n


def ingest_rounds(records):
    """Each round of the ingest scenario with its own ceiling, the mean of the nginx runs either
    side of it; sets the round's runs' share of nginx against that ceiling. Returns one dict per round."""
    rounds = []
    n = 1
    while "ingest" + round_suffix(n) in records:
        sides = [records.get("nginx" + round_suffix(n)), records.get("nginx" + round_suffix(n + 1)) or records.get("nginx_after")]
        rates = [r["requests_per_s"] for r in sides if r]
        ceiling = sum(rates) / len(rates) if rates else None
        entry = {"round": n, "nginx": ceiling}
        for kind in ("ingest", "ingest_compare"):
            r = records.get(kind + round_suffix(n))
            if r:
                entry[kind] = r["requests_per_s"]
                entry[kind + "_p99_ms"] = r["p99_ms"]
                if ceiling:
                    r["of_nginx"] = entry[kind + "_of_nginx"] = round(r["requests_per_s"] / ceiling, 3)
        if "ingest_compare" in entry:
            entry["ingest_over_compare"] = round(entry["ingest"] / entry["ingest_compare"], 3)
        rounds.append(entry)
        n += 1
    return rounds


def rounds_summary(rounds):
    """The medians over the rounds: the headline figures."""
    summary = {"rounds": len(rounds)}
    for key in ("ingest", "ingest_of_nginx", "ingest_p99_ms", "ingest_compare", "ingest_compare_of_nginx", "ingest_compare_p99_ms", "ingest_over_compare"):
        values = [r[key] for r in rounds if key in r]
        if values:
            summary["median_" + key] = round(statistics.median(values), 3)
    return summary


def report(results_path, out_json, out_md, meta):
    records = {}
    with open(results_path) as f:
        for line in f:
            record = json.loads(line)
            records[record["name"]] = record
    # The HTTP ceiling for the runs outside the ingest rounds: the mean of every nginx run (this
    # machine's nginx rate drifts by a fifth within minutes); one run when there is only one.
    nginx_runs = [r["requests_per_s"] for name, r in records.items() if name == "nginx" or name.startswith("nginx_")]
    nginx = sum(nginx_runs) / len(nginx_runs) if nginx_runs else None
    ceiling = records.get("store_ceiling", {}).get("rows_per_s")
    empty = records.get("ingest", {}).get("requests_per_s")
    for name, r in records.items():
        if "requests_per_s" in r and nginx and not name.startswith("nginx") and not name.startswith("admin_"):
            r["of_nginx"] = round(r["requests_per_s"] / nginx, 3)
            if ceiling:
                r["of_store_ceiling"] = round(r["requests_per_s"] / ceiling, 3)
            if empty:
                r["of_empty_store_ingest"] = round(r["requests_per_s"] / empty, 3)
            adjacent = records.get("ingest_empty_adjacent", {}).get("requests_per_s")
            if adjacent and name == "ingest_large_store":
                r["of_adjacent_empty_ingest"] = round(r["requests_per_s"] / adjacent, 3)
        if r.get("deliveries_per_s") and nginx:
            # Each delivery is one request to the same nginx: its rate against nginx's own ceiling.
            r["deliveries_of_nginx"] = round(r["deliveries_per_s"] / nginx, 3)
    rounds = ingest_rounds(records)
    summary = rounds_summary(rounds)
    document = {"meta": dict(kv.split("=", 1) for kv in meta), "ingest_rounds": rounds, "ingest_summary": summary,
                "results": list(records.values())}
    with open(out_json, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")

    lines = ["# Layeron bench, %s" % ", ".join(meta), "",
             "| run | req/s | of nginx | of store ceiling | p50 ms | p99 ms | max ms | non-2xx | rows ok | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    round_names = [kind + round_suffix(r["round"]) for r in rounds for kind in ("nginx", "ingest", "ingest_compare")]
    for name in round_names + ["nginx_after", "slow_handler", "duplicates_10", "bad_signatures_10", "random_ids", "ingest_empty_adjacent", "ingest_large_store"]:
        r = records.get(name)
        if not r:
            continue
        lines.append("| %s | %d | %s | %s | %.2f | %.2f | %.2f | %d | %s | %s |" % (
            name, r["requests_per_s"], r.get("of_nginx", "-"), r.get("of_store_ceiling", "-"), r["p50_ms"], r["p99_ms"],
            r["max_ms"], r["non_2xx"] + r["socket_errors"], r.get("store_matches_2xx", "-"), r.get("peak_rss_mb", "-")))
    lines += [""]
    if "median_ingest_of_nginx" in summary:
        lines.append("Ingest, %d round%s: median %d req/s, **%.1f%% of nginx** (each round against the mean of the nginx runs either side of it: %s), median p99 %.2f ms." % (
            len(rounds), "" if len(rounds) == 1 else "s", summary["median_ingest"], 100 * summary["median_ingest_of_nginx"],
            ", ".join("%.1f%%" % (100 * r["ingest_of_nginx"]) for r in rounds), summary["median_ingest_p99_ms"]))
    if "median_ingest_compare_of_nginx" in summary:
        lines.append("ingest_compare: median %d req/s, %.1f%% of nginx (%s), median p99 %.2f ms; ingest over ingest_compare per round %s, median %.3f." % (
            summary["median_ingest_compare"], 100 * summary["median_ingest_compare_of_nginx"],
            ", ".join("%.1f%%" % (100 * r["ingest_compare_of_nginx"]) for r in rounds if "ingest_compare_of_nginx" in r),
            summary["median_ingest_compare_p99_ms"], ", ".join("%.3f" % r["ingest_over_compare"] for r in rounds if "ingest_over_compare" in r), summary["median_ingest_over_compare"]))
    # nginx runs only answer, and an admin query run repeats its one request by design.
    wrapped = [name for name, r in records.items() if r.get("wraps") and not name.startswith(("nginx", "admin_"))]
    if wrapped:
        # A request file walked past its end sends its ids again: duplicates, cheaper than new events.
        lines.append("**Not all unique**: %s walked past the end of their request files and sent ids again (raise BENCH_RATE)." % ", ".join(
            "%s (%d wrap%s)" % (n, records[n]["wraps"], "" if records[n]["wraps"] == 1 else "s") for n in wrapped))
    if nginx:
        lines.append("HTTP ceiling (\"of nginx\") for the other runs: %d req/s, the mean of %s." % (
            nginx, ", ".join("%d" % n for n in nginx_runs)))
    if ceiling:
        lines.append("Raw SQLite insert ceiling of our schema (256 rows a transaction, WAL, NORMAL): %d rows/s." % ceiling)
    adjacent = records.get("ingest_empty_adjacent", {}).get("requests_per_s")
    if "ingest_large_store" in records and (adjacent or empty):
        large = records["ingest_large_store"]["requests_per_s"]
        if adjacent:
            lines.append("Ingestion with the large store: %.0f%% of the empty-store rate measured just before it (%.0f%% of the first ingest run)." % (
                100 * large / adjacent, 100 * large / empty if empty else 0))
        else:
            lines.append("Ingestion with the large store: %.0f%% of the empty-store rate." % (100 * large / empty))
    if "callgrind" in records:
        lines.append("Instructions per request (callgrind, %d requests, all threads): %d." % (
            records["callgrind"]["requests"], records["callgrind"]["instructions_per_request"]))
    if "store_callgrind" in records:
        lines.append("Store writer alone (`layeron-bench store`, rounds of 25 events and the round before's attempt records), instructions per event (callgrind): %d." % (
            records["store_callgrind"]["instructions_per_event"]))
    outbound = [r for n, r in records.items() if n.startswith("outbound_")]
    if outbound:
        lines += ["", "| outbound run | mode | destinations | events | emits/s | deliveries/s | of nginx | first attempt p50 ms | p99 ms | max ms | not ok | store ok | peak RSS MB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        lines += ["| %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
            r["name"], r["mode"], r["destinations"], r["events"], r["emits_per_s"], r["deliveries_per_s"], r.get("deliveries_of_nginx", "-"),
            *("-" if r[k] is None else r[k] for k in ("first_attempt_p50_ms", "first_attempt_p99_ms", "first_attempt_max_ms")),
            r["emits_not_202"] + r["attempts_not_ok"] + r["pending"], r["store_matches_202"], r["peak_rss_mb"]) for r in outbound]
    admin = [r for n, r in records.items() if n.startswith("admin_")]
    if admin:
        lines += ["", "| admin query (large store) | p50 ms | p99 ms | non-2xx |", "|---|---|---|---|"]
        lines += ["| %s | %.2f | %.2f | %d |" % (r["name"][6:], r["p50_ms"], r["p99_ms"], r["non_2xx"]) for r in admin]
    if "verify" in records:
        v = records["verify"]
        lines += ["", "| verification (%d-byte body) | ns | × SHA-256 |" % v["body_bytes"], "|---|---|---|",
                  "| bare SHA-256 | %d | 1 |" % v["sha256_ns"]]
        lines += ["| %s | %s | %s |" % (s["scheme"], s.get("ns", "-"), s.get("vs_sha256", s.get("error"))) for s in v["schemes"]]
    if "abi_call" in records:
        a = records["abi_call"]
        lines += ["", "Handler call through the C ABI: %.1f ns; direct Swift call: %.1f ns (overhead %.1f ns)." % (
            a["abi_ns"], a["direct_swift_ns"], a["overhead_ns"])]
    with open(out_md, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    mode = sys.argv[1]
    if mode == "wrk":
        print(json.dumps(wrk(sys.argv[2], sys.argv[3:])))
    elif mode == "ingest":
        print(json.dumps(ingest(*sys.argv[2:6])))
    elif mode == "callgrind":
        print(json.dumps(callgrind(sys.argv[2], sys.argv[3], sys.argv[4:])))
    elif mode == "store_callgrind":
        print(json.dumps(store_callgrind(*sys.argv[2:6])))
    elif mode == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit("summarize.py: unknown mode %s" % mode)


if __name__ == "__main__":
    main()
