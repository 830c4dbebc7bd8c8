#!/usr/bin/env python3
"""Slow HTTP clients (slowloris) for the front door's tests.

NAME
    slow_http_clients.py - open N connections and dribble one request head into each

SYNOPSIS
    slow_http_clients.py --port PORT [--host 127.0.0.1] [--bind ADDRESS] [--count N]
                         [--interval SECONDS] [--duration SECONDS]

DESCRIPTION
    Opens COUNT TCP connections to HOST:PORT (from ADDRESS when --bind is given) and sends
    "GET / HTTP/1.1\\r\\nHost: x\\r\\n" on each, then one more header line on every
    connection still open every INTERVAL seconds, never the empty line that would end the
    head. It reads whatever the server sends and notices when the server closes a
    connection (EOF, reset, or a failed send).

    Prints, one event per line, flushed at once:
        ready <n>                     all n connections are open and have sent their first
                                      lines
        closed <i> <seconds> <status> the server closed connection i (0-based), <seconds>
                                      after it was opened; <status> is the status code of
                                      the reply received before the close, or "-"
        done <open>                   the end: every connection was closed, or DURATION
                                      seconds passed with <open> still open

    Exit status 0, or 2 when a connection could not be opened (the message says why).
"""

import argparse
import selectors
import socket
import sys
import time


def emit(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bind", default=None)
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()

    conns = {}  # index -> dict(sock, opened, received)
    sel = selectors.DefaultSelector()
    for i in range(args.count):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if args.bind:
                s.bind((args.bind, 0))
            s.settimeout(10)
            s.connect((args.host, args.port))
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
        except OSError as e:
            emit("error %d %s" % (i, e))
            return 2
        conns[i] = {"sock": s, "opened": time.monotonic(), "received": b""}
        sel.register(s, selectors.EVENT_READ, i)
    emit("ready %d" % len(conns))

    def close(i):
        c = conns.pop(i)
        sel.unregister(c["sock"])
        c["sock"].close()
        status = "-"
        head = c["received"].split(b"\r\n", 1)[0].split(b" ")
        if len(head) >= 2 and head[0].startswith(b"HTTP/"):
            status = head[1].decode("ascii", "replace")
        emit("closed %d %.3f %s" % (i, time.monotonic() - c["opened"], status))

    start = time.monotonic()
    next_line = start + args.interval
    sent = 0
    while conns and time.monotonic() - start < args.duration:
        timeout = max(0.0, min(next_line, start + args.duration) - time.monotonic())
        for key, _ in sel.select(timeout):
            i = key.data
            try:
                data = conns[i]["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                conns[i]["received"] += data
            else:
                close(i)
        if time.monotonic() >= next_line:
            sent += 1
            for i in list(conns):
                try:
                    conns[i]["sock"].send(b"X-Slow-%d: %d\r\n" % (sent, sent))
                except BlockingIOError:
                    pass
                except OSError:
                    close(i)
            next_line += args.interval
    emit("done %d" % len(conns))
    for c in conns.values():
        c["sock"].close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
