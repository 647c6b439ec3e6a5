//! The soak (issue 11): a million requests of every kind through 20 graceful restarts and
//! MaxConnectionsPerChild recycling, then the server must be back where it was after warm-up —
//! no descriptor growth, no scoreboard slot left behind, RSS within 5 %, and no failed request
//! but the ones the clients abort on purpose. `ci/soak` runs it (`--quick`: 60 s); a plain
//! `cargo test` skips it (`#[ignore]`).
//!
//! The driver is ours, so every request is accounted for: each kind of client counts what it
//! sent, what was answered correctly (status and body checked byte for byte), what it aborted on
//! purpose and what failed, with the reason; `sent = ok + aborted + failed` for every kind.
//!
//! | kind | what a client does |
//! |---|---|
//! | keep-alive | GET/HEAD of 1 KiB, 16 KiB and 256 KiB files on persistent connections |
//! | close | one GET per connection, HTTP/1.0 or `Connection: close` |
//! | pipelined | 8 GETs per write; requests left unanswered after a `Connection: close` (MaxKeepAliveRequests, a graceful stop) are sent again on a new connection, as HTTP says, and counted as re-sent |
//! | abort-head | part of a request head, then close (or RST) |
//! | abort-body | part of a CGI POST body, or part of a 1 MiB response, then close (or RST) |
//! | slow-reader | a 512 KiB file through an 8 KiB receive window at 1 MB/s |
//! | cgi | a shell script's GET answer and a 4 KiB POST echoed, on keep-alive connections |
//! | h2load | back-to-back `h2load --h1 -c4 -n20000` runs (a real client for bulk keep-alive load) |
//!
//! Meanwhile the driver sends SIGUSR1 20 times, evenly over the run, and MaxConnectionsPerChild
//! 1000 recycles children. Before the run a warm-up of the same mix (no restarts) brings the
//! server to its working size; after warm-up and after the run the server is left to settle
//! (every child idle and current, no connection but the status request, no CGI script left)
//! and measured: descriptors and RSS of the parent and of each child, the scoreboard.
//!
//! Environment: `EVENTMPM_SOAK_REQUESTS` (default 1,000,000; the run ends when as many have been
//! sent), `EVENTMPM_SOAK_SECONDS` (a duration instead, e.g. 60), `EVENTMPM_SOAK_LIMIT_SECONDS`
//! (the hard bound, default 1800: a run that reaches it fails), `EVENTMPM_SOAK_SEED`,
//! `EVENTMPM_SOAK_MPM` (`event` or `worker`).

mod common;

use common::client::{self, Client, Rng};
use common::*;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
// 32-bit counters: the end-to-end tests are built for MIPS32 too, which has no AtomicU64.
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILDREN: usize = 4;
const THREADS: usize = 10;
const RESTARTS: u32 = 20;
const MAX_CONNECTIONS_PER_CHILD: u32 = 1000;
const IO_LIMIT: Duration = Duration::from_secs(30);
const FILES: [(&str, u64); 3] = [
    ("/1k.bin", 1024),
    ("/16k.bin", 16 * 1024),
    ("/256k.bin", 256 * 1024),
];
const SLOW_FILE: (&str, u64) = ("/512k.bin", 512 * 1024);
const BIG_FILE: (&str, u64) = ("/1m.bin", 1024 * 1024);
const DEPTH: usize = 8;
const H2LOAD_RUN: u64 = 20_000;
/// RSS after the run may exceed the level after warm-up by this much.
const RSS_SLACK: f64 = 0.05;
/// Failure reasons kept for the report (all are counted).
const KEEP_REASONS: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    KeepAlive,
    Close,
    Pipelined,
    AbortHead,
    AbortBody,
    SlowReader,
    Cgi,
    H2load,
}

const KINDS: [Kind; 8] = [
    Kind::KeepAlive,
    Kind::Close,
    Kind::Pipelined,
    Kind::AbortHead,
    Kind::AbortBody,
    Kind::SlowReader,
    Kind::Cgi,
    Kind::H2load,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::KeepAlive => "keep-alive",
            Kind::Close => "close",
            Kind::Pipelined => "pipelined",
            Kind::AbortHead => "abort-head",
            Kind::AbortBody => "abort-body",
            Kind::SlowReader => "slow-reader",
            Kind::Cgi => "cgi",
            Kind::H2load => "h2load",
        }
    }

    /// Client threads of this kind.
    fn threads(self) -> usize {
        match self {
            Kind::KeepAlive => 4,
            Kind::Close | Kind::Pipelined | Kind::SlowReader => 2,
            Kind::AbortHead | Kind::AbortBody | Kind::Cgi | Kind::H2load => 1,
        }
    }
}

#[derive(Default, Debug)]
struct Tally {
    sent: AtomicU32,
    ok: AtomicU32,
    aborted: AtomicU32,
    failed: AtomicU32,
    resent: AtomicU32,
}

