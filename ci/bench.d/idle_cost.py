#!/usr/bin/env python3
"""What one idle keep-alive connection costs a server, part by part (issue 12).

Starts eventmpm and/or nginx with ci/bench's 10k settings (the same classes ci/bench uses),
warms each as ci/bench does, then holds N idle keep-alive connections with ci/bench.d/idle.py and
prints, per server:

  * userspace: (RSS of all the server's processes holding N - before) / held, as ci/bench's
    "RSS per idle keep-alive conn", and where the growth is: [heap], thread stacks (anonymous
    mappings of 2 or 8 MiB, Rust's and glibc's default stacks), other anonymous mappings
    (malloc arenas, large allocations, eventmpm's pool buffers), and file-backed or shared
    pages (code, the scoreboard);
  * kernel, per server-side socket: `ss -tm` skmem of a sample of the held connections (rmem
    alloc, rcvbuf, wmem queued, sndbuf, forward alloc), the descriptors the server's epoll
    instances gained (from /proc/PID/fdinfo), and slab objects grown during the hold (TCP,
    eventpoll_epi, filp, sock_inode_cache, dentry; system-wide, so the client's sockets and
    anything else running on the machine count too: read them as rough).

Unlike ci/bench it pins nothing and runs no wrk: it is for finding where the memory goes, ci/bench
is for the figure. One JSON line per server and round (by_process_kib: growth per process).

Bounded: N <= 15000 (idle.py's bound), each server held for at most --hold seconds; every server
is stopped by PID at the end, on failure too. Loopback only.

usage: python3 ci/bench.d/idle_cost.py [--servers eventmpm,nginx] [-n 10000] [--port 19400]
                                       [--binary target/release/eventmpm] [--rounds 1]
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def load_bench():
    loader = importlib.machinery.SourceFileLoader("bench", os.path.join(REPO, "ci", "bench"))
    spec = importlib.util.spec_from_loader("bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


bench = load_bench()


def mappings(pid):
    """RSS (KiB) of pid's mappings by kind."""
    out = {"heap": 0, "stacks": 0, "anon": 0, "file": 0}
    try:
        with open("/proc/%d/smaps" % pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return out
    kind = None
    for line in lines:
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):
            lo, hi = (int(x, 16) for x in head[0].split("-"))
            size = hi - lo
            name = head[5] if len(head) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name.startswith("/"):
                kind = "file"
            elif name == "" and size in STACK_SIZES:
                kind = "stacks"
            else:
                kind = "anon"
        elif line.startswith("Rss:") and kind:
            out[kind] += int(head[1])
    return out


# Rust's default thread stack (2 MiB) and glibc's (8 MiB, ulimit -s), without their guard page
# (mapped separately): what a worker or listener thread's stack mapping measures.
STACK_SIZES = {2 << 20, 8 << 20}


def breakdown(server):
    """Totals by kind, and per process."""
    tot = {"heap": 0, "stacks": 0, "anon": 0, "file": 0}
    per = {}
    for p in server.pids():
        per[p] = mappings(p)
        for k, v in per[p].items():
            tot[k] += v
    return tot, per


SLABS = ("TCP", "eventpoll_epi", "eventpoll_pwq", "filp", "sock_inode_cache", "dentry",
         "skbuff_head_cache", "kmalloc-4k", "kmalloc-2k", "kmalloc-1k", "kmalloc-512")


def slabs():
    out = {}
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                p = line.split()
                if p and p[0] in SLABS:
                    out[p[0]] = (int(p[1]), int(p[3]))  # active objects, object size
    except OSError:
        pass
    return out


def epoll_items(server):
    """Descriptors registered in the server's epoll instances (every process)."""
    n = 0
    for p in server.pids():
        try:
            fds = os.listdir("/proc/%d/fd" % p)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (p, fd)) != "anon_inode:[eventpoll]":
                    continue
                with open("/proc/%d/fdinfo/%s" % (p, fd)) as f:
                    n += sum(1 for line in f if line.startswith("tfd:"))
            except OSError:
                continue
    return n


def skmem(port, sample=200):
    """Mean skmem fields over up to `sample` server-side established sockets on port."""
    p = subprocess.run(["ss", "-Htnm", "state", "established", "( sport = :%d )" % port],
                       capture_output=True, text=True, timeout=30)
    rows = []
    for line in p.stdout.splitlines():
        if "skmem:(" in line:
            inner = line.split("skmem:(", 1)[1].split(")", 1)[0]
            fields = {}
            for part in inner.split(","):
                k = part.rstrip("0123456789")
                fields[k] = int(part[len(k):])
            rows.append(fields)
        if len(rows) >= sample:
            break
    if not rows:
        return {}
    keys = rows[0].keys()
    return {k: sum(r.get(k, 0) for r in rows) / len(rows) for k in keys} | {"n": len(rows)}


def measure(server, n, hold):
    server.start("10k", [])
    holder = None
    try:
        bench.warm(server, [], conns=400)
        time.sleep(1)
        rss0, (b0, p0), s0 = server.rss_kb(), breakdown(server), slabs()
        est0 = bench.established(server.port)
        ep0 = epoll_items(server)
        cmd = ["python3", os.path.join(HERE, "idle.py"), "127.0.0.1", str(server.port), "-n",
               str(n), "--hold", str(hold)]
        holder = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = holder.stdout.readline()
        ready = json.loads(line) if line else {}
        time.sleep(2)
        rss1, (b1, p1), s1 = server.rss_kb(), breakdown(server), slabs()
        held = bench.established(server.port) - est0
        mem = skmem(server.port)
        ep1 = epoll_items(server)
        procs = server.shape()
        holder.stdin.close()
        holder.stdout.readline()
        holder.wait(30)
        return {"server": server.name, "ok": ready.get("ok"), "held": held, "rss0": rss0,
                "rss1": rss1, "per_conn_kib": (rss1 - rss0) / held if held > 0 else None,
                "by_kind_kib": {k: b1[k] - b0[k] for k in b0},
                "by_process_kib": {p: {k: p1[p][k] - p0.get(p, {}).get(k, 0) for k in p1[p]}
                                   for p in p1},
                "slab_objs_grown": {k: s1[k][0] - s0.get(k, (0, 0))[0] for k in s1},
                "slab_obj_size": {k: s1[k][1] for k in s1},
                "skmem_mean": mem, "epoll_items_grown": ep1 - ep0, "processes_threads": procs}
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait(10)
        server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--servers", default="eventmpm,nginx")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=60)
    ap.add_argument("--port", type=int, default=19400)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--binary", default=os.path.join(REPO, "target", "release", "eventmpm"))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    base = bench.pick_ports(a.port)
    make = {"eventmpm": lambda: bench.Eventmpm(base + 2, a.binary),
            "nginx": lambda: bench.Nginx(base + 1)}
    for r in range(a.rounds):
        for name in a.servers.split(","):
            print(json.dumps(measure(make[name](), min(a.n, 15000), min(a.hold, 120))),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
