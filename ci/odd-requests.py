#!/usr/bin/env python3
"""Send a corpus of unusual HTTP/1.x requests over raw sockets and print what a server answers.

    ci/odd-requests.py PORT [PORT2] [--only NAME]

With two ports, the answers are printed side by side, marked DIFF where the status codes or
the connection's ending differ (the Allow lists are shown, not compared). Each case is written in one send; then the script reads until the server closes, resets, or
has been quiet for QUIET seconds. It prints, per case: the status line of every response, the
headers that decide framing and reuse (Connection, Allow, Content-Length, Transfer-Encoding),
and how the connection ended:

    open   the server kept the connection (nothing more after QUIET seconds)
    FIN    the server closed it after its responses
    RST    the server reset it (responses may be lost)

Most cases end with the same pipelined follow-up, `GET /1k.txt` (marked "+next"), so the table
shows whether the server reads on after its answer. The server must serve a 1 KiB file as
`/1k.txt` (the peers scripts' tree and eventmpm's tests both do).

Used to compare eventmpm with httpd 2.4 (issue 11); tests/odd_requests.rs holds the same cases
as assertions, without needing Apache.
"""

import re
import socket
import sys
import time

QUIET = 1.0
NEXT = b"GET /1k.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def fields(n, size):
    """n header fields of `size` bytes each (name, colon, space and value)."""
    out = b""
    for i in range(n):
        name = b"X-F%04d" % i
        out += name + b": " + b"v" * (size - len(name) - 2) + b"\r\n"
    return out