/// A count for a 32-bit tally (a soak sends far fewer than 2³² requests of one kind).
fn n32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Tally {
    /// sent, ok, aborted, failed, re-sent.
    fn values(&self) -> [u64; 5] {
        [
            self.sent.load(Relaxed).into(),
            self.ok.load(Relaxed).into(),
            self.aborted.load(Relaxed).into(),
            self.failed.load(Relaxed).into(),
            self.resent.load(Relaxed).into(),
        ]
    }
}

/// What every client thread shares.
struct Soak {
    addr: SocketAddr,
    tallies: [Tally; KINDS.len()],
    reasons: Mutex<Vec<String>>,
    stop: AtomicBool,
    start: Instant,
    bodies: Vec<Vec<u8>>,
    slow_body: Vec<u8>,
}

impl Soak {
    fn t(&self, k: Kind) -> &Tally {
        &self.tallies[k as usize]
    }

    fn running(&self) -> bool {
        !self.stop.load(Relaxed)
    }

    fn sent(&self) -> u64 {
        self.tallies
            .iter()
            .map(|t| u64::from(t.sent.load(Relaxed)))
            .sum()
    }

    fn failed(&self, k: Kind, n: u64, reason: String) {
        if n == 0 {
            return;
        }
        self.t(k).failed.fetch_add(n32(n), Relaxed);
        let mut r = self.reasons.lock().unwrap();
        if r.len() < KEEP_REASONS {
            r.push(format!(
                "{:>7.2}s {} ×{n}: {reason}",
                self.start.elapsed().as_secs_f64(),
                k.name()
            ));
        }
    }

    fn ok(&self, k: Kind) {
        self.t(k).ok.fetch_add(1, Relaxed);
    }

    fn sending(&self, k: Kind, n: u64) {
        self.t(k).sent.fetch_add(n32(n), Relaxed);
    }

    fn connect(&self) -> Result<Client, String> {
        Client::connect(self.addr, IO_LIMIT)
    }

    /// A keep-alive thread's connection, opened if it has none; `None` when it cannot be (the
    /// attempt counts as a failed request of kind `k`).
    fn kept_alive<'c>(&self, k: Kind, conn: &'c mut Option<Client>) -> Option<&'c mut Client> {
        if conn.is_none() {
            match self.connect() {
                Ok(c) => *conn = Some(c),
                Err(e) => {
                    self.sending(k, 1);
                    self.failed(k, 1, e);
                    return None;
                }
            }
        }
        conn.as_mut()
    }

    /// Check a file's response: status and body byte for byte (HEAD: no body, the length
    /// announced).
    fn check_file(&self, f: usize, head: bool, r: &client::Response) -> Result<(), String> {
        let want = &self.bodies[f];
        if r.status != 200 {
            return Err(format!("{} answered {}", FILES[f].0, r.status));
        }
        if head {
            let len = r
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok());
            return if len == Some(want.len()) && r.body.is_empty() {
                Ok(())
            } else {
                Err(format!("HEAD {}: length {len:?}", FILES[f].0))
            };
        }
        if r.body != *want {
            return Err(format!(
                "{}: {} body bytes, {} expected, or different",
                FILES[f].0,
                r.body.len(),
                want.len()
            ));
        }
        Ok(())
    }
}

fn rst_on_close(s: &TcpStream) {
    let _ = rustix::net::sockopt::set_socket_linger(s, Some(Duration::ZERO));
}

// ---- the clients ----

/// One keep-alive request of a random form, checked; `Ok(close)` when the server ends the
/// connection after it.
fn one_keep_alive(
    s: &Soak,
    c: &mut Client,
    rng: &mut Rng,
    etags: &mut [Option<String>],
) -> Result<bool, String> {
    let f = rng.below(FILES.len() as u64) as usize;
    let (path, len) = FILES[f];
    let pick = rng.below(16);
    let (method, version, extra) = match pick {
        0 | 1 => ("HEAD", "1.1", String::new()),
        2 => {
            let a = rng.below(len);
            let b = a + rng.below(len - a);
            ("GET", "1.1", format!("Range: bytes={a}-{b}\r\n"))
        }
        3 if etags[f].is_some() => (
            "GET",
            "1.1",
            format!("If-None-Match: {}\r\n", etags[f].as_deref().unwrap_or("")),
        ),
        4 => ("GET", "1.0", "Connection: keep-alive\r\n".to_string()),
        _ => ("GET", "1.1", String::new()),
    };
    c.send(format!("{method} {path} HTTP/{version}\r\nHost: localhost\r\n{extra}\r\n").as_bytes())?;
    let r = c.response(method)?;
    match pick {
        2 => {
            let range = extra.trim_end().strip_prefix("Range: bytes=").unwrap_or("");
            let (a, b) = range.split_once('-').unwrap_or(("0", "0"));
            let (a, b): (usize, usize) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            if r.status != 206 || r.body != s.bodies[f][a..=b] {
                return Err(format!(
                    "{path} bytes {a}-{b}: {} with {} bytes",
                    r.status,
                    r.body.len()
                ));
            }
        }
        3 if etags[f].is_some() => {
            if r.status != 304 || !r.body.is_empty() {
                return Err(format!("{path} If-None-Match: {}", r.status));
            }
        }
        _ => s.check_file(f, method == "HEAD", &r)?,
    }
    if r.status == 200 {
        etags[f] = r.header("etag").map(str::to_string);
    }
    Ok(r.close)
}

