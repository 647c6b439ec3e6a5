#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets into fuzz/seeds/<target>/ from the repository's real
inputs: the requests, chunked bodies and paths in the tests, the configuration files in conf/
and tests/fixtures/, and the header blocks the CGI test scripts print. Each seed carries the
target's settings prefix (see the target's documentation) set to plain values.

ci/fuzz runs this before fuzzing; `cargo fuzz cmin` then merges the seeds into the committed
corpora (fuzz/corpus/<target>/), so a new test's inputs reach the fuzzer without a hand step.
"""
import hashlib
import shutil
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "seeds"
# ci/fuzz's -max_len: longer seeds would be cut.
MAX_LEN = 4096
LITERAL = re.compile(rb'b?"((?:[^"\\]|\\.|\\\n)*)"', re.S)
METHOD = re.compile(rb"^(\r?\n)*[A-Za-z]+ \S+ HTTP/")


def unescape(body: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != 0x5C or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        n = body[i + 1 : i + 2]
        i += 2
        if n == b"n":
            out += b"\n"
        elif n == b"r":
            out += b"\r"
        elif n == b"t":
            out += b"\t"
        elif n == b"0":
            out += b"\0"
        elif n == b"x":
            out.append(int(body[i : i + 2], 16))
            i += 2
        elif n == b"u":
            end = body.index(b"}", i)
            out += chr(int(body[i + 1 : end], 16)).encode()
            i = end + 1
        elif n == b"\n":
            # A Rust string continuation: the newline and the next line's indentation go.
            while i < len(body) and body[i] in b" \t\n":
                i += 1
        else:
            out += n
    return bytes(out)


def literals(*globs):
    for g in globs:
        for f in sorted(ROOT.glob(g)):
            for m in LITERAL.finditer(f.read_bytes()):
                try:
                    yield unescape(m.group(1))
                except (ValueError, IndexError):
                    continue


def write(target, data):
    if len(data) > MAX_LEN:
        return
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    # request_head: kind 0 (httpd's default limits), no slack, 20 header slots, no split.
    heads = {s for s in literals("tests/*.rs", "core/src/http1/*.rs") if METHOD.match(s)}
    for h in heads:
        write("request_head", bytes([0, 0, 20, 0]) + h)
        # Split in three, with small limits.
        write("request_head", bytes([1, 60, 40, 4, 0, 2, 20, 2]) + struct.pack("<HH", 5, len(h) // 2) + h)
    # url_path: the targets of those requests and the normaliser's test paths.
    paths = {h.split(b" ")[1] for h in heads if h.count(b" ") >= 2}
    paths |= {s for s in literals("core/src/http1/path.rs") if s.startswith(b"/")}
    for p in paths:
        write("url_path", bytes([8]) + p)
    # chunked: default limits, reads of 5 bytes into 7-byte buffers.
    for s in literals("core/src/http1/chunked.rs", "tests/*.rs"):
        if re.match(rb"^[0-9A-Fa-f]+[ ;\r]", s) and b"\r\n" in s:
            write("chunked", bytes([0, 4, 6]) + s)
    # range_conditional: GET, each field alone and all together, a 1 KiB file.
    values = [b"bytes=0-99", b'"400-660f315801623"', b'"400-660f315801623", W/"x"', b'W/"x", *',
              b"Sun, 06 Nov 1994 08:49:37 GMT", b"Sunday, 06-Nov-94 08:49:37 GMT",
              b'"400-660f315801623"']
    for s in literals("core/src/http1/range.rs", "core/src/http1/conditional.rs"):
        if s.startswith((b"bytes", b"Bytes", b'"', b"W/", b"*")) or re.match(rb"^[A-Z][a-z]{2}", s):
            values.append(s)
    for i, v in enumerate(values):
        present = 1 << (i % 6)
        write("range_conditional", bytes([0, present, 0]) + struct.pack("<HIH", 1024, 784111777, 3000)
              + b"\n" * (i % 6) + v)
    write("range_conditional", bytes([0, 0x3F, 0]) + struct.pack("<HIH", 1024, 784111777, 3000)
          + b"\n".join(values[:7]))
    # config_core and config_reader: the shipped files and the Debian fixtures.
    # Comments make up most of conf/eventmpm.conf: the seeds keep its directives (and a few
    # comments), so they stay within libFuzzer's 4 KiB inputs and the corpora small.
    for f in sorted(ROOT.glob("conf/*.conf")) + sorted(ROOT.glob("tests/fixtures/**/*.conf")):
        lines = f.read_bytes().splitlines(keepends=True)
        text = b"".join(l for l in lines if l.strip() and not l.lstrip().startswith(b"#"))
        head = b"".join(lines[:12])[:1024]
        for seed in (text[:MAX_LEN - 1], head):
            write("config_core", bytes([0]) + seed)
            write("config_core", bytes([0x05]) + seed)
            write("config_reader", seed)
    for s in literals("tests/*.rs", "src/config/*.rs"):
        if re.match(rb"^(Listen|<If|<Location|<Directory|ThreadsPerChild|ScriptAlias|LogFormat)", s):
            write("config_reader", s)
            write("config_core", bytes([0]) + s)
    # cgi_headers: what the test scripts print (printf formats), and the parser's test blocks.
    for s in literals("tests/cgi.rs", "src/cgi/headers.rs"):
        for fmt in re.findall(rb"printf '([^']*)'", s):
            block = fmt.replace(b"\\n", b"\n").replace(b"%s", b"7")
            write("cgi_headers", bytes([0, 0, 0]) + block)
        if re.match(rb"^[A-Za-z-]+:", s) and b"\n" in s:
            write("cgi_headers", bytes([0, 0, 0]) + s)
    # status: an empty server, and a few segments with the status fixtures as noise.
    write("status", bytes(64))
    for f in sorted(ROOT.glob("core/src/status/fixtures/*")):
        write("status", bytes([1, 2, 0, 8, 4]) + bytes(40) + b"localhostauto" + f.read_bytes()[:4096])
    # listing: the names tests/render.rs lists, under each query it sends (flags: Debian's
    # IndexOptions and the icon/description lines; query length; sizes and times seed).
    names = [b"a.txt", b"B.txt", b"big.txt", b"file9.txt", b"file10.txt", b"prog.c",
             b"pkg.tar.gz", b"we ird&<n>.txt", b"a:colon", b"README", b".hidden", b"backup~",
             b"x 01", b"x  1", b"x1.01", b"x1.1", b"\xc3\xa9t\xc3\xa9"]
    for query in [b"", b"C=M;O=D", b"C=S;O=A", b"F=1&V=0", b"P=*.txt", b"C=D;O=D"]:
        flags = struct.pack("<H", 0x047)
        write("listing", flags + bytes([len(query)]) + bytes(range(8)) + query + b"\0".join(names))


if __name__ == "__main__":
    main()
