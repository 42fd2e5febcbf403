#!/usr/bin/env python3
"""Per-thread CPU for bench/quick.sh.

  threads.py snap OUT PID...       writes each thread's name, user and system ticks to OUT (JSON)
  threads.py diff A B EVENTS       prints each thread's CPU between snapshots A and B in µs per event
  threads.py stat A B              prints the machine's user/system/idle/softirq shares between two
                                   copies of /proc/stat's first line
"""
import json
import os
import sys

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def snap(pids):
    out = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tids:
            try:
                text = open(f"/proc/{pid}/task/{tid}/stat").read()
            except FileNotFoundError:
                continue
            name = text[text.index("(") + 1:text.rindex(")")]
            fields = text[text.rindex(")") + 2:].split()
            out[f"{pid}/{tid}"] = (name, int(fields[11]), int(fields[12]))
    return out


def diff(a, b, events):
    rows = []
    for key, (name, user, system) in b.items():
        user0, system0 = a.get(key, (name, 0, 0))[1:]
        if user - user0 + system - system0 > 0:
            rows.append(((user - user0) + (system - system0), user - user0, system - system0, name, key))
    total = 0
    for ticks, user, system, name, key in sorted(rows, reverse=True):
        total += ticks
        print(f"{name:24s} {key:16s} user {user * TICK_US / events:7.1f}  sys {system * TICK_US / events:7.1f}  µs/event")
    print(f"all threads {total * TICK_US / events:.1f} µs/event over {events} events")


def stat(a, b):
    first = [int(x) for x in open(a).read().split()[1:9]]
    second = [int(x) for x in open(b).read().split()[1:9]]
    delta = [y - x for x, y in zip(first, second)]
    total = sum(delta) or 1
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    print("machine: " + ", ".join(f"{n} {100 * d / total:.0f}%" for n, d in zip(names, delta) if n != "nice"))


if __name__ == "__main__":
    if sys.argv[1] == "snap":
        json.dump(snap(sys.argv[3:]), open(sys.argv[2], "w"))
    elif sys.argv[1] == "diff":
        diff(json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), int(sys.argv[4]))
    else:
        stat(sys.argv[2], sys.argv[3])