fn keep_alive(s: &Soak, mut rng: Rng) {
    let k = Kind::KeepAlive;
    let mut conn: Option<Client> = None;
    let mut etags = vec![None; FILES.len()];
    while s.running() {
        let Some(c) = s.kept_alive(k, &mut conn) else {
            continue;
        };
        s.sending(k, 1);
        match one_keep_alive(s, c, &mut rng, &mut etags) {
            Ok(close) => {
                s.ok(k);
                if close {
                    conn = None;
                }
            }
            Err(e) => {
                s.failed(k, 1, e);
                conn = None;
            }
        }
    }
}

fn close_each(s: &Soak, mut rng: Rng) {
    let k = Kind::Close;
    while s.running() {
        let f = rng.below(FILES.len() as u64) as usize;
        let http10 = rng.below(2) == 0;
        s.sending(k, 1);
        let r = s.connect().and_then(|mut c| {
            let req = if http10 {
                format!("GET {} HTTP/1.0\r\n\r\n", FILES[f].0)
            } else {
                format!(
                    "GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    FILES[f].0
                )
            };
            c.send(req.as_bytes())?;
            let r = c.response("GET")?;
            s.check_file(f, false, &r)?;
            if !r.close {
                return Err("no Connection: close in the answer".into());
            }
            Ok(())
        });
        match r {
            Ok(()) => s.ok(k),
            Err(e) => s.failed(k, 1, e),
        }
    }
}

fn pipelined(s: &Soak, mut rng: Rng) {
    let k = Kind::Pipelined;
    // File indices of requests sent or to send, oldest first; each is answered, or failed,
    // exactly once.
    let mut queue: VecDeque<usize> = VecDeque::new();
    // Bounded after the stop: what is queued (at most DEPTH) is finished, nothing new is added.
    while s.running() || !queue.is_empty() {
        let mut c = match s.connect() {
            Ok(c) => c,
            Err(e) => {
                if queue.is_empty() {
                    s.sending(k, 1);
                    s.failed(k, 1, e);
                } else {
                    s.failed(k, queue.len() as u64, e);
                    queue.clear();
                }
                continue;
            }
        };
        'conn: loop {
            if queue.is_empty() {
                if !s.running() {
                    break;
                }
                for _ in 0..DEPTH {
                    queue.push_back(rng.below(FILES.len() as u64) as usize);
                }
                s.sending(k, DEPTH as u64);
            }
            let mut batch = Vec::new();
            for &f in &queue {
                batch.extend_from_slice(
                    format!("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", FILES[f].0).as_bytes(),
                );
            }
            if let Err(e) = c.send(&batch) {
                s.failed(k, queue.len() as u64, e);
                queue.clear();
                break;
            }
            while let Some(&f) = queue.front() {
                match c
                    .response("GET")
                    .and_then(|r| s.check_file(f, false, &r).map(|()| r.close))
                {
                    Ok(close) => {
                        s.ok(k);
                        queue.pop_front();
                        if close {
                            // The server ends the connection after this answer: the rest were
                            // never processed and go again on a new connection.
                            s.t(k).resent.fetch_add(n32(queue.len() as u64), Relaxed);
                            break 'conn;
                        }
                    }
                    Err(e) => {
                        s.failed(k, queue.len() as u64, e);
                        queue.clear();
                        break 'conn;
                    }
                }
            }
        }
    }
}

