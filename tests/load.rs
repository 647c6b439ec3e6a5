//! The event MPM's promises under load, driven with real clients and our own sockets:
//!
//! * 10,000 idle keep-alive connections held by a child of 25 workers while other clients are
//!   served, at a bounded memory cost per idle connection;
//! * write completion: slow readers of a large file do not hold workers, so with two workers
//!   small requests keep succeeding while fifty downloads crawl, and every download is exact;
//! * slowloris: trickled request heads cost no worker, are closed at the header timeout with a
//!   408, and normal clients keep being served;
//! * wrk and h2load (pipelined) against a small file get every response, without errors.
//!
//! Every client, wait and server is bounded in time; figures are printed (`--nocapture`), never
//! asserted as speeds.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A helper script run with python3: its stdout lines arrive on a channel (so every read is
/// bounded), commands go to its stdin, and it is killed by PID when dropped.
struct Script {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: std::path::PathBuf,
}

impl Script {
    fn start(tag: &str, source: &str, args: &[String]) -> Script {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr = std::env::temp_dir().join(format!(
            "eventmpm-load-{tag}-{}-{n}.err",
            std::process::id()
        ));
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(source)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("python3 is required for this test (ci/install provides it)");
        let stdin = child.stdin.take();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Script {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    /// The next line of output, waiting at most `limit`.
    fn line(&mut self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output from the script within {limit:?}; {}", self.err())
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the script ended early; {}", self.err())
            }
        }
    }

    fn send(&mut self, cmd: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    fn err(&self) -> String {
        format!(
            "stderr: {}",
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        )
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stderr);
    }
}

/// `"key": number` in a flat JSON object printed by one of the scripts.
fn json_num(line: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    let at = line
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {line}"));
    let rest = &line[at + pat.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("{key} in {line}"))
}

fn auto_num(page: &str, key: &str) -> u64 {
    auto_value(page, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in server-status?auto:\n{page}"))
}

/// The hard open-file limit this process (and the processes it starts) may raise to.
fn hard_nofile() -> u64 {
    let (_, out, _) = run_tool("sh", &["-c", "ulimit -Hn"], Duration::from_secs(5));
    match out.trim() {
        "unlimited" => u64::MAX,
        n => n.parse().unwrap_or(0),
    }
}

/// The soft open-file limit of a running process.
fn soft_nofile_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        .map(|v| {
            if v == "unlimited" {
                u64::MAX
            } else {
                v.parse().unwrap_or(0)
            }
        })
        .unwrap_or(0)
}

