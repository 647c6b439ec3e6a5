#!/usr/bin/env python3
"""End-to-end checks of the eventmpm-qemu-virt firmware, booted in QEMU by ci/embedded with the
guest's port 80 forwarded to 127.0.0.1:PORT. Real clients: curl, Python's http.client, raw
sockets, wrk. Every socket operation has a timeout and every loop a count; only 127.0.0.1 is
contacted.

The firmware's configuration is boards/qemu-virt/httpd.conf (4 slots, ThreadsPerChild 2,
AsyncRequestWorkerFactor 2, KeepAliveTimeout 5, MaxKeepAliveRequests 100, RequestReadTimeout
header=5-10, LimitRequestFieldSize 1024) and its site boards/qemu-virt/site/.

  e2e.py --port P              every check; prints "N passed, M failed"
  e2e.py --port P --workload   exercise every path once (ci/embedded size, before reading the
                               stack's high-water mark)
  e2e.py --port P --defmt-smoke  a few requests that make the defmt build log (400, 431, 408)
"""
import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SITE = os.path.join(ROOT, "boards", "qemu-virt", "site")
PORT = 0
SLOTS = 4
HEAD_TIMEOUT_S = 5


def site(path):
    with open(os.path.join(SITE, path.lstrip("/")), "rb") as f:
        return f.read()


def conn(timeout=10):
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)


def get(path, headers=None, method="GET"):
    c = conn()
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def curl(*args):
    out = subprocess.run(["curl", "-sS", "-m", "10", *args], capture_output=True, timeout=20)
    return out.returncode, out.stdout, out.stderr


