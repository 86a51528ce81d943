#!/usr/bin/python3
"""One long-lived TCP stream with a known content, to check that a flow survives what happens
around it (an etcd restart, an agent restart). Both ends are bounded in time and print one JSON
object on stdout: {"bytes": n, "sha256": hex}.

  tcpstream.py recv PORT SECONDS              accepts one connection, reads it to EOF (at most SECONDS)
  tcpstream.py send HOST PORT BYTES SECONDS   sends BYTES deterministic pseudo-random bytes spread
                                              evenly over SECONDS, then closes
  tcpstream.py expect BYTES                   the JSON the receiver must print for BYTES sent
"""
import hashlib
import json
import random
import socket
import sys
import time

CHUNK = 8192


def content(n):
    # Seeded: the sender and the checker make the same bytes without sharing a file.
    return random.Random(11).randbytes(n)


def recv(port, seconds):
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as ls:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", port))
        ls.listen(1)
        ls.settimeout(seconds)
        conn, _ = ls.accept()
        with conn:
            h, n = hashlib.sha256(), 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                conn.settimeout(left)
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    break
                if not data:
                    break
                h.update(data)
                n += len(data)
    return {"bytes": n, "sha256": h.hexdigest()}


def send(host, port, size, seconds):
    data = content(size)
    chunks = max(1, (size + CHUNK - 1) // CHUNK)
    pause = seconds / chunks
    with socket.create_connection((host, port), timeout=10) as s:
        s.settimeout(seconds + 30)
        for i in range(chunks):
            s.sendall(data[i * CHUNK:(i + 1) * CHUNK])
            time.sleep(pause)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)   # the receiver's close: everything sent was read
    return expect(size)


def expect(size):
    return {"bytes": size, "sha256": hashlib.sha256(content(size)).hexdigest()}


def main(argv):
    mode = argv[1]
    if mode == "recv":
        r = recv(int(argv[2]), float(argv[3]))
    elif mode == "send":
        r = send(argv[2], int(argv[3]), int(argv[4]), float(argv[5]))
    elif mode == "expect":
        r = expect(int(argv[2]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(r, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
