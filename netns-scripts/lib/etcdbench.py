#!/usr/bin/python3
"""etcd for measure-etcd.sh, through etcd's JSON gateway (/v3/kv/..., one persistent HTTP
connection: python3 has no etcd client here, and an etcdctl process per write would cost more than
what is measured). Run it where etcd is reachable (the lab's underlay namespace); the agent's
Unix socket is a file, reachable from there too. Every loop is bounded; every mode prints JSON.

  etcdbench.py keys ETCD PREFIX
      every key under PREFIX with its value: {"revision": r, "kvs": {key: value}}
  etcdbench.py preload ETCD BEFORE.json AFTER.json NAME IP FILL FROM TO FIRST_IP
      the keys a template Service wrote (in AFTER, new or changed since BEFORE, naming NAME or IP),
      cloned for i in FROM..TO-1: NAME -> NAME-i, IP -> FIRST_IP + i, FILL -> FILL-i (exact string
      values in JSON values, whole segments in keys), 128 puts per transaction (etcd's default
      --max-txn-ops): {"keys": n, "transactions": t, "seconds": s, "revision": r}
  etcdbench.py clone ETCD TEMPLATE_KEY SUBSTITUTIONS_JSON
      prints the value of TEMPLATE_KEY with exact string values substituted ({"old": "new"})
  etcdbench.py put ETCD KEY VALUE
  etcdbench.py wait SOCKET FIELD REVISION SECONDS
      until the agent's /v1/status etcd.FIELD >= REVISION: {"reached": bool, "seconds": s, "value": v}
  etcdbench.py latency ETCD SOCKET FIELD KEY VALUE K
      K times (bounded, 30 s each): put KEY VALUE (even rounds) or delete KEY (odd rounds), take the
      write's revision R from etcd's answer, poll the agent's status until etcd.FIELD >= R:
      {"samples_ms": [...], "median_ms", "p90_ms", "max_ms", "timeouts"}
"""
import base64
import http.client
import ipaddress
import json
import socket
import sys
import time
import urllib.parse

TXN_OPS = 128


def b64(s):
    return base64.b64encode(s.encode()).decode()


def unb64(s):
    return base64.b64decode(s).decode()


class Etcd:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port or 2379, timeout=30)

    def call(self, path, body):
        self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = json.loads(self.conn.getresponse().read())
        if "error" in r:
            raise SystemExit("etcd %s: %s" % (path, r["error"]))
        return r

    def put(self, key, value):
        return int(self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)})["header"]["revision"])

    def delete(self, key):
        return int(self.call("/v3/kv/deleterange", {"key": b64(key)})["header"]["revision"])

    def get(self, key):
        kvs = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs", [])
        return unb64(kvs[0]["value"]) if kvs else None

    def keys(self, prefix):
        # Paged, all pages at the revision of the first (a single answer would reach gRPC's 4 MiB).
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        out, start, revision = {}, prefix, None
        for _ in range(100000):
            body = {"key": b64(start), "range_end": b64(end), "limit": 1000}
            if revision:
                body["revision"] = revision
            r = self.call("/v3/kv/range", body)
            revision = revision or r["header"]["revision"]
            kvs = r.get("kvs", [])
            for kv in kvs:
                out[unb64(kv["key"])] = unb64(kv.get("value", ""))
            if not r.get("more"):
                break
            start = unb64(kvs[-1]["key"]) + "\0"
        return {"revision": int(revision), "kvs": out}

    def txn_put(self, pairs):
        ops = [{"requestPut": {"key": b64(k), "value": b64(v)}} for k, v in pairs]
        return int(self.call("/v3/kv/txn", {"success": ops})["header"]["revision"])


class AgentStatus:
    """GET /v1/status on the agent's Unix socket, on one connection (a new one if it closes)."""

    def __init__(self, path):
        self.path = path
        self.conn = None

    def get(self):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    c = http.client.HTTPConnection("shunt", timeout=10)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(10)
                    s.connect(self.path)
                    c.sock = s
                    self.conn = c
                self.conn.request("GET", "/v1/status")
                r = self.conn.getresponse()
                body = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return json.loads(body)
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def field(self, name):
        v = self.get().get("etcd", {}).get(name)
        return int(v) if v is not None else -1