fn abort_head(s: &Soak, mut rng: Rng) {
    let k = Kind::AbortHead;
    let full =
        b"GET /1k.bin HTTP/1.1\r\nHost: localhost\r\nUser-Agent: soak\r\nAccept: */*\r\n\r\n";
    while s.running() {
        s.sending(k, 1);
        let mut c = match s.connect() {
            Ok(c) => c,
            Err(e) => {
                s.failed(k, 1, e);
                continue;
            }
        };
        // Never the whole head: at least its last byte is missing.
        let cut = 1 + rng.below(full.len() as u64 - 1) as usize;
        let _ = c.send(&full[..cut]);
        if rng.below(4) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(20)));
        }
        if rng.below(2) == 0 {
            rst_on_close(&c.sock);
        }
        drop(c);
        s.t(k).aborted.fetch_add(1, Relaxed);
        // Pace: aborted connections are a spice, not the bulk of the run.
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn abort_body(s: &Soak, mut rng: Rng) {
    let k = Kind::AbortBody;
    let body = vec![b'x'; 64 * 1024];
    while s.running() {
        s.sending(k, 1);
        let mut c = match s.connect() {
            Ok(c) => c,
            Err(e) => {
                s.failed(k, 1, e);
                continue;
            }
        };
        if rng.below(2) == 0 {
            // A CGI POST whose body stops short: the script must be stopped and reaped.
            let head = format!(
                "POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let part = rng.below(body.len() as u64) as usize;
            let _ = c.send(head.as_bytes());
            let _ = c.send(&body[..part]);
            std::thread::sleep(Duration::from_millis(rng.below(20)));
        } else {
            // A download dropped part way.
            let _ = c
                .send(format!("GET {} HTTP/1.1\r\nHost: localhost\r\n\r\n", BIG_FILE.0).as_bytes());
            let want = 1 + rng.below(BIG_FILE.1 / 2) as usize;
            let mut got = 0;
            let mut buf = [0u8; 16384];
            while got < want {
                match c.sock.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
        }
        if rng.below(2) == 0 {
            rst_on_close(&c.sock);
        }
        drop(c);
        s.t(k).aborted.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A connection with a small receive buffer, set before connecting so the window stays small.
fn small_window(addr: SocketAddr) -> Result<TcpStream, String> {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None)
        .map_err(|e| format!("socket: {e}"))?;
    let _ = sockopt::set_socket_recv_buffer_size(&fd, 8192);
    rustix::net::connect(&fd, &addr).map_err(|e| format!("connect: {e}"))?;
    let s = TcpStream::from(fd);
    let _ = s.set_read_timeout(Some(IO_LIMIT));
    let _ = s.set_write_timeout(Some(IO_LIMIT));
    Ok(s)
}

fn slow_reader(s: &Soak, _rng: Rng) {
    let k = Kind::SlowReader;
    const RATE: f64 = 1_000_000.0;
    while s.running() {
        s.sending(k, 1);
        let r = (|| -> Result<(), String> {
            let mut sock = small_window(s.addr)?;
            sock.write_all(
                format!(
                    "GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                    SLOW_FILE.0
                )
                .as_bytes(),
            )
            .map_err(|e| format!("write: {e}"))?;
            let started = Instant::now();
            let mut all = Vec::with_capacity(SLOW_FILE.1 as usize + 1024);
            let mut buf = [0u8; 4096];
            loop {
                let due = Duration::from_secs_f64(all.len() as f64 / RATE);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
                match sock.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => all.extend_from_slice(&buf[..n]),
                    Err(e) => return Err(format!("read after {} bytes: {e}", all.len())),
                }
            }
            let at = all
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .ok_or("no response head")?;
            let status = status_of(&all);
            if status != 200 || all[at + 4..] != s.slow_body[..] {
                return Err(format!(
                    "{status} with {} of {} body bytes (or different)",
                    all.len() - at - 4,
                    SLOW_FILE.1
                ));
            }
            Ok(())
        })();
        match r {
            Ok(()) => s.ok(k),
            Err(e) => s.failed(k, 1, e),
        }
    }
}

fn cgi(s: &Soak, mut rng: Rng) {
    let k = Kind::Cgi;
    let mut conn: Option<Client> = None;
    let mut n = 0u64;
    while s.running() {
        let Some(c) = s.kept_alive(k, &mut conn) else {
            continue;
        };
        n += 1;
        s.sending(k, 1);
        let r = if rng.below(2) == 0 {
            let q = format!("n={n}");
            c.send(
                format!("GET /cgi-bin/hello.cgi?{q} HTTP/1.1\r\nHost: localhost\r\n\r\n")
                    .as_bytes(),
            )
            .and_then(|()| c.response("GET"))
            .and_then(|r| {
                if r.status == 200 && r.body == q.as_bytes() {
                    Ok(r.close)
                } else {
                    Err(format!(
                        "hello.cgi: {} {:?}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    ))
                }
            })
        } else {
            // A 4 KiB body, with Content-Length or chunked (the script then reads to end of
            // file and its answer is chunked).
            let body: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
            let mut req = b"POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\n".to_vec();
            if rng.below(2) == 0 {
                req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                req.extend_from_slice(&body);
            } else {
                req.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in body.chunks(1000) {
                    req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    req.extend_from_slice(chunk);
                    req.extend_from_slice(b"\r\n");
                }
                req.extend_from_slice(b"0\r\n\r\n");
            }
            c.send(&req)
                .and_then(|()| c.response("POST"))
                .and_then(|r| {
                    if r.status == 200 && r.body == body {
                        Ok(r.close)
                    } else {
                        Err(format!(
                            "echo.cgi: {} with {} bytes",
                            r.status,
                            r.body.len()
                        ))
                    }
                })
        };
        match r {
            Ok(close) => {
                s.ok(k);
                if close {
                    conn = None;
                }
            }
            Err(e) => {
                s.failed(k, 1, e);
                conn = None;
            }
        }
    }
}

fn h2load(s: &Soak, _rng: Rng) {
    let k = Kind::H2load;
    let url = format!("http://{}{}", s.addr, FILES[0].0);
    let n = H2LOAD_RUN.to_string();
    while s.running() {
        s.sending(k, H2LOAD_RUN);
        let (code, out, err) = run_tool(
            "h2load",
            &["--h1", "-c4", "-n", &n, &url],
            Duration::from_secs(300),
        );
        let (ok, failed, errored, timeout) = h2load_counts(&out).unwrap_or((0, 0, 0, 0));
        s.t(k).ok.fetch_add(n32(ok.min(H2LOAD_RUN)), Relaxed);
        let bad = H2LOAD_RUN - ok.min(H2LOAD_RUN);
        if bad > 0 || code != Some(0) {
            s.failed(
                k,
                bad,
                format!(
                    "h2load exit {code:?}: {failed} failed, {errored} errored, {timeout} timeout: {}{}",
                    out.lines().filter(|l| l.starts_with("requests:")).collect::<String>(),
                    err.trim()
                ),
            );
        }
    }
}

// ---- measuring the server ----

#[derive(Debug, Clone)]
struct Snapshot {
    parent_fds: u64,
    parent_rss_kb: u64,
    /// (pid, descriptors, RSS kB) of each child.
    children: Vec<(u32, u64, u64)>,
    scoreboard: String,
}

impl Snapshot {
    fn child_fds(&self) -> u64 {
        self.children.iter().map(|c| c.1).sum()
    }
    fn max_child_fds(&self) -> u64 {
        self.children.iter().map(|c| c.1).max().unwrap_or(0)
    }
    fn rss_kb(&self) -> u64 {
        self.parent_rss_kb + self.children.iter().map(|c| c.2).sum::<u64>()
    }
}

/// The descriptors `pid` holds, but for files of the document root: the open-file cache keeps
/// those (bounded by OpenFileCache; which ones depends on what was asked), so they are no leak.
fn fds_of(pid: u32, docroot: &std::path::Path) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    !std::fs::read_link(e.path()).is_ok_and(|target| target.starts_with(docroot))
                })
                .count() as u64
        })
        .unwrap_or(0)
}

