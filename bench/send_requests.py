#!/usr/bin/env python3
"""Sends a fixed number of pre-built requests, one after another on one keep-alive connection, and
prints the status counts as JSON. Used for the callgrind run, where a fixed request count (not a
fixed time) makes the instruction count comparable across commits, and for the outbound emits.

  send_requests.py HOST:PORT REQUEST_FILE START COUNT [RATE]

RATE paces the sending to at most that many requests per second (each request starts on its slot,
or at once when the previous answer came late), for a latency figure at a known load.
"""
import json
import socket
import sys
import time


def read_response(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        rest += chunk
    return status, rest[length:]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    start, count = int(sys.argv[3]), int(sys.argv[4])
    interval = 1 / float(sys.argv[5]) if len(sys.argv) > 5 else 0
    records = open(sys.argv[2], "rb").read().split(b"\0")[start:start + count]
    sock = socket.create_connection((host, int(port)), timeout=60)
    statuses = {}
    buffer = b""
    began = time.monotonic()
    for i, record in enumerate(records):
        if interval:
            time.sleep(max(0, began + i * interval - time.monotonic()))
        sock.sendall(record)
        status, buffer = read_response(sock, buffer)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    sock.close()
    print(json.dumps({"sent": len(records), "statuses": statuses}))


if __name__ == "__main__":
    main()
