//! Shared harness for the end-to-end tests: a scratch site and configuration, the real
//! `eventmpm` binary started on a free loopback port, and a guard that stops it by PID.
//!
//! Every wait is bounded; every process a test starts is killed when its guard drops, even if
//! the test panics.
#![allow(dead_code)]

pub mod client;
pub mod sockets;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_eventmpm")
}

/// A free TCP port on 127.0.0.1 (bound and released; the server binds it next).
///
/// With `EVENTMPM_TEST_PORTS=LOW-HIGH` (ci/e2e gives each of the test binaries it runs side by
/// side a range of its own, below Linux's ephemeral ports), the next port of that range that
/// binds: the system's own choice (port 0) comes from the ephemeral range, where a client
/// socket of the test running beside this one could take it as its local port between this
/// check and the server's bind. Each range is used by one binary at a time, its tests one after
/// another, so a port handed out is not handed out again before the range wraps.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let range = std::env::var("EVENTMPM_TEST_PORTS").ok().and_then(|r| {
        let (low, high) = r.split_once('-')?;
        let (low, high): (u16, u16) = (low.parse().ok()?, high.parse().ok()?);
        (low <= high).then_some((low, high))
    });
    if let Some((low, high)) = range {
        let span = u32::from(high - low) + 1;
        // At most one pass over the range: every port of it taken is a harness fault.
        for _ in 0..span {
            let port = low + (NEXT.fetch_add(1, Ordering::Relaxed) % span) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
        panic!("EVENTMPM_TEST_PORTS={low}-{high}: no port of the range is free");
    }
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The MPM a test server runs, chosen the httpd way (the module file need not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mpm {
    Event,
    Worker,
}

impl Mpm {
    /// The directive that selects this MPM (`""` for event, the default).
    pub const fn directive(self) -> &'static str {
        match self {
            Mpm::Event => "",
            Mpm::Worker => "LoadModule mpm_worker_module modules/mod_mpm_worker.so\n",
        }
    }

    /// A scratch-directory tag that tells the two MPMs' runs of one test apart.
    pub fn tag(self, tag: &str) -> String {
        match self {
            Mpm::Event => format!("{tag}-event"),
            Mpm::Worker => format!("{tag}-worker"),
        }
    }
}

/// `#[test]`s that run each named `fn(Mpm)` under both MPMs: `name::event`, `name::worker`.
#[macro_export]
macro_rules! under_both_mpms {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn event() {
                super::$name($crate::common::Mpm::Event)
            }
            #[test]
            fn worker() {
                super::$name($crate::common::Mpm::Worker)
            }
        }
    )+};
}

/// A scratch directory removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("eventmpm-e2e-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("htdocs")).unwrap();
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn docroot(&self) -> PathBuf {
        self.0.join("htdocs")
    }

    /// Write a file under the document root.
    pub fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.docroot().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running server.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub scratch: Scratch,
    pub conf: PathBuf,
}

impl Server {
    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A connected client socket with read/write timeouts (so no test can hang on it).
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect_timeout(&self.addr(), Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// The error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("logs/error.log")).unwrap_or_default()
    }

    /// The access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("logs/access.log")).unwrap_or_default()
    }

    /// Open descriptors of the server process (Linux /proc).
    pub fn fd_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// A field of /proc/PID/status, e.g. `VmRSS` (kB) or `voluntary_ctxt_switches`, summed
    /// over every thread for per-thread counters.
    pub fn proc_status(&self, key: &str) -> u64 {
        proc_status_of(self.pid(), key)
    }

    /// Send SIGTERM and wait (bounded) for the process to exit; returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        signal(self.pid(), libc_sigterm());
        wait_exit(&mut self.child, Duration::from_secs(10))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn libc_sigterm() -> i32 {
    15
}

/// Send `sig` to `pid` (via kill(1), so the harness needs no libc binding).
pub fn signal(pid: u32, sig: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Wait up to `limit` for `child` to exit.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Ok(Some(st)) = child.try_wait() {
            return st.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A field of /proc/PID/status; `*_ctxt_switches` are summed over every thread.
pub fn proc_status_of(pid: u32, key: &str) -> u64 {
    let read = |path: String| -> u64 {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .strip_prefix(':')
                    .map(|v| v.trim().to_string())
            })
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    if key.ends_with("ctxt_switches") {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return 0;
        };
        tasks
            .flatten()
            .map(|t| {
                read(format!(
                    "/proc/{pid}/task/{}/status",
                    t.file_name().to_string_lossy()
                ))
            })
            .sum()
    } else {
        read(format!("/proc/{pid}/status"))
    }
}