/// Wait until the server is at rest — CHILDREN current children, none stopping, every worker
/// idle but the one answering the status request, no connection but that one, no CGI script
/// alive, every thread asleep — and measure it. `Err` with the last status page if it never
/// settles within `limit`.
fn settle(srv: &Server, limit: Duration) -> Result<Snapshot, String> {
    let parent = srv.pid();
    let mut last = String::new();
    let quiet = eventually(limit, || {
        last = status_auto(srv);
        let num = |k: &str| auto_value(&last, k).and_then(|v| v.parse::<u64>().ok());
        let kids = live_children_of(parent);
        // The worker MPM's page has no Processes, Stopping or Conns* keys (httpd's neither).
        num("Processes").unwrap_or(CHILDREN as u64) == CHILDREN as u64
            && num("Stopping").unwrap_or(0) == 0
            && num("BusyWorkers") == Some(1)
            && num("GracefulWorkers").unwrap_or(0) == 0
            && num("IdleWorkers") == Some((CHILDREN * THREADS - 1) as u64)
            && num("ConnsTotal").unwrap_or(1) <= 1
            && kids.len() == CHILDREN
            && kids.iter().all(|&c| children_of(c).is_empty())
    });
    if !quiet {
        return Err(format!(
            "not settled within {limit:?}; children {:?}; status:\n{last}",
            live_children_of(parent)
        ));
    }
    srv.settle(Duration::from_secs(10));
    Ok(measure(srv))
}

/// Descriptors and RSS of the parent and of each child, then the scoreboard (the status request
/// comes last: it is the only thing that touches a child's memory here).
fn measure(srv: &Server) -> Snapshot {
    let parent = srv.pid();
    let docroot = srv.scratch.docroot();
    let children = live_children_of(parent)
        .into_iter()
        .map(|c| (c, fds_of(c, &docroot), proc_status_of(c, "VmRSS")))
        .collect();
    Snapshot {
        parent_fds: fds_of(parent, &docroot),
        parent_rss_kb: proc_status_of(parent, "VmRSS"),
        children,
        scoreboard: auto_value(&status_auto(srv), "Scoreboard").unwrap_or_default(),
    }
}