def substitute(value, subs):
    if isinstance(value, str):
        return subs.get(value, value)
    if isinstance(value, list):
        return [substitute(v, subs) for v in value]
    if isinstance(value, dict):
        return {substitute(k, subs): substitute(v, subs) for k, v in value.items()}
    return value


def substitute_text(text, subs):
    try:
        return json.dumps(substitute(json.loads(text), subs), separators=(",", ":"))
    except ValueError:
        for a, b in subs.items():
            text = text.replace(a, b)
        return text


def substitute_key(key, subs):
    return "/".join(subs.get(seg, seg) for seg in key.split("/"))


def preload(etcd, before, after, name, ip, fill, first, last, first_ip):
    old = json.load(open(before))["kvs"]
    new = json.load(open(after))["kvs"]
    template = {k: v for k, v in new.items()
                if old.get(k) != v and (name in k or ip in k or name in v or ip in v)}
    if not template:
        raise SystemExit("no key in etcd names the template Service %s (%s)" % (name, ip))
    base = ipaddress.IPv4Address(first_ip)
    pairs = []
    for i in range(first, last):
        subs = {name: "%s-%d" % (name, i), ip: str(base + i), fill: "%s-%d" % (fill, i)}
        for k, v in template.items():
            pairs.append((substitute_key(k, subs), substitute_text(v, subs)))
    start = time.monotonic()
    revision, txns = 0, 0
    for i in range(0, len(pairs), TXN_OPS):
        revision = etcd.txn_put(pairs[i:i + TXN_OPS])
        txns += 1
    return {"keys": len(pairs), "template_keys": sorted(template), "transactions": txns,
            "seconds": round(time.monotonic() - start, 3), "revision": revision}


def wait(status, field, revision, seconds):
    start = time.monotonic()
    v = -1
    while time.monotonic() - start < seconds:
        v = status.field(field)
        if v >= revision:
            return {"reached": True, "seconds": round(time.monotonic() - start, 3), "value": v}
        time.sleep(0.05)
    return {"reached": False, "seconds": round(time.monotonic() - start, 3), "value": v}


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


def latency(etcd, status, field, key, value, k):
    samples, timeouts = [], 0
    for i in range(k):
        start = time.monotonic()
        revision = etcd.put(key, value) if i % 2 == 0 else etcd.delete(key)
        reached = False
        # Polls every 2 ms: each poll takes the agent's API lock, as the apply does.
        while time.monotonic() - start < 30:
            if status.field(field) >= revision:
                reached = True
                break
            time.sleep(0.002)
        if reached:
            samples.append((time.monotonic() - start) * 1000.0)
        else:
            timeouts += 1
        time.sleep(0.1)   # let the agent settle between changes
    s = sorted(samples)
    r = lambda x: None if x is None else round(x, 2)
    return {"samples_ms": [round(x, 2) for x in samples], "median_ms": r(percentile(s, 50)),
            "p90_ms": r(percentile(s, 90)), "max_ms": r(s[-1] if s else None), "timeouts": timeouts}


def main(argv):
    mode = argv[1] if len(argv) > 1 else ""
    if mode == "keys":
        r = Etcd(argv[2]).keys(argv[3])
    elif mode == "preload":
        r = preload(Etcd(argv[2]), argv[3], argv[4], argv[5], argv[6], argv[7], int(argv[8]), int(argv[9]), argv[10])
    elif mode == "clone":
        value = Etcd(argv[2]).get(argv[3])
        if value is None:
            raise SystemExit("no key %s in etcd" % argv[3])
        print(substitute_text(value, json.loads(argv[4])))
        return
    elif mode == "put":
        r = {"revision": Etcd(argv[2]).put(argv[3], argv[4])}
    elif mode == "wait":
        r = wait(AgentStatus(argv[2]), argv[3], int(argv[4]), float(argv[5]))
    elif mode == "latency":
        r = latency(Etcd(argv[2]), AgentStatus(argv[3]), argv[4], argv[5], argv[6], int(argv[7]))
    else:
        raise SystemExit(__doc__)
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv)