def raw(data, timeout=10, read_until_close=True):
    """Send bytes on a fresh connection; read until the server closes (or `timeout`)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
        return b"".join(chunks)
    finally:
        s.close()


def status_auto():
    code, _, body = get("/server-status?auto")
    assert code == 200, code
    fields = {}
    for line in body.decode("latin-1").splitlines():
        if ": " in line:
            k, v = line.split(": ", 1)
            fields[k] = v
    return fields


# --- checks --------------------------------------------------------------------------------

def check_index_and_file_with_curl():
    rc, out, err = curl("-i", f"http://127.0.0.1:{PORT}/")
    assert rc == 0, err
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert b"Content-Type: text/html" in head and b"ETag: \"" in head, head
    assert b"Last-Modified: " in head and b"Accept-Ranges: bytes" in head, head
    assert body == site("index.html")
    rc, out, _ = curl(f"http://127.0.0.1:{PORT}/1k.txt")
    assert rc == 0 and out == site("1k.txt") and len(out) >= 1024
    rc, out, _ = curl("-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{PORT}/docs/note.json")
    assert out == b"200", out


def check_not_modified():
    code, h, _ = get("/1k.txt")
    etag, lm = h["etag"], h["last-modified"]
    code, h2, body = get("/1k.txt", {"If-None-Match": etag})
    assert (code, body) == (304, b""), code
    assert h2["etag"] == etag and h2["last-modified"] == lm
    code, _, _ = get("/1k.txt", {"If-Modified-Since": lm})
    assert code == 304, code
    code, _, _ = get("/1k.txt", {"If-None-Match": '"other"'})
    assert code == 200, code
    code, _, _ = get("/1k.txt", {"If-Match": '"other"'})
    assert code == 412, code


def check_ranges():
    whole = site("1k.txt")
    code, h, body = get("/1k.txt", {"Range": "bytes=0-99"})
    assert code == 206 and body == whole[:100], code
    assert h["content-range"] == f"bytes 0-99/{len(whole)}", h
    code, h, body = get("/1k.txt", {"Range": "bytes=-10"})
    assert code == 206 and body == whole[-10:]
    code, h, _ = get("/1k.txt", {"Range": "bytes=5000-"})
    assert code == 416 and h["content-range"] == f"bytes */{len(whole)}", (code, h)
    rc, out, _ = curl("-r", "100-199", f"http://127.0.0.1:{PORT}/1k.txt")
    assert out == whole[100:200]


def check_head():
    code, h, body = get("/1k.txt", method="HEAD")
    assert code == 200 and body == b"" and h["content-length"] == str(len(site("1k.txt")))
    rc, out, _ = curl("-I", f"http://127.0.0.1:{PORT}/")
    assert b"Content-Length: %d" % len(site("index.html")) in out, out


def check_errors():
    code, h, body = get("/nope.html")
    assert code == 404 and b"<title>404 Not Found</title>" in body, code
    code, h, _ = get("/docs")
    assert code == 301 and h["location"].endswith("/docs/"), (code, h)
    code, _, body = get("/docs/")
    assert code == 200 and body == site("docs/index.html")
    # Methods as the Unix server answers them: POST to a file is served as GET; a method httpd
    # knows is 405, one it does not is 501; both say what is allowed.
    code, _, body = get("/1k.txt", method="POST")
    assert code == 200 and body == site("1k.txt"), code
    code, h, _ = get("/1k.txt", method="PUT")
    assert code == 405 and h["allow"] == "GET,HEAD,POST,OPTIONS", (code, h)
    code, h, _ = get("/server-status", method="POST")
    assert code == 405 and h["allow"] == "GET,HEAD,OPTIONS", (code, h)
    code, h, _ = get("/", method="FROB")
    assert code == 501 and "allow" in h, (code, h)
    resp = raw(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 200 OK") and b"Allow:" not in resp, resp[:200]
    # 400 from the worker: HTTP/1.1 without Host.
    resp = raw(b"GET / HTTP/1.1\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400 Bad Request"), resp[:80]
    assert b"Connection: close" in resp
    # 400 from the listener's scan: not a request line at all.
    resp = raw(b"\x16\x03\x01\x00\x05hello\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400"), resp[:80]
    # 431: one field longer than LimitRequestFieldSize (1024).
    resp = raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1500 + b"\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 431"), resp[:80]


def check_408():
    t0 = time.time()
    s = socket.create_connection(("127.0.0.1", PORT), timeout=HEAD_TIMEOUT_S * 3)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        resp = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            resp += b
    finally:
        s.close()
    took = time.time() - t0
    assert resp.startswith(b"HTTP/1.1 408 Request Timeout"), resp[:80]
    assert HEAD_TIMEOUT_S - 1 <= took <= HEAD_TIMEOUT_S * 3, took


def check_keep_alive_and_limit():
    # Keep-Alive is answered to a client that asks for it (httpd's ap_set_keepalive: only when
    # the request's Connection carries the keep-alive token).
    ka = {"Connection": "keep-alive"}
    c = conn()
    try:
        c.request("GET", "/1k.txt")
        r = c.getresponse()
        r.read()
        assert r.getheader("Keep-Alive") is None, r.getheader("Keep-Alive")
        assert c.sock is not None, "HTTP/1.1 is kept alive without asking"
        c.close()
        c = conn()
        c.request("GET", "/1k.txt", headers=ka)
        r = c.getresponse()
        r.read()
        assert r.getheader("Keep-Alive") == "timeout=5, max=100", r.getheader("Keep-Alive")
        sock = c.sock
        for i in range(1, 100):
            c.request("GET", "/1k.txt", headers=ka)
            r = c.getresponse()
            body = r.read()
            assert r.status == 200 and len(body) == 1024
            assert c.sock is sock, f"reconnected after {i} requests"
            assert r.getheader("Keep-Alive") == f"timeout=5, max={100 - i}", r.getheader("Keep-Alive")
        # The 101st request on the connection is its last (httpd: max counts down from 100).
        c.request("GET", "/1k.txt", headers=ka)
        r = c.getresponse()
        r.read()
        assert r.getheader("Connection") == "close", r.getheaders()
    finally:
        c.close()


def check_pipelining():
    req = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    resp = raw(req * 3 + last)
    assert resp.count(b"HTTP/1.1 200 OK") == 4, resp.count(b"HTTP/1.1 200 OK")
    assert resp.endswith(site("index.html"))


def check_dynamic():
    code, h, body = get("/api/status.json")
    assert code == 200 and h["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["board"] == "qemu-virt" and abs(doc["unix_time"] - time.time()) < 5, doc
    # Larger than any buffer of the firmware, produced as the socket takes it: chunked.
    code, h, body = get("/api/sequence.json?n=20000")
    assert code == 200 and h.get("transfer-encoding") == "chunked", h
    assert json.loads(body) == list(range(20000))
    assert len(body) > 100_000
    code, h, body = get("/api/sequence.json", method="HEAD")
    assert code == 200 and body == b""


def check_status_pages():
    code, h, body = get("/server-status")
    assert code == 200 and h["content-type"].startswith("text/html")
    assert b"Apache Server Status" in body or b"Server Status" in body, body[:200]
    code, h, _ = get("/server-status?refresh=7")
    assert code == 200 and h["refresh"] == "7", h
    code, h, body = get("/server-status?json")
    assert code == 200 and h["content-type"] == "application/json"
    json.loads(body)
    a = status_auto()
    assert a["ServerMPM"] == "event" and a["Processes"] == "1", a


def check_status_counts_match():
    # Idle keep-alive connections show as ConnsAsyncKeepAlive, and requests as Total Accesses.
    before = int(status_auto()["Total Accesses"])
    held = []
    try:
        for _ in range(2):
            c = conn()
            c.request("GET", "/1k.txt")
            c.getresponse().read()
            held.append(c)
        a = status_auto()
        assert a["ConnsAsyncKeepAlive"] == "2", a
        assert a["ConnsTotal"] == "3", a  # the two idle ones and the status request's own
        # Two GETs and the status request just made, plus the one read first.
        assert int(a["Total Accesses"]) == before + 1 + 2, (before, a["Total Accesses"])
    finally:
        for c in held:
            c.close()
    for _ in range(50):
        a = status_auto()
        if a["ConnsAsyncKeepAlive"] == "0":
            break
        time.sleep(0.1)
    assert a["ConnsAsyncKeepAlive"] == "0" and a["ConnsTotal"] == "1", a


def check_burst():
    """More clients at once than slots: each is served or refused at once, then served on
    retry; none hangs. The first clients hold their sockets with a half-sent head for a second,
    so the later ones find every slot taken."""
    clients = 12
    hold_s = 1.0
    results = [None] * clients

    def one(i):
        t0 = time.time()
        body = b""
        try:
            s = socket.create_connection(("127.0.0.1", PORT), timeout=8)
            try:
                s.sendall(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n")
                # A refused connection is closed by QEMU as soon as the guest resets it.
                s.settimeout(hold_s)
                try:
                    early = s.recv(4096)
                except socket.timeout:
                    early = None
                if early is None:
                    s.settimeout(8)
                    s.sendall(b"Connection: close\r\n\r\n")
                    while True:
                        b = s.recv(65536)
                        if not b:
                            break
                        body += b
            finally:
                s.close()
        except OSError:
            pass
        results[i] = (body, time.time() - t0)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join(20)
    assert all(r is not None for r in results), "a client hung"
    served = [r for r in results if r[0].startswith(b"HTTP/1.1 200 OK") and r[0].endswith(site("1k.txt"))]
    refused = [r for r in results if not r[0]]
    assert len(served) + len(refused) == clients, [r[0][:40] for r in results]
    assert served and refused, (len(served), len(refused))
    assert len(served) <= SLOTS
    assert all(t < hold_s for _, t in refused), [round(t, 2) for _, t in refused]
    for _ in refused:
        for attempt in range(20):
            body = raw(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=8)
            if body.startswith(b"HTTP/1.1 200 OK"):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("a refused client was not served on retry")
    print(f"    burst: {len(served)} of {clients} served, {len(refused)} refused at once "
          f"(after {max(t for _, t in refused):.2f}s at most) and served on retry")


def check_wrk():
    out = subprocess.run(
        ["wrk", "-t1", "-c2", "-d2s", f"http://127.0.0.1:{PORT}/1k.txt"],
        capture_output=True, text=True, timeout=30,
    ).stdout
    m = re.search(r"(\d+) requests in", out)
    assert m and int(m.group(1)) > 0, out
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    print(f"    wrk -c2 /1k.txt: {m.group(1)} requests, {rps.group(1) if rps else '?'} requests/s")


CHECKS = [
    check_index_and_file_with_curl,
    check_not_modified,
    check_ranges,
    check_head,
    check_errors,
    check_keep_alive_and_limit,
    check_pipelining,
    check_dynamic,
    check_status_pages,
    check_status_counts_match,
    check_burst,
    check_wrk,
    check_408,
]


def main():
    global PORT
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workload", action="store_true")
    ap.add_argument("--defmt-smoke", action="store_true")
    ap.add_argument("--slots", type=int, default=SLOTS, help="the firmware's connection slots")
    args = ap.parse_args()
    PORT = args.port
    globals()["SLOTS"] = args.slots
    if args.workload:
        for check in (check_index_and_file_with_curl, check_ranges, check_errors,
                      check_pipelining, check_dynamic, check_status_pages, check_burst):
            check()
        return
    if args.defmt_smoke:
        get("/")
        raw(b"GET / HTTP/1.1\r\n\r\n")
        raw(b"\x16\x03\x01\x00\x05hello\r\n\r\n")
        check_408()
        return
    passed = failed = 0
    for check in CHECKS:
        t0 = time.time()
        try:
            check()
        except Exception as e:  # report every check, then fail
            failed += 1
            print(f"FAIL {check.__name__}: {type(e).__name__}: {e}")
        else:
            passed += 1
            print(f"ok   {check.__name__} ({time.time() - t0:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