CASES = [
    # methods
    ("lower-case get", b"get /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("unknown FOO", b"FOO /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("PROPFIND", b"PROPFIND /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("DELETE", b"DELETE /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("PUT no body", b"PUT /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + NEXT),
    ("PATCH", b"PATCH /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("TRACE", b"TRACE /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("CONNECT", b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n" + NEXT),
    ("FOO to missing", b"FOO /nope HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    # OPTIONS
    ("OPTIONS * 1.1", b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("OPTIONS * no Host", b"OPTIONS * HTTP/1.1\r\n\r\n" + NEXT),
    ("OPTIONS * 1.0", b"OPTIONS * HTTP/1.0\r\n\r\n"),
    ("OPTIONS /1k.txt", b"OPTIONS /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("GET *", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    # HTTP/0.9 and versions
    ("0.9 GET /1k.txt", b"GET /1k.txt\r\n"),
    ("0.9 GET / LF", b"GET /1k.txt\n"),
    ("0.9 POST", b"POST /1k.txt\r\n"),
    ("HTTP/0.9 line", b"GET /1k.txt HTTP/0.9\r\n\r\n"),
    ("HTTP/1.2", b"GET /1k.txt HTTP/1.2\r\nHost: a\r\n\r\n" + NEXT),
    ("HTTP/2.0", b"GET /1k.txt HTTP/2.0\r\nHost: a\r\n\r\n" + NEXT),
    ("HTTP/3.0", b"GET /1k.txt HTTP/3.0\r\nHost: a\r\n\r\n" + NEXT),
    ("HTTP/2 no Host", b"GET /1k.txt HTTP/2.0\r\n\r\n" + NEXT),
    ("http/1.1 lower", b"GET /1k.txt http/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("HTTP/1.10", b"GET /1k.txt HTTP/1.10\r\nHost: a\r\n\r\n" + NEXT),
    ("HTTP/10.0", b"GET /1k.txt HTTP/10.0\r\nHost: a\r\n\r\n" + NEXT),
    # line endings
    ("bare LF head", b"GET /1k.txt HTTP/1.1\nHost: a\n\n" + NEXT),
    ("LF after line", b"GET /1k.txt HTTP/1.1\nHost: a\r\n\r\n" + NEXT),
    ("LF field", b"GET /1k.txt HTTP/1.1\r\nHost: a\nX: y\r\n\r\n" + NEXT),
    ("LF end", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n\n" + NEXT),
    ("bare CR field", b"GET /1k.txt HTTP/1.1\r\nHost: a\rX: y\r\n\r\n" + NEXT),
    ("leading CRLF", b"\r\n\r\nGET /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("leading LF", b"\nGET /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    # HTTP/2 on the HTTP/1.1 port
    ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("h2 preface+frames", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
    ("PRI + next", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + NEXT),
    ("h2c upgrade", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
     b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n" + NEXT),
    # obs-fold
    ("obs-fold X", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n" + NEXT),
    ("obs-fold tab", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nX: 1\r\n\t2\r\n\r\n" + NEXT),
    ("obs-fold Host", b"GET /1k.txt HTTP/1.1\r\nHost:\r\n a\r\n\r\n" + NEXT),
    ("obs-fold CL", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 3\r\n\r\nabc" + NEXT),
    ("space 1st field", b"GET /1k.txt HTTP/1.1\r\n Host: a\r\n\r\n" + NEXT),
    ("space before colon", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n" + NEXT),
    # Host
    ("Host empty 1.1", b"GET /1k.txt HTTP/1.1\r\nHost:\r\n\r\n" + NEXT),
    ("Host empty sp 1.1", b"GET /1k.txt HTTP/1.1\r\nHost: \r\n\r\n" + NEXT),
    ("Host empty 1.0", b"GET /1k.txt HTTP/1.0\r\nHost:\r\nConnection: keep-alive\r\n\r\n" + NEXT),
    ("Host missing 1.1", b"GET /1k.txt HTTP/1.1\r\n\r\n" + NEXT),
    ("Host missing 1.0", b"GET /1k.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + NEXT),
    ("Host twice", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + NEXT),
    ("Host bad", b"GET /1k.txt HTTP/1.1\r\nHost: a b\r\n\r\n" + NEXT),
    ("Host abs-form", b"GET http://a/1k.txt HTTP/1.1\r\nHost: b\r\n\r\n" + NEXT),
    ("Host empty abs-form", b"GET http://a/1k.txt HTTP/1.1\r\nHost:\r\n\r\n" + NEXT),
    # many fields
    ("100 fields x 60", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(99, 60) + b"\r\n" + NEXT),
    ("101 fields", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(100, 20) + b"\r\n" + NEXT),
    ("8 x 8190 field", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(8, 8190) + b"\r\n" + NEXT),
    ("60 x 1100 (64K)", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(60, 1100) + b"\r\n" + NEXT),
    ("95 x 700 (64K)", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(95, 700) + b"\r\n" + NEXT),
    ("8190 field", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(1, 8190) + b"\r\n" + NEXT),
    ("8192 field", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(1, 8192) + b"\r\n" + NEXT),
    ("1000 x 60", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n" + fields(1000, 60) + b"\r\n" + NEXT),
    # bodies to a static file
    ("POST CL", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + NEXT),
    ("POST CL 0", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" + NEXT),
    ("POST chunked", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n" + NEXT),
    ("POST no length", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("POST 1.0 no length", b"POST /1k.txt HTTP/1.0\r\n\r\nhello"),
    ("GET CL body", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + NEXT),
    ("GET chunked body", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n" + NEXT),
    ("POST CL to missing", b"POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + NEXT),
    ("POST CL+TE", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + NEXT),
    ("POST big CL", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n"
     + b"x" * 100000 + NEXT),
    ("POST chunked ext", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n" + NEXT),
    ("POST chunked LF", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\nhello\n0\n\n" + NEXT),
    ("POST Expect", b"POST /1k.txt HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
     b"Expect: 100-continue\r\n\r\nhello" + NEXT),
    # baseline
    ("plain GET", b"GET /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
    ("HEAD", b"HEAD /1k.txt HTTP/1.1\r\nHost: a\r\n\r\n" + NEXT),
]

KEY_HEADERS = ("connection", "allow", "content-length", "transfer-encoding")


def exchange(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(QUIET)
    out = b""
    end = "open"
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        end = "RST(send)"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            end = "open"
            break
        except ConnectionResetError:
            end = "RST"
            break
        if not chunk:
            end = "FIN"
            break
        out += chunk
    s.close()
    return out, end


def responses(data, head_request=False):
    """(status line, {key header: value}) for each response in `data`; `head_request`: the first
    response answers a HEAD request (no body whatever its Content-Length)."""
    found = []
    while data.startswith(b"HTTP/"):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            found.append((head.split(b"\r\n")[0].decode("latin-1"), {"partial": "head"}))
            break
        lines = head.split(b"\r\n")
        hdrs = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            hdrs[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        status = lines[0].decode("latin-1")
        code = int(status.split()[1]) if len(status.split()) > 1 else 0
        if code < 200 or code in (204, 304) or (head_request and not found):
            data = rest
        elif "content-length" in hdrs:
            data = rest[int(hdrs["content-length"]):]
        elif hdrs.get("transfer-encoding", "").lower() == "chunked":
            body = rest
            while True:
                size_line, _, body = body.partition(b"\r\n")
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    _, _, body = body.partition(b"\r\n")
                    break
                body = body[size + 2:]
            data = body
        else:
            data = b""
        if code >= 100 and code < 200:
            status += " (interim)"
        found.append((status, {k: v for k, v in hdrs.items() if k in KEY_HEADERS}))
    if data and not data.startswith(b"HTTP/"):
        found.append(("<non-HTTP %d bytes: %r>" % (len(data), data[:20]), {}))
    return found


def summary(data, end, head):
    rs = responses(data, head)
    if not rs and data:
        # HTTP/0.9 answer: the body alone.
        return "0.9 body %dB" % len(data), end
    parts = []
    for status, h in rs:
        code = status.split()[1] if len(status.split()) > 1 else "?"
        extra = []
        if "connection" in h:
            extra.append("C:" + h["connection"])
        if "allow" in h:
            extra.append("Allow:" + h["allow"])
        parts.append(code + ("[" + " ".join(extra) + "]" if extra else ""))
    return " ".join(parts) if parts else "-", end


def row(port, data):
    out, end = exchange(port, data)
    return summary(out, end, data.startswith(b"HEAD"))


def key(resp, end, classes=False):
    """What is compared: the status codes (or only their classes) and how the connection
    ended."""
    codes = re.sub(r"\[[^]]*\]", "", resp).split()
    if classes:
        codes = [c[0] if c.isdigit() else c for c in codes]
    return codes, end


def main():
    args = [a for a in sys.argv[1:]]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    ports = [int(a) for a in args]
    differ = differ_class = 0
    for name, data in CASES:
        if only and only not in name:
            continue
        rows = [row(p, data) for p in ports]
        if len(rows) == 1:
            print("%-20s | %-60s | %s" % (name, rows[0][0], rows[0][1]))
            continue
        same = key(*rows[0]) == key(*rows[1])
        differ += not same
        differ_class += key(*rows[0], classes=True) != key(*rows[1], classes=True)
        print("%-4s %-20s | %-45s %-5s | %-45s %-5s" % (
            "" if same else "DIFF", name, rows[0][0], rows[0][1], rows[1][0], rows[1][1]))
    if len(ports) > 1:
        total = sum(1 for n, _ in CASES if not only or only in n)
        print("%d of %d cases differ; %d in status class or connection ending"
              % (differ, total, differ_class))


if __name__ == "__main__":
    main()