/// wrk's summary: the request count, and every error line it printed (non-2xx/3xx responses,
/// socket errors).
fn run_wrk(args: &[&str], limit: Duration) -> (u64, Vec<String>, String) {
    let (code, out, err) = run_tool("wrk", args, limit);
    assert_eq!(code, Some(0), "wrk failed: {out}{err}");
    let requests = out
        .lines()
        .find_map(|l| {
            let (n, rest) = l.trim().split_once(' ')?;
            rest.starts_with("requests in").then(|| n.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{out}"));
    let errors = out
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::to_string)
        .collect();
    (requests, errors, out)
}

// ---------------------------------------------------------------------------------------------
// 1. Ten thousand idle keep-alive connections.

/// Holds keep-alive connections. Commands on stdin: `open N` opens N more connections (at most
/// 100 connecting at once), each sending one keep-alive GET and reading its response, then
/// prints one JSON line; `report` prints how many held connections the server closed (EOF, a
/// reset or unsolicited bytes) and exits. Raises its own open-file limit.
const HOLDER: &str = r#"
import asyncio, json, resource, sys
port, path, most = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = most + 256
if hard != resource.RLIM_INFINITY and hard < want:
    print(json.dumps({"error": "RLIMIT_NOFILE hard limit %d < %d" % (hard, want)}), flush=True)
    sys.exit(2)
if soft != resource.RLIM_INFINITY and soft < want:
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
REQ = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n\r\n"
held, closed = [], []
st = {"connected": 0, "connect_fail": 0, "bad_response": 0}

async def watch(r):
    try:
        await r.read(1)
    except Exception:
        pass
    closed.append(1)

async def one(sem):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        except Exception:
            st["connect_fail"] += 1
            return
        st["connected"] += 1
        try:
            w.write(REQ)
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 30)
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            await asyncio.wait_for(r.readexactly(length), 30)
            if status != 200 or b"close" in head.lower():
                raise ValueError(head)
        except Exception:
            st["bad_response"] += 1
            w.close()
            return
        held.append((w, asyncio.create_task(watch(r))))

async def main():
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(100)
    while True:
        cmd = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not cmd or cmd[0] == "report":
            break
        n = min(int(cmd[1]), most - len(held))
        await asyncio.gather(*(one(sem) for _ in range(n)))
        await asyncio.sleep(0.2)
        print(json.dumps(dict(st, held=len(held), closed=len(closed))), flush=True)
    print(json.dumps(dict(st, held=len(held), closed=len(closed))), flush=True)
    for w, t in held:
        t.cancel()
        w.close()

asyncio.run(main())
"#;

#[test]
fn ten_thousand_idle_keep_alive_connections_with_25_workers() {
    const N: u64 = 10_000;
    const WARM: u64 = 1_000;
    let hard = hard_nofile();
    assert!(
        hard >= N + 512,
        "this test needs a hard open-file limit of at least {} (ulimit -Hn is {hard})",
        N + 512
    );
    let s = Scratch::new("idle10k");
    s.file("1k.txt", &[b'k'; 1024]);
    // Admission lets a child hold ThreadsPerChild + factor × idle workers: 25 + 1000 × idle,
    // enough for 10,000 and the other clients while a few workers are busy.
    let srv = start_with(
        s,
        "ThreadsPerChild 25\nAsyncRequestWorkerFactor 1000\nKeepAliveTimeout 60\n\
         MaxKeepAliveRequests 0\nListenBacklog 4096\n",
        &[],
    );
    let server_nofile = soft_nofile_of(srv.pid());
    assert!(
        server_nofile >= N + 256,
        "the server's open-file limit is {server_nofile}"
    );
    // Warm the workers (first requests, buffers, log lines) before the baseline.
    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t1", "-c25", "-n2000", &srv.url("/1k.txt")],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2000 succeeded, 0 failed"), "{out}");
    assert!(eventually(Duration::from_secs(10), || auto_num(
        &status_auto(&srv),
        "ConnsTotal"
    ) == 1));
    let rss_before = srv.proc_status("VmRSS");

    let mut holder = Script::start(
        "holder",
        HOLDER,
        &[srv.port.to_string(), "/1k.txt".into(), N.to_string()],
    );
    holder.send(&format!("open {WARM}"));
    let line = holder.line(Duration::from_secs(60));
    assert_eq!(json_num(&line, "held"), WARM as f64, "{line}");
    let rss_warm = srv.proc_status("VmRSS");
    let opened_at = Instant::now();
    holder.send(&format!("open {}", N - WARM));
    let line = holder.line(Duration::from_secs(120));
    eprintln!(
        "opened {} keep-alive connections in {:?}: {line}",
        N - WARM,
        opened_at.elapsed()
    );
    assert_eq!(json_num(&line, "connect_fail"), 0.0, "{line}");
    assert_eq!(json_num(&line, "bad_response"), 0.0, "{line}");
    assert_eq!(json_num(&line, "held"), N as f64, "{line}");
    assert_eq!(json_num(&line, "closed"), 0.0, "{line}");

    // The counters are exact: every held connection waits in the keep-alive queue, and the
    // status request itself is the one other connection.
    let page = status_auto(&srv);
    assert_eq!(auto_num(&page, "ConnsAsyncKeepAlive"), N, "{page}");
    assert_eq!(auto_num(&page, "ConnsTotal"), N + 1, "{page}");
    let rss_held = srv.proc_status("VmRSS");
    let per_conn = (rss_held.saturating_sub(rss_before)) * 1024 / N;
    let marginal = (rss_held.saturating_sub(rss_warm)) * 1024 / (N - WARM);
    eprintln!(
        "VmRSS: {rss_before} kB before, {rss_warm} kB with {WARM}, {rss_held} kB with {N} idle \
         keep-alive connections"
    );
    eprintln!("RSS per idle keep-alive connection: {per_conn} bytes");
    eprintln!("RSS per idle keep-alive connection (marginal, {WARM}..{N}): {marginal} bytes");
    // Far above the design's goal (< 1 KiB), far below a buffer kept per idle connection.
    assert!(per_conn < 4096, "{per_conn} bytes per idle connection");
    assert!(marginal < 4096, "{marginal} bytes per idle connection");

    // Other clients are served while the ten thousand wait.
    for _ in 0..20 {
        let (code, out, err) = run_tool(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "10",
                &srv.url("/1k.txt"),
            ],
            Duration::from_secs(15),
        );
        assert_eq!((code, out.as_str()), (Some(0), "200"), "{err}");
    }
    let (requests, errors, out) = run_wrk(
        &["-t2", "-c50", "-d3s", &srv.url("/1k.txt")],
        Duration::from_secs(30),
    );
    assert!(requests > 0, "{out}");
    assert!(errors.is_empty(), "{errors:?}\n{out}");

    // Still all held, none closed by the server.
    assert!(
        eventually(Duration::from_secs(10), || {
            let page = status_auto(&srv);
            auto_num(&page, "ConnsTotal") == N + 1
        }),
        "{}",
        status_auto(&srv)
    );
    assert_eq!(
        auto_num(&status_auto(&srv), "ConnsAsyncKeepAlive"),
        N,
        "keep-alive connections were closed while other clients were served"
    );
    holder.send("report");
    let line = holder.line(Duration::from_secs(30));
    assert_eq!(json_num(&line, "held"), N as f64, "{line}");
    assert_eq!(json_num(&line, "closed"), 0.0, "{line}");
    drop(holder);
    assert!(
        eventually(Duration::from_secs(20), || auto_num(
            &status_auto(&srv),
            "ConnsTotal"
        ) == 1),
        "the server did not notice every client leaving: {}",
        status_auto(&srv)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Write completion.

/// Slow readers: each connects with an 8 KiB receive buffer (set before connect, so the window
/// stays small), asks for PATH and reads it slowly (at most 64 KiB per 100 ms) until `fast`
/// arrives on stdin, then at full speed. Prints `started` once every response head has arrived,
/// and at the end one JSON line per reader (with the seconds from connect to response head).
const SLOW_READERS: &str = r#"
import hashlib, json, socket, sys, threading, time
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
fast = threading.Event()
heads = threading.Semaphore(0)
results = [None] * n

def reader(i):
    res = {"i": i, "status": 0, "length": -1, "got": 0, "sha": "", "error": "", "head_s": -1}
    try:
        t0 = time.monotonic()
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(60)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(8192)
            if not chunk:
                raise EOFError("closed inside the head")
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        res["status"] = int(head.split(b" ", 2)[1])
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                res["length"] = int(v)
        res["head_s"] = round(time.monotonic() - t0, 3)
        heads.release()
        h = hashlib.sha256(body)
        got = len(body)
        grown = False
        while True:
            if fast.is_set():
                if not grown:
                    # A larger window for the rest (8 KiB per round trip is slow even on loopback).
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
                    grown = True
                chunk = s.recv(1 << 20)
            else:
                chunk = s.recv(65536)
                time.sleep(0.1)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
        res["got"], res["sha"] = got, h.hexdigest()
    except Exception as e:
        res["error"] = repr(e)
        heads.release()
    results[i] = res

threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
for t in threads:
    t.start()
for _ in range(n):
    heads.acquire(timeout=60)
print("started", flush=True)
sys.stdin.readline()
fast.set()
end = time.monotonic() + 120
for t in threads:
    t.join(max(0.1, end - time.monotonic()))
for r in results:
    print(json.dumps(r or {"error": "unfinished"}), flush=True)
print("done", flush=True)
"#;

#[test]
fn slow_readers_do_not_hold_the_two_workers() {
    const READERS: usize = 50;
    const SIZE: usize = 10 * 1024 * 1024;
    let s = Scratch::new("wcompl");
    s.file("1k.txt", &[b'w'; 1024]);
    let big: Vec<u8> = (0..SIZE as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let big_path = s.file("10m.bin", &big);
    // Admission must let the fifty in with two workers: 2 + 100 × idle.
    let srv = start_with(
        s,
        "ThreadsPerChild 2\nAsyncRequestWorkerFactor 100\nTimeout 60\n",
        &[],
    );
    let mut readers = Script::start(
        "slowreaders",
        SLOW_READERS,
        &[srv.port.to_string(), "/10m.bin".into(), READERS.to_string()],
    );
    assert_eq!(readers.line(Duration::from_secs(90)), "started");

    // Every download waits in the listener for its socket to drain; no worker is held: the one
    // answering this status request is the only busy one.
    let mut last = String::new();
    let seen = eventually(Duration::from_secs(10), || {
        last = status_auto(&srv);
        auto_num(&last, "ConnsAsyncWriting") == READERS as u64
            && auto_num(&last, "BusyWorkers") == 1
    });
    assert!(seen, "{last}");
    eprintln!(
        "during {READERS} slow downloads: ConnsAsyncWriting {}, BusyWorkers {}, IdleWorkers {}",
        auto_num(&last, "ConnsAsyncWriting"),
        auto_num(&last, "BusyWorkers"),
        auto_num(&last, "IdleWorkers")
    );

    // A third client's small requests all succeed while the downloads crawl.
    let limit = Duration::from_secs(5);
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let t = Instant::now();
        let (head, body) = get_within(&srv, "/1k.txt", limit)
            .unwrap_or_else(|e| panic!("small request {i} failed during the downloads: {e}"));
        slowest = slowest.max(t.elapsed());
        assert_eq!(status_of(head.as_bytes()), 200, "{head}");
        assert_eq!(body, [b'w'; 1024]);
    }
    let page = status_auto(&srv);
    let writing = auto_num(&page, "ConnsAsyncWriting");
    eprintln!(
        "200 small requests during the downloads: slowest {slowest:?}; ConnsAsyncWriting \
         afterwards {writing}"
    );
    assert!(
        writing > 0,
        "the downloads ended before the small requests did, so they proved nothing: {page}"
    );

    // Then the readers speed up; every one gets the file, byte for byte.
    readers.send("fast");
    let fast_at = Instant::now();
    let want_sha = {
        let (code, out, err) = run_tool(
            "sha256sum",
            &[big_path.to_str().unwrap()],
            Duration::from_secs(30),
        );
        assert_eq!(code, Some(0), "{err}");
        out.split_whitespace().next().unwrap().to_string()
    };
    let mut done = 0;
    let mut slowest_head = 0f64;
    loop {
        let line = readers.line(Duration::from_secs(150));
        if line == "done" {
            break;
        }
        // Each download was accepted and answered promptly although the workers had been
        // busy a moment before (a lost wake-up left them in the backlog for ~20 s).
        let head_s = json_num(&line, "head_s");
        assert!(
            (0.0..5.0).contains(&head_s),
            "response head after {head_s} s: {line}"
        );
        slowest_head = slowest_head.max(head_s);
        assert!(line.contains("\"error\": \"\""), "{line}");
        assert_eq!(json_num(&line, "status"), 200.0, "{line}");
        assert_eq!(json_num(&line, "length"), SIZE as f64, "{line}");
        assert_eq!(json_num(&line, "got"), SIZE as f64, "{line}");
        assert!(line.contains(&format!("\"sha\": \"{want_sha}\"")), "{line}");
        done += 1;
    }
    assert_eq!(done, READERS);
    eprintln!(
        "slowest response head {slowest_head} s; the rest of the downloads took {:?} at full \
         speed",
        fast_at.elapsed()
    );
    assert!(eventually(Duration::from_secs(10), || auto_num(
        &status_auto(&srv),
        "ConnsTotal"
    ) == 1));
}

// ---------------------------------------------------------------------------------------------
// 3. Slowloris.

/// Trickles a request head, one byte every 500 ms, on each of N connections, never finishing.
/// Prints `started N` once every connection has sent its first byte, then one JSON line per
/// connection: when the server closed it (seconds after its first byte was sent, -1 if it did
/// not within 15 s), how (EOF or reset), bytes sent, and the start of what came back.
const TRICKLER: &str = r#"
import asyncio, json, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
HEAD = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: trickle\r\nX-Pad: " + b"a" * 200

async def one(i, started, res):
    out = {"i": i, "closed_after": -1.0, "how": "", "sent": 0, "reply": ""}
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    except Exception as e:
        out["how"] = "connect failed"
        started.append(i)
        res.append(out)
        return
    data = bytearray()

    async def read():
        while True:
            try:
                chunk = await r.read(4096)
            except OSError:
                return "reset", time.monotonic()
            if not chunk:
                return "eof", time.monotonic()
            data.extend(chunk)

    reader = asyncio.create_task(read())
    t0, k = None, 0
    deadline = time.monotonic() + 15
    while not reader.done() and time.monotonic() < deadline and k < len(HEAD):
        if t0 is None:
            # Before the write: the first byte cannot reach the server any earlier.
            t0 = time.monotonic()
        w.write(HEAD[k:k + 1])
        if k == 0:
            started.append(i)
        k += 1
        await asyncio.wait([reader], timeout=0.5)
    if reader.done():
        out["how"], t = reader.result()
        out["closed_after"] = round(t - t0, 3)
    else:
        reader.cancel()
    out["sent"] = k
    out["reply"] = bytes(data[:12]).decode("latin-1")
    w.close()
    res.append(out)

async def main():
    started, res = [], []
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one(i, started, res)))
        if i % 50 == 49:
            await asyncio.sleep(0)
    end = time.monotonic() + 60
    while len(started) < n and time.monotonic() < end:
        await asyncio.sleep(0.01)
    print("started %d" % len(started), flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    for o in res:
        print(json.dumps(o), flush=True)
    print("done", flush=True)

asyncio.run(main())
"#;

#[test]
fn slowloris_heads_are_closed_at_the_header_timeout_without_holding_workers() {
    const TRICKLERS: usize = 500;
    let s = Scratch::new("slowloris");
    s.file("index.html", b"<p>served\n");
    // Admission must admit the tricklers and the normal clients: 4 + 200 × idle workers.
    let srv = start_with(
        s,
        "ThreadsPerChild 4\nAsyncRequestWorkerFactor 200\n\
         RequestReadTimeout header=2-4,MinRate=500\nListenBacklog 1024\n",
        &[],
    );
    let mut trickler = Script::start(
        "trickle",
        TRICKLER,
        &[srv.port.to_string(), TRICKLERS.to_string()],
    );
    assert_eq!(
        trickler.line(Duration::from_secs(60)),
        format!("started {TRICKLERS}")
    );
    // Every trickled head waits in the listener (once accepted from the backlog); the worker
    // answering this is the only busy one.
    let mut page = String::new();
    let all_accepted = eventually(Duration::from_secs(10), || {
        page = status_auto(&srv);
        auto_num(&page, "ConnsTotal") > TRICKLERS as u64
    });
    assert!(all_accepted, "{page}");
    assert_eq!(auto_num(&page, "BusyWorkers"), 1, "{page}");

    // Normal clients are served for as long as the heads trickle (and at least 100 times).
    let limit = Duration::from_secs(5);
    let mut normal = 0;
    let mut slowest = Duration::ZERO;
    let first_result = loop {
        if normal >= 100
            && let Ok(line) = trickler.lines.try_recv()
        {
            break line;
        }
        let t = Instant::now();
        let (head, body) = get_within(&srv, "/index.html", limit)
            .unwrap_or_else(|e| panic!("request {normal} failed while heads trickled: {e}"));
        slowest = slowest.max(t.elapsed());
        assert_eq!(status_of(head.as_bytes()), 200, "{head}");
        assert_eq!(body, b"<p>served\n");
        normal += 1;
        assert!(normal < 100_000, "the trickler never finished");
    };
    eprintln!("{normal} normal requests while {TRICKLERS} heads trickled; slowest {slowest:?}");

    let mut closes = Vec::new();
    let mut line = first_result;
    while line != "done" {
        let after = json_num(&line, "closed_after");
        assert!(
            line.contains("\"how\": \"eof\"") || line.contains("\"how\": \"reset\""),
            "not closed by the server within 15 s: {line}"
        );
        // The header stage: 2 s, extended at 500 bytes/s (a trickle earns milliseconds) up to 4 s.
        // The server keeps time in milliseconds: allow its rounding.
        assert!(after >= 1.999, "closed before the header timeout: {line}");
        assert!(after <= 5.0, "closed long after the header timeout: {line}");
        assert!(json_num(&line, "sent") >= 1.0, "{line}");
        assert!(
            line.contains("\"reply\": \"HTTP/1.1 408\""),
            "no 408 for a head that had started: {line}"
        );
        closes.push(after);
        line = trickler.line(Duration::from_secs(30));
    }
    assert_eq!(closes.len(), TRICKLERS);
    closes.sort_by(f64::total_cmp);
    eprintln!(
        "slowloris heads closed after their first byte: min {:.3} s, median {:.3} s, max {:.3} s",
        closes[0],
        closes[closes.len() / 2],
        closes[closes.len() - 1]
    );
    drop(trickler);

    // slowhttptest in slowloris mode: the service stays available every second.
    let out = srv.scratch.path().join("slowloris");
    let (code, stdout, stderr) = run_tool(
        "slowhttptest",
        &[
            "-c",
            "500",
            "-H",
            "-i",
            "1",
            "-r",
            "200",
            "-t",
            "GET",
            "-u",
            &srv.url("/index.html"),
            "-x",
            "24",
            "-p",
            "2",
            "-l",
            "15",
            "-g",
            "-o",
            out.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let csv = std::fs::read_to_string(out.with_extension("csv")).unwrap();
    let rows: Vec<Vec<u64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
        .collect();
    // Seconds, Closed, Pending, Connected, Service Available (0 when its probe failed).
    assert!(rows.len() >= 3, "{csv}");
    assert!(
        rows.iter().all(|r| r.len() == 5 && r[4] > 0),
        "service unavailable during slowloris:\n{csv}"
    );
    // slowhttptest opens its 500 connections once; it ends early when the server has closed
    // them all (a server that let them stall would reach the 15 s limit instead).
    assert!(
        stdout.contains("No open connections left"),
        "stalled heads were left open:\n{stdout}\n{csv}"
    );
    let most = rows.iter().map(|r| r[3]).max().unwrap();
    eprintln!(
        "slowhttptest -c 500 -H -i 1 -r 200 -x 24 -p 2 -l 15: service available every second; \
         at most {most} connected at once; all closed by the server after {} s",
        rows.last().unwrap()[0]
    );
    // Normal service afterwards.
    let (head, _) = get_within(&srv, "/index.html", limit).unwrap();
    assert_eq!(status_of(head.as_bytes()), 200);
}

// ---------------------------------------------------------------------------------------------
// 4. Real load clients.

#[test]
fn wrk_and_pipelined_h2load_get_every_response() {
    let s = Scratch::new("wrk");
    s.file("1k.txt", &[b'l'; 1024]);
    let srv = start_with(s, "MaxKeepAliveRequests 0\n", &[]);
    let (requests, errors, out) = run_wrk(
        &["-t2", "-c50", "-d3s", &srv.url("/1k.txt")],
        Duration::from_secs(30),
    );
    eprintln!("wrk -t2 -c50 -d3s: {requests} requests, no errors");
    assert!(requests > 0, "{out}");
    assert!(errors.is_empty(), "{errors:?}\n{out}");

    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t2", "-c20", "-n20000", "-m8", &srv.url("/1k.txt")],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("20000 succeeded, 0 failed"), "{out}");
    assert!(out.contains("status codes: 20000 2xx"), "{out}");
}
