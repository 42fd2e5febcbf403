#!/usr/bin/env python3
"""The outbound delivery benchmark's two ends: the config with N destinations, and the figures read
back from the SQLite file after the run (the store, not the client, is the record of what was sent).

  outbound.py config BASE_CONFIG OUT_CONFIG DESTINATIONS RECEIVER_URL CONCURRENCY [RATE]
      BASE_CONFIG plus destinations out-001 … out-N, each delivering to RECEIVER_URL/out-NNN with
      `allow_private` (the receiver is on loopback), the given concurrency and no rate cap unless
      RATE is given; all share the secret OUTBOUND_WEBHOOK_SECRET (a whsec_ key from the environment).
  outbound.py measure NAME MODE DATABASE DESTINATIONS SINCE_MS SENT_JSON... RSS_KB
      one result record: emits (202s from the send_requests.py outputs), the store's events,
      deliveries ok and deliveries/s. SINCE_MS 0 is a run that emits and delivers at once (MODE
      full or paced): the window starts at the first emit, and the emit-to-first-attempt
      percentiles are given. Otherwise a drain: only attempts started from SINCE_MS count, the
      window starts at the first of them, and there are no latencies (the events were held back
      on purpose).
"""
import json
import sqlite3
import sys


def config(base_path, out_path, count, url, concurrency, rate=None):
    with open(base_path) as f:
        document = json.load(f)
    document["outbound"] = [
        {"name": "out-%03d" % i, "url": "%s/out-%03d" % (url.rstrip("/"), i),
         "secret": {"secret": "OUTBOUND_WEBHOOK_SECRET"}, "allow_private": True, "concurrency": concurrency}
        for i in range(1, count + 1)
    ]
    if rate:
        for destination in document["outbound"]:
            destination["rate"] = rate
    with open(out_path, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


# The scheduled (not replayed) delivery attempts of outbound events that started at or after ?.
ATTEMPTS = ("FROM attempts a JOIN events e ON e.seq = a.event_seq"
            " WHERE e.direction = 'outbound' AND a.replay = 0 AND a.started_at >= ?")


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def measure(name, mode, database, destinations, since, sent_paths, rss_kb):
    statuses = {}
    for path in sent_paths:
        with open(path) as f:
            for status, n in json.load(f)["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
    db = sqlite3.connect("file:%s?mode=ro" % database, uri=True)
    events, processed, pending, first_received, last_received = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(status = 'processed'), 0), COALESCE(SUM(status = 'pending'), 0),"
        " MIN(received_at), MAX(received_at) FROM events WHERE direction = 'outbound'").fetchone()
    since = int(since)
    ok, not_ok, first_started, last_finished = db.execute(
        "SELECT COALESCE(SUM(a.outcome = 'ok'), 0), COALESCE(SUM(a.outcome IS NOT 'ok'), 0), MIN(a.started_at),"
        " MAX(CASE WHEN a.outcome = 'ok' THEN a.finished_at END) " + ATTEMPTS, (since,)).fetchone()
    delivered = db.execute("SELECT COUNT(*) " + ATTEMPTS + " AND a.outcome = 'ok'", (0,)).fetchone()[0]
    # Emit to first attempt: the event's received_at is taken when the emit is accepted, before its
    # commit; the attempt's started_at when the scheduler hands it to libcurl. Both are Unix ms.
    waits = [] if since else sorted(row[0] for row in db.execute("SELECT a.started_at - e.received_at " + ATTEMPTS + " AND a.n = 1", (0,)))
    db.close()
    emit_seconds = (last_received - first_received) / 1000 if events else 0
    start = first_started if since else first_received
    wall = (last_finished - start) / 1000 if last_finished else 0
    accepted = statuses.get("202", 0)
    return {
        "name": name, "mode": mode, "destinations": int(destinations),
        "emits": sum(statuses.values()), "emits_202": accepted,
        "emits_not_202": sum(statuses.values()) - accepted,
        "emits_per_s": round(events / emit_seconds) if emit_seconds > 0 else None,
        "events": events, "processed": processed, "pending": pending,
        "deliveries_ok": ok, "attempts_not_ok": not_ok, "wall_s": round(wall, 2),
        "deliveries_per_s": round(ok / wall) if wall > 0 else None,
        "first_attempt_p50_ms": percentile(waits, 50), "first_attempt_p99_ms": percentile(waits, 99),
        "first_attempt_max_ms": waits[-1] if waits else None,
        # Every accepted emit is one event, delivered once: nothing lost, nothing sent twice.
        "store_matches_202": events == accepted and delivered == accepted and pending == 0,
        "peak_rss_mb": round(int(rss_kb) / 1024, 1),
    }


def main():
    mode = sys.argv[1]
    if mode == "config":
        config(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]), *sys.argv[7:8])
    elif mode == "measure":
        print(json.dumps(measure(*sys.argv[2:7], sys.argv[7:-1], sys.argv[-1])))
    else:
        sys.exit("outbound.py: unknown mode %s" % mode)


if __name__ == "__main__":
    main()