/// Start the server with `directives` (on top of Listen, DocumentRoot and logs in a scratch
/// directory) and wait until it accepts connections.
pub fn start(tag: &str, directives: &str) -> Server {
    start_with(Scratch::new(tag), directives, &[])
}

/// As [`start`], with a prepared scratch directory and extra command-line arguments.
pub fn start_with(scratch: Scratch, directives: &str, args: &[&str]) -> Server {
    let port = free_port();
    let conf = scratch.path().join("eventmpm.conf");
    let text = format!(
        "ServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nServerName localhost\n\
         DocumentRoot \"{root}/htdocs\"\nErrorLog logs/error.log\nLogLevel info\n\
         CustomLog logs/access.log common\n\
         <Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n\
         ExtendedStatus On\n{directives}\n",
        root = scratch.path().display()
    );
    std::fs::write(&conf, text).unwrap();
    let child = Command::new(binary())
        .arg("-f")
        .arg(&conf)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start eventmpm");
    let mut server = Server {
        child,
        port,
        scratch,
        conf,
    };
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        // A loopback connect is refused at once while nothing listens; the long timeout is for a
        // loaded machine, where a short one can run out with the connection made, and the retry
        // would leave the server a second connection without a request (tests count them).
        if TcpStream::connect_timeout(&server.addr(), Duration::from_secs(2)).is_ok() {
            break;
        }
        if let Ok(Some(st)) = server.child.try_wait() {
            panic!(
                "eventmpm exited at start ({st}); error log:\n{}",
                server.error_log()
            );
        }
        assert!(
            Instant::now() < end,
            "eventmpm did not start listening within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// One raw HTTP exchange: send `request`, read until the server closes or `limit` passes.
pub fn raw(server: &Server, request: &[u8]) -> Vec<u8> {
    let mut s = server.connect();
    s.write_all(request).unwrap();
    read_until_close(&mut s, Duration::from_secs(10))
}

/// Read until EOF (or a reset, or `limit`).
pub fn read_until_close(s: &mut TcpStream, limit: Duration) -> Vec<u8> {
    let end = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break;
            }
            Err(_) => break,
        }
    }
    out
}

/// Read one response with a Content-Length body from a keep-alive connection.
pub fn read_response(s: &mut TcpStream) -> (String, Vec<u8>) {
    try_read_response(s).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`read_response`], with an error instead of a panic when the connection ends or a read
/// times out first.
pub fn try_read_response(s: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            r => {
                return Err(format!(
                    "connection ended inside a response head ({r:?}): {:?}",
                    String::from_utf8_lossy(&head)
                ));
            }
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)
        .map_err(|e| format!("body of {len} bytes: {e}"))?;
    Ok((head, body))
}