/// A graceful restart from a settled server, settled again: a fresh generation of idle children.
/// Children are recycled, so the ones measured after warm-up and after the run are different
/// processes of different ages (a child grows from about 3.8 MB to about 5.5 MB of RSS in its
/// first moments of work, and recycling leaves some children seconds old at any time): the sums
/// taken as they are differ by ±15 % with no leak at all. A fresh generation, measured before
/// it has served anything (not even a status request: a child's first request costs it some
/// 300 kB), is the same state both times; what it measures is what persists — the parent,
/// which forks every child, and what each child starts with.
fn fresh_generation(srv: &Server, settled: &Snapshot) -> Result<Snapshot, String> {
    signal_named(srv.pid(), "USR1");
    let old: Vec<u32> = settled.children.iter().map(|c| c.0).collect();
    let mut kids = Vec::new();
    let ready = eventually(Duration::from_secs(30), || {
        kids = live_children_of(srv.pid());
        kids.len() == CHILDREN && kids.iter().all(|c| !old.contains(c))
    });
    if !ready || !srv.settle(Duration::from_secs(10)) {
        return Err(format!("no fresh generation at rest: children {kids:?}"));
    }
    Ok(measure(srv))
}

/// How a phase of the mix went.
#[derive(Debug)]
struct Phase {
    restarts: u32,
    timed_out: bool,
    /// The largest RSS of any child, sampled every 250 ms (kB).
    peak_child_rss_kb: u64,
}

