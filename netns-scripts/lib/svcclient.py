#!/usr/bin/python3
"""The lab's client for Services: run inside a pod (or the outside) namespace against a
podserver.py backend or a Service in front of some. Every mode is bounded in count and time and
prints one JSON object on stdout.

  svcclient.py tcp HOST PORT N            N connections, one after another: {"backends": {name: n}, "errors": e, "peers": [...]}
  svcclient.py udp HOST PORT N            N one-shot datagrams, each from a new socket (a new flow)
  svcclient.py refuse-tcp HOST PORT       expects a refusal (RST): {"refused": bool, "seconds": t}
  svcclient.py refuse-udp HOST PORT       expects ICMP port unreachable on a connected UDP socket
  svcclient.py udp-stream HOST PORT SECONDS [INTERVAL]   one flow, a datagram every INTERVAL (0.1 s):
                                          {"sent": n, "replies": [name or null per datagram]}
  svcclient.py rate-tcp HOST PORT SECONDS  connections per second (connect, 1 line, reply, close)
  svcclient.py rate-udp HOST PORT SECONDS  request/response datagrams per second on one socket
  svcclient.py stream HOST PORT SECONDS OUTFILE  one TCP connection echoing a line every 0.1 s;
                                          writes "BACKEND" then every echoed line to OUTFILE
"""
import json
import socket
import sys
import time


def one_tcp(host, port, timeout=3.0):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"who\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode().split()


def tcp(host, port, n):
    backends, peers, errors = {}, {}, 0
    for _ in range(n):
        try:
            name, peer = one_tcp(host, port)[:2]
            backends[name] = backends.get(name, 0) + 1
            peers[peer.rsplit(":", 1)[0]] = 1
        except (OSError, ValueError):
            errors += 1
    return {"backends": backends, "errors": errors, "peers": sorted(peers)}


def udp(host, port, n):
    backends, errors = {}, 0
    for i in range(n):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(1.0)
            try:
                s.sendto(b"%d" % i, (host, port))
                name = s.recvfrom(65536)[0].decode().split()[0]
                backends[name] = backends.get(name, 0) + 1
            except OSError:
                errors += 1
    return {"backends": backends, "errors": errors}


def refuse_tcp(host, port):
    start = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=5).close()
        refused = False
    except ConnectionRefusedError:
        refused = True
    except OSError:
        refused = False
    return {"refused": refused, "seconds": round(time.monotonic() - start, 3)}


def refuse_udp(host, port):
    start = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        try:
            s.send(b"x")
            s.recv(65536)
            refused = False
        except ConnectionRefusedError:
            refused = True
        except OSError:
            refused = False
    return {"refused": refused, "seconds": round(time.monotonic() - start, 3)}


def udp_stream(host, port, seconds, interval):
    """One flow: datagram SEQ every interval; a reply counts whenever it arrives (late is not lost),
    up to 1 s after the last send."""
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, port))
        end = time.monotonic() + seconds
        next_send = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_send and now < end:
                s.send(b"%d" % len(replies))
                replies.append(None)
                next_send += interval
            wait = (next_send if now < end else end + 1.0) - time.monotonic()
            if wait <= 0 and now >= end:
                break
            s.settimeout(max(0.001, wait))
            try:
                words = s.recv(65536).decode().split()
                seq = int(words[-1])
                if 0 <= seq < len(replies):
                    replies[seq] = words[0]
            except (socket.timeout, ConnectionRefusedError, ValueError, IndexError):
                pass
    return {"sent": len(replies), "replies": replies}


def rate_tcp(host, port, seconds):
    done, errors = 0, 0
    end = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        try:
            one_tcp(host, port)
            done += 1
        except OSError:
            errors += 1
    return {"per_second": round(done / (time.monotonic() - start)), "errors": errors}


def rate_udp(host, port, seconds):
    done, lost = 0, 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        s.connect((host, port))
        end = time.monotonic() + seconds
        start = time.monotonic()
        while time.monotonic() < end:
            s.send(b"r")
            try:
                s.recv(65536)
                done += 1
            except OSError:
                lost += 1
    return {"per_second": round(done / (time.monotonic() - start)), "lost": lost}


def stream(host, port, seconds, outfile):
    # 30 s per read: across an agent restart TCP's retransmission backoff alone can pass 5 s.
    with socket.create_connection((host, port), timeout=30) as s, open(outfile, "w") as out:
        s.sendall(b"stream\n")
        f = s.makefile("rb")
        out.write(f.readline().decode().split()[0] + "\n")
        out.flush()
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            i += 1
            s.sendall(b"line%d\n" % i)
            out.write(f.readline().decode())
            out.flush()
            time.sleep(0.1)
    return {"lines": i}


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    mode, host, port = argv[1], argv[2], int(argv[3])
    rest = argv[4:]
    if mode == "tcp":
        result = tcp(host, port, int(rest[0]))
    elif mode == "udp":
        result = udp(host, port, int(rest[0]))
    elif mode == "refuse-tcp":
        result = refuse_tcp(host, port)
    elif mode == "refuse-udp":
        result = refuse_udp(host, port)
    elif mode == "udp-stream":
        result = udp_stream(host, port, float(rest[0]), float(rest[1]) if len(rest) > 1 else 0.1)
    elif mode == "rate-tcp":
        result = rate_tcp(host, port, float(rest[0]))
    elif mode == "rate-udp":
        result = rate_udp(host, port, float(rest[0]))
    elif mode == "stream":
        result = stream(host, port, float(rest[0]), rest[1])
    else:
        print("unknown mode %s\n%s" % (mode, __doc__), file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