/// A header's value in a response head (case-insensitive name).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The status code of a raw response.
pub fn status_of(response: &[u8]) -> u16 {
    let line = response.split(|&b| b == b'\n').next().unwrap_or(b"");
    std::str::from_utf8(line)
        .ok()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Run an external client command with a time limit; returns (exit code, stdout, stderr).
pub fn run_tool(cmd: &str, args: &[&str], limit: Duration) -> (Option<i32>, String, String) {
    let mut child = Command::new(cmd)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{cmd} is required for this test (ci/install provides it): {e}")
        });
    let code = wait_exit(&mut child, limit);
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (
        code,
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The value of `key:` in a server-status?auto page.
pub fn auto_value(page: &str, key: &str) -> Option<String> {
    page.lines().find_map(|l| {
        l.strip_prefix(key)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

/// Fetch server-status?auto over a fresh connection.
pub fn status_auto(server: &Server) -> String {
    let r = raw(server, b"GET /server-status?auto HTTP/1.0\r\n\r\n");
    String::from_utf8_lossy(&r).into_owned()
}

/// Poll `cond` every 20 ms until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Write through `s` (ignoring errors: the server may close first).
pub fn send(s: &mut TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes);
}

impl Server {
    /// What the server wrote on stderr so far (servers started by [`start_args`] only).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.scratch.path().join("stderr.txt")).unwrap_or_default()
    }
}

/// Run the binary with `args` in `cwd` and wait (at most 10 s) for it to exit; returns (exit
/// code, stdout, stderr). For the commands that exit at once: `-t`, `-v`, `-V`, `-h`, …
pub fn run_binary(args: &[&str], cwd: &Path) -> (Option<i32>, String, String) {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run eventmpm");
    let code = wait_exit(&mut child, Duration::from_secs(10));
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (
        code,
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Start the binary with exactly `args` (no generated configuration) in `cwd`, its stderr kept
/// in `<scratch>/stderr.txt` ([`Server::stderr`]), and wait until 127.0.0.1:`port` accepts.
pub fn start_args(scratch: Scratch, port: u16, args: &[&str], cwd: &Path) -> Server {
    let stderr = std::fs::File::create(scratch.path().join("stderr.txt")).unwrap();
    let child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start eventmpm");
    let conf = scratch.path().join("eventmpm.conf");
    let mut server = Server {
        child,
        port,
        scratch,
        conf,
    };
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(st)) = server.child.try_wait() {
            panic!(
                "eventmpm exited at start ({st}); stderr:\n{}",
                server.stderr()
            );
        }
        if TcpStream::connect_timeout(&server.addr(), Duration::from_millis(200)).is_ok() {
            break;
        }
        assert!(
            Instant::now() < end,
            "eventmpm did not start listening within 10 s; stderr:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Voluntary plus involuntary context switches, summed over every thread of `pid`.
pub fn ctxt_switches_of(pid: u32) -> u64 {
    proc_status_of(pid, "voluntary_ctxt_switches")
        + proc_status_of(pid, "nonvoluntary_ctxt_switches")
}

/// The `/proc/PID/stat` fields after the command name: state, ppid, ….
fn stat_fields(path: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may contain anything, so split at the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The processes that serve connections: the child processes of `pid` once the server forks
/// children (the parent sleeps apart from its maintenance tick), else `pid` itself (today's
/// single foreground child).
pub fn serving_pids(pid: u32) -> Vec<u32> {
    let mut children: Vec<u32> = std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|p| {
                    stat_fields(&format!("/proc/{p}/stat"))
                        .and_then(|f| f.get(1)?.parse::<u32>().ok())
                        == Some(pid)
                })
                .collect()
        })
        .unwrap_or_default();
    if children.is_empty() {
        children.push(pid);
    }
    children
}

/// Each thread of `pid`: (name, state letter from /proc/PID/task/TID/stat).
pub fn thread_states(pid: u32) -> Vec<(String, String)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .map(|t| {
            let dir = t.path();
            let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            let state = stat_fields(&dir.join("stat").to_string_lossy())
                .and_then(|f| f.first().cloned())
                .unwrap_or_default();
            (name.trim().to_string(), state)
        })
        .collect()
}

impl Server {
    /// Wait (at most `limit`) until the serving processes are quiescent: every thread asleep and
    /// no context switch for 100 ms (workers parked on their condition variable, the listener in
    /// its poller). Returns whether that happened.
    pub fn settle(&self, limit: Duration) -> bool {
        let pids = || serving_pids(self.pid());
        let switches = || pids().iter().map(|&p| ctxt_switches_of(p)).sum::<u64>();
        let asleep = || {
            pids()
                .iter()
                .all(|&p| thread_states(p).iter().all(|(_, s)| s == "S"))
        };
        let mut last = switches();
        eventually(limit, || {
            std::thread::sleep(Duration::from_millis(80));
            let now = switches();
            let quiet = now == last && asleep();
            last = now;
            quiet
        })
    }

    /// Open sockets of the server process (listening ones included).
    pub fn socket_count(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| {
                d.flatten()
                    .filter(|e| {
                        std::fs::read_link(e.path())
                            .map(|l| l.to_string_lossy().starts_with("socket:"))
                            .unwrap_or(false)
                    })
                    .count()
            })
            .unwrap_or(0)
    }
}

// ---- Processes: the parent and its children (tests/process.rs) ----

/// The direct children of `pid` (Linux: /proc/PID/task/*/children), sorted.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let path = t.path().join("children");
            for p in std::fs::read_to_string(path)
                .unwrap_or_default()
                .split_whitespace()
            {
                if let Ok(p) = p.parse() {
                    out.push(p);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The children of `pid` that are running (not zombies waiting to be reaped).
pub fn live_children_of(pid: u32) -> Vec<u32> {
    children_of(pid).into_iter().filter(|&c| alive(c)).collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|s| s != "Z" && s != "X")
}

/// The ids of a /proc/PID/status line such as `Uid` or `Gid`: real, effective, saved, fs.
pub fn proc_ids(pid: u32, key: &str) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::to_string))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A child the parent logged starting (LogLevel debug: "Child N started: pid P, gen G, ...").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub slot: u32,
    pub pid: u32,
    pub generation: u32,
}