/// Run the mix until `progress` reaches 1; the restarts go out at even progress points.
fn run_mix(
    srv: &Server,
    soak: &Arc<Soak>,
    seed: u64,
    restarts: u32,
    limit: Duration,
    progress: impl Fn(&Soak) -> f64,
) -> Phase {
    soak.stop.store(false, Relaxed);
    let mut threads = Vec::new();
    let mut n = 0u64;
    for kind in KINDS {
        for _ in 0..kind.threads() {
            n += 1;
            let soak = soak.clone();
            let rng = Rng::new(seed.wrapping_mul(31).wrapping_add(n));
            threads.push(std::thread::spawn(move || match kind {
                Kind::KeepAlive => keep_alive(&soak, rng),
                Kind::Close => close_each(&soak, rng),
                Kind::Pipelined => pipelined(&soak, rng),
                Kind::AbortHead => abort_head(&soak, rng),
                Kind::AbortBody => abort_body(&soak, rng),
                Kind::SlowReader => slow_reader(&soak, rng),
                Kind::Cgi => cgi(&soak, rng),
                Kind::H2load => h2load(&soak, rng),
            }));
        }
    }
    let start = Instant::now();
    let mut sent = 0;
    let mut timed_out = false;
    let mut peak = 0;
    for tick in 0u64.. {
        std::thread::sleep(Duration::from_millis(50));
        if tick % 5 == 0 {
            for c in live_children_of(srv.pid()) {
                peak = peak.max(proc_status_of(c, "VmRSS"));
            }
        }
        let p = progress(soak);
        if sent < restarts && p >= f64::from(sent + 1) / f64::from(restarts + 1) {
            signal_named(srv.pid(), "USR1");
            sent += 1;
        }
        if p >= 1.0 {
            break;
        }
        if start.elapsed() >= limit {
            timed_out = true;
            break;
        }
    }
    soak.stop.store(true, Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    Phase {
        restarts: sent,
        timed_out,
        peak_child_rss_kb: peak,
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn scripts(s: &Scratch) {
    use std::os::unix::fs::PermissionsExt;
    let bin = s.path().join("cgi-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in [
        (
            "hello.cgi",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: %s\\n\\n%s' \
             \"${#QUERY_STRING}\" \"$QUERY_STRING\"\n",
        ),
        (
            "echo.cgi",
            "#!/bin/sh\nif [ -n \"$CONTENT_LENGTH\" ]; then\n  printf 'Content-Type: \
             application/octet-stream\\nContent-Length: %s\\n\\n' \"$CONTENT_LENGTH\"\nelse\n  \
             printf 'Content-Type: application/octet-stream\\n\\n'\nfi\nexec cat\n",
        ),
    ] {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
#[ignore = "the soak runs from ci/soak"]
fn soak() {
    let target = env_u64("EVENTMPM_SOAK_REQUESTS").unwrap_or(1_000_000);
    let seconds = env_u64("EVENTMPM_SOAK_SECONDS").filter(|&s| s > 0);
    let limit = Duration::from_secs(env_u64("EVENTMPM_SOAK_LIMIT_SECONDS").unwrap_or(1800));
    let seed = Rng::seed_from_env("EVENTMPM_SOAK_SEED");
    let mpm = match std::env::var("EVENTMPM_SOAK_MPM").as_deref() {
        Ok("worker") => Mpm::Worker,
        _ => Mpm::Event,
    };

    let s = Scratch::new(&mpm.tag("soak"));
    let mut bodies = Vec::new();
    for (path, len) in FILES {
        pattern_file(&s, &path[1..], len);
        bodies.push((0..len).map(pattern_byte).collect::<Vec<u8>>());
    }
    pattern_file(&s, &SLOW_FILE.0[1..], SLOW_FILE.1);
    pattern_file(&s, &BIG_FILE.0[1..], BIG_FILE.1);
    scripts(&s);
    let conf = format!(
        "{}StartServers {CHILDREN}\nThreadsPerChild {THREADS}\nMaxRequestWorkers {}\n\
         MinSpareThreads {}\nMaxSpareThreads {}\nMaxConnectionsPerChild {MAX_CONNECTIONS_PER_CHILD}\n\
         KeepAliveTimeout 5\nMaxKeepAliveRequests 100\nTimeout 30\n\
         ScriptAlias /cgi-bin/ \"{}/cgi-bin/\"\nCustomLog logs/pids.log \"%P\"\nLogLevel info",
        mpm.directive(),
        CHILDREN * THREADS,
        CHILDREN * THREADS,
        CHILDREN * THREADS + THREADS,
        s.path().display()
    );
    let srv = start_with(s, &conf, &[]);
    let soak = Arc::new(Soak {
        addr: srv.addr(),
        tallies: Default::default(),
        reasons: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        start: Instant::now(),
        bodies,
        slow_body: (0..SLOW_FILE.1).map(pattern_byte).collect(),
    });
    let begun = Instant::now();
    eprintln!(
        "soak ({mpm:?}, seed {seed}): {}, {RESTARTS} graceful restarts, \
         MaxConnectionsPerChild {MAX_CONNECTIONS_PER_CHILD}, {CHILDREN} children × {THREADS} threads",
        match seconds {
            Some(s) => format!("{s} s"),
            None => format!("{target} requests"),
        }
    );

    // Warm-up: the same mix without restarts, then the level everything is compared with.
    let (warm_requests, warm_seconds) = match seconds {
        Some(_) => (u64::MAX, 10.0),
        None => ((target / 10).max(20_000), f64::MAX),
    };
    let t0 = Instant::now();
    let warm_phase = run_mix(&srv, &soak, seed, 0, limit, |s| {
        (s.sent() as f64 / warm_requests as f64).max(t0.elapsed().as_secs_f64() / warm_seconds)
    });
    let warm_sent = soak.sent();
    let warm_time = t0.elapsed();
    let warm =
        settle(&srv, Duration::from_secs(60)).unwrap_or_else(|e| panic!("after warm-up: {e}"));
    let warm_fresh = fresh_generation(&srv, &warm).unwrap_or_else(|e| panic!("after warm-up: {e}"));
    eprintln!(
        "warm-up: {warm_sent} requests in {:.1} s; settled: {} descriptors, RSS {} kB",
        warm_time.as_secs_f64(),
        warm.parent_fds + warm.child_fds(),
        warm.rss_kb(),
    );
    let warm_tallies: Vec<[u64; 5]> = soak.tallies.iter().map(Tally::values).collect();
    let graceful_before = srv.error_log().matches("AH00493").count();

    // The run.
    let t1 = Instant::now();
    let left = limit.saturating_sub(begun.elapsed());
    let phase = run_mix(
        &srv,
        &soak,
        seed ^ 0x5eed,
        RESTARTS,
        left,
        |s| match seconds {
            Some(secs) => t1.elapsed().as_secs_f64() / secs as f64,
            None => (s.sent() - warm_sent) as f64 / target as f64,
        },
    );
    let run_time = t1.elapsed();
    let log = srv.error_log();
    let graceful = log.matches("AH00493").count() - graceful_before;
    let after = settle(&srv, Duration::from_secs(90));

    // Figures.
    let mut table =
        String::from("  kind            sent         ok    aborted     failed    re-sent\n");
    let mut totals = [0u64; 5];
    let mut balanced = true;
    for (i, k) in KINDS.iter().enumerate() {
        let all = soak.tallies[i].values();
        let v: Vec<u64> = all
            .iter()
            .zip(warm_tallies[i])
            .map(|(a, w)| a - w)
            .collect();
        balanced &= all[0] == all[1] + all[2] + all[3];
        for (a, b) in totals.iter_mut().zip(&v) {
            *a += b;
        }
        table += &format!(
            "  {:<12}{:>8}{:>11}{:>11}{:>11}{:>11}\n",
            k.name(),
            v[0],
            v[1],
            v[2],
            v[3],
            v[4]
        );
    }
    table += &format!(
        "  {:<12}{:>8}{:>11}{:>11}{:>11}{:>11}\n",
        "total", totals[0], totals[1], totals[2], totals[3], totals[4]
    );
    let pids: std::collections::BTreeSet<String> =
        std::fs::read_to_string(srv.scratch.path().join("logs/pids.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
    let recycled = log
        .matches("Stopping process due to MaxConnectionsPerChild")
        .count();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(":error]")).collect();
    eprintln!(
        "run: {} requests in {:.1} s ({:.0}/s); {graceful} graceful restarts (AH00493), \
         {recycled} children recycled by MaxConnectionsPerChild (warm-up included), {} children \
         served requests{}\n{table}",
        totals[0],
        run_time.as_secs_f64(),
        totals[0] as f64 / run_time.as_secs_f64(),
        pids.len(),
        if phase.timed_out {
            "; STOPPED AT THE TIME LIMIT"
        } else {
            ""
        }
    );
    let reasons = soak.reasons.lock().unwrap().clone();
    if !reasons.is_empty() {
        eprintln!(
            "failures (first {}):\n  {}",
            reasons.len(),
            reasons.join("\n  ")
        );
    }
    eprintln!(
        "error-level log lines: {}{}",
        errors.len(),
        errors
            .iter()
            .take(10)
            .map(|l| format!("\n  {l}"))
            .collect::<String>()
    );
    let after = after.unwrap_or_else(|e| panic!("after the run: {e}"));
    let after_fresh =
        fresh_generation(&srv, &after).unwrap_or_else(|e| panic!("after the run: {e}"));
    let rss_ratio = after_fresh.rss_kb() as f64 / warm_fresh.rss_kb() as f64;
    let pct = |r: f64| (r - 1.0) * 100.0;
    eprintln!(
        "after warm-up / after the run, settled:\n\
         \x20 descriptors: parent {} / {}, children {} / {} (each {:?} / {:?})\n\
         \x20 scoreboard, non-idle slots: {:?} / {:?}; processes {} / {}\n\
         \x20 RSS kB as they are: parent {} / {}, all {} / {} ({:+.1} %), children {:?} / {:?}\n\
         \x20 RSS kB, fresh generation: parent {} / {}, all {} / {} ({:+.1} %), children {:?} / {:?}\n\
         \x20 largest child RSS seen while serving: {} / {} kB\n\
         \x20 total time {:.1} s",
        warm.parent_fds,
        after.parent_fds,
        warm.child_fds(),
        after.child_fds(),
        warm.children.iter().map(|c| c.1).collect::<Vec<_>>(),
        after.children.iter().map(|c| c.1).collect::<Vec<_>>(),
        busy_letters(&warm.scoreboard),
        busy_letters(&after.scoreboard),
        warm.children.len(),
        after.children.len(),
        warm.parent_rss_kb,
        after.parent_rss_kb,
        warm.rss_kb(),
        after.rss_kb(),
        pct(after.rss_kb() as f64 / warm.rss_kb() as f64),
        warm.children.iter().map(|c| c.2).collect::<Vec<_>>(),
        after.children.iter().map(|c| c.2).collect::<Vec<_>>(),
        warm_fresh.parent_rss_kb,
        after_fresh.parent_rss_kb,
        warm_fresh.rss_kb(),
        after_fresh.rss_kb(),
        pct(rss_ratio),
        warm_fresh.children.iter().map(|c| c.2).collect::<Vec<_>>(),
        after_fresh.children.iter().map(|c| c.2).collect::<Vec<_>>(),
        warm_phase.peak_child_rss_kb,
        phase.peak_child_rss_kb,
        begun.elapsed().as_secs_f64()
    );

    assert!(
        !phase.timed_out,
        "the run reached its time limit ({limit:?})"
    );
    assert!(balanced, "a request went unaccounted for:\n{table}");
    let failed: u64 = soak
        .tallies
        .iter()
        .map(|t| u64::from(t.failed.load(Relaxed)))
        .sum();
    assert_eq!(
        failed,
        0,
        "failed requests (warm-up included):\n{table}\n{}",
        reasons.join("\n")
    );
    assert_eq!(phase.restarts, RESTARTS);
    assert_eq!(graceful as u32, RESTARTS, "AH00493 lines during the run");
    assert!(
        recycled > 0,
        "no child was recycled by MaxConnectionsPerChild"
    );
    for snap in [&after, &warm_fresh, &after_fresh] {
        assert!(
            snap.parent_fds <= warm.parent_fds
                && snap.child_fds() <= warm.child_fds()
                && snap.max_child_fds() <= warm.max_child_fds(),
            "descriptors grew"
        );
        assert_eq!(
            busy_letters(&snap.scoreboard),
            "W",
            "a scoreboard slot left non-idle"
        );
    }
    assert!(
        rss_ratio <= 1.0 + RSS_SLACK,
        "RSS grew by {:.1} %",
        pct(rss_ratio)
    );
    assert!(!log.contains("panicked"), "a panic in the error log");
    let mut srv = srv;
    assert_eq!(srv.stop(), Some(0), "the server's exit after SIGTERM");
}

/// The scoreboard's letters other than idle (`_`) and open slot (`.`), in order.
fn busy_letters(board: &str) -> String {
    board.chars().filter(|&c| c != '_' && c != '.').collect()
}
