#!/usr/bin/env python3
"""Hold N idle keep-alive connections to a loopback HTTP/1.1 server, for ci/bench.

Each connection sends one GET, reads the whole response (Content-Length framing), then sits
idle. Once every connection has had its answer (or failed), prints one JSON line
{"event": "ready", ...} and keeps holding until stdin reaches EOF or --hold seconds pass; then
prints {"event": "done", ...} with how many connections the server closed (EOF or reset) while
they were held, and exits.

Bounded: N <= 15000, hold <= 120 s, connect/response waits 10 s each; loopback only.

usage: idle.py HOST PORT [-n 10000] [--hold 60] [--path /] [--parallel 256]
"""
import argparse
import asyncio
import ipaddress
import json
import resource
import sys
import time


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length:
        await reader.readexactly(length)
    return status


class State:
    def __init__(self):
        self.ok = 0
        self.failed = 0
        self.closed_while_held = 0
        self.settled = 0
        self.errors = {}


async def one(host, port, path, st, gate, stop):
    writer = None
    try:
        async with gate:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
                writer.write(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path.encode(), host.encode()))
                await writer.drain()
                status = await asyncio.wait_for(read_response(reader), 10)
                if status != 200:
                    raise RuntimeError("status %d" % status)
                st.ok += 1
            except Exception as e:  # refused, timed out, reset, bad status
                name = type(e).__name__
                st.errors[name] = st.errors.get(name, 0) + 1
                st.failed += 1
                return
            finally:
                st.settled += 1
        # Idle until the server closes the connection or the holder is told to stop.
        read = asyncio.ensure_future(reader.read(1))
        done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
        if read in done:
            st.closed_while_held += 1
        else:
            read.cancel()
    except Exception:
        st.closed_while_held += 1
    finally:
        if writer is not None:
            writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--path", default="/")
    ap.add_argument("--parallel", type=int, default=256)
    a = ap.parse_args()
    if not ipaddress.ip_address(a.host).is_loopback:
        sys.exit("refusing non-loopback target %r" % a.host)
    n = min(a.n, 15000)
    hold = min(a.hold, 120)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, n + 100):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    st = State()
    gate = asyncio.Semaphore(a.parallel)
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(one(a.host, a.port, a.path, st, gate, stop)) for _ in range(n)]
    while st.settled < n and time.monotonic() - t0 < 60:
        await asyncio.sleep(0.05)
    ready = {"event": "ready", "ok": st.ok, "failed": st.failed, "errors": st.errors,
             "closed_so_far": st.closed_while_held, "ramp_s": round(time.monotonic() - t0, 2)}
    print(json.dumps(ready), flush=True)

    # Hold until stdin closes (the bench is done measuring) or the hold limit passes.
    eof = loop.create_future()

    def on_stdin():
        if not sys.stdin.buffer.read1(4096) and not eof.done():
            eof.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    try:
        await asyncio.wait_for(eof, hold)
    except asyncio.TimeoutError:
        pass
    loop.remove_reader(sys.stdin.fileno())
    closed = st.closed_while_held
    still_open = st.ok - closed
    stop.set_result(None)
    await asyncio.wait(tasks, timeout=10)
    print(json.dumps({"event": "done", "ok": st.ok, "closed_by_server_while_held": closed,
                      "still_open": still_open, "held_s": round(time.monotonic() - t0, 2)}),
          flush=True)


if __name__ == "__main__":
    asyncio.run(main())