/// Every "Child N started" line of an error log, in order.
pub fn children_started(log: &str) -> Vec<Started> {
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("] Child ")? + 8..];
            let (slot, rest) = rest.split_once(" started: pid ")?;
            let (pid, rest) = rest.split_once(", gen ")?;
            let generation = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            Some(Started {
                slot: slot.parse().ok()?,
                pid: pid.parse().ok()?,
                generation: generation.parse().ok()?,
            })
        })
        .collect()
}

/// The time of day of an error-log line (`[Mon Nov 23 15:53:15.669958 2026]`), in seconds.
pub fn log_time(line: &str) -> Option<f64> {
    let stamp = line.strip_prefix('[')?.split(']').next()?;
    let clock = stamp.split_whitespace().nth(3)?;
    let mut parts = clock.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Send a signal by name or number through kill(1), e.g. `signal_named(pid, "USR1")`.
pub fn signal_named(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// The byte at `offset` of the files [`pattern_file`] writes: varied, so a misplaced or
/// repeated chunk is caught.
pub fn pattern_byte(offset: u64) -> u8 {
    (offset.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (offset >> 20) as u8
}

/// Write a `len`-byte [`pattern_byte`] file under the document root.
pub fn pattern_file(scratch: &Scratch, rel: &str, len: u64) -> PathBuf {
    let bytes: Vec<u8> = (0..len).map(pattern_byte).collect();
    scratch.file(rel, &bytes)
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The response's status code (0 if no head arrived).
    pub status: u16,
    /// Content-Length announced.
    pub announced: u64,
    /// Body bytes received.
    pub received: u64,
    /// Every body byte received matched [`pattern_byte`].
    pub intact: bool,
    /// The connection ended (EOF or error) before the whole body arrived.
    pub cut: bool,
}

impl Download {
    /// The whole announced body arrived, byte-exact.
    pub fn complete(&self) -> bool {
        self.status == 200 && self.intact && !self.cut && self.received == self.announced
    }
}

/// A client socket connected to `addr` with a small receive buffer (set before connecting, so
/// the window stays small), and read/write timeouts.
pub fn small_window_connect(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    use rustix::net::{AddressFamily, SocketType, sockopt};
    let fd = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    sockopt::set_socket_recv_buffer_size(&fd, rcvbuf).unwrap();
    rustix::net::connect(&fd, &addr).unwrap();
    let s = TcpStream::from(fd);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// GET `path` of a [`pattern_file`] through a small receive window, reading at most
/// `bytes_per_sec` (so a 10 MB body takes long enough to span restarts), until the body ends,
/// the connection ends, `stop` is set, or `limit` passes. `progress` is updated as bytes
/// arrive (a count that saturates at `u32::MAX`: 32-bit MIPS has no 64-bit atomics).
pub fn slow_download(
    addr: SocketAddr,
    path: &str,
    bytes_per_sec: u64,
    limit: Duration,
    progress: &std::sync::atomic::AtomicU32,
    stop: &std::sync::atomic::AtomicBool,
) -> Download {
    use std::sync::atomic::Ordering::Relaxed;
    let mut s = small_window_connect(addr, 8192);
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let start = Instant::now();
    let end = start + limit;
    let mut d = Download {
        status: 0,
        announced: 0,
        received: 0,
        intact: true,
        cut: true,
    };
    let mut head = Vec::new();
    let mut in_body = false;
    let mut buf = [0u8; 8192];
    while Instant::now() < end && !stop.load(Relaxed) {
        // Pace: never ahead of bytes_per_sec since the start.
        let due = Duration::from_secs_f64(d.received as f64 / bytes_per_sec as f64);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait.min(Duration::from_millis(50)));
            continue;
        }
        let n = match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                continue;
            }
            Err(_) => break,
        };
        let mut body = &buf[..n];
        if !in_body {
            head.extend_from_slice(body);
            let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let text = String::from_utf8_lossy(&head[..at + 4]).into_owned();
            d.status = status_of(text.as_bytes());
            d.announced = header(&text, "content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            in_body = true;
            let rest = head.split_off(at + 4);
            for (i, &b) in rest.iter().enumerate() {
                d.intact &= b == pattern_byte(i as u64);
            }
            d.received = rest.len() as u64;
            progress.store(u32::try_from(d.received).unwrap_or(u32::MAX), Relaxed);
            body = &[];
        }
        for (i, &b) in body.iter().enumerate() {
            d.intact &= b == pattern_byte(d.received + i as u64);
        }
        d.received += body.len() as u64;
        progress.store(u32::try_from(d.received).unwrap_or(u32::MAX), Relaxed);
        if in_body && d.received >= d.announced {
            d.cut = false;
            break;
        }
    }
    d
}

/// A server started detached (`-k start`): stopped by the pid in its PidFile on drop.
pub struct Daemon {
    pub pid_file: PathBuf,
}

impl Daemon {
    /// The pid the PidFile names, if any.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(&self.pid_file)
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Only if that pid is still an eventmpm (a stale file's pid may have been reused).
        if let Some(pid) = self.pid()
            && alive(pid)
            && std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("eventmpm"))
        {
            signal(pid, 15);
            if !eventually(Duration::from_secs(10), || !alive(pid)) {
                signal(pid, 9);
            }
        }
    }
}

/// Write the harness's configuration for `port` (as [`start_with`] does) without starting a
/// server; returns the file's path.
pub fn write_config(scratch: &Scratch, port: u16, directives: &str) -> PathBuf {
    let conf = scratch.path().join("eventmpm.conf");
    let text = format!(
        "ServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nServerName localhost\n\
         DocumentRoot \"{root}/htdocs\"\nErrorLog logs/error.log\nLogLevel info\n\
         CustomLog logs/access.log common\n\
         <Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n\
         ExtendedStatus On\n{directives}\n",
        root = scratch.path().display()
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// One GET over a fresh connection; the status code (0 if none arrived).
pub fn get_status(addr: SocketAddr, path: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    status_of(&read_until_close(&mut s, Duration::from_secs(10)))
}

/// h2load's request counts: (succeeded, failed, errored, timeout), from its "requests:" line.
pub fn h2load_counts(out: &str) -> Option<(u64, u64, u64, u64)> {
    let line = out.lines().find(|l| l.starts_with("requests:"))?;
    let num = |word: &str| -> Option<u64> {
        let before = line.split(&format!(" {word}")).next()?;
        before.rsplit(' ').next()?.parse().ok()
    };
    Some((
        num("succeeded")?,
        num("failed")?,
        num("errored")?,
        num("timeout")?,
    ))
}

/// One request on a fresh connection, answered within `limit` (a read timeout per read).
pub fn get_within(srv: &Server, path: &str, limit: Duration) -> Result<(String, Vec<u8>), String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect_timeout(&srv.addr(), limit)
        .map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(limit)).unwrap();
    s.set_write_timeout(Some(limit)).unwrap();
    let start = Instant::now();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut all = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read after {:?}: {e}", start.elapsed())),
        }
        if start.elapsed() > limit {
            return Err(format!("not answered within {limit:?}"));
        }
    }
    let at = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no head in {:?}", String::from_utf8_lossy(&all)))?;
    let head = String::from_utf8_lossy(&all[..at + 4]).into_owned();
    Ok((head, all[at + 4..].to_vec()))
}
