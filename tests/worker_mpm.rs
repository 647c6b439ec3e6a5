//! The worker MPM (`LoadModule mpm_worker_module …`) of the real binary (tests/http.rs runs the
//! shared HTTP behaviour under both MPMs): bad and limited requests answered as in event mode,
//! what is its own (a worker waits in 'K' on a keep-alive
//! connection, so keep-alive clients beyond MaxRequestWorkers make further clients wait, where
//! the event MPM serves them at once), the accept mutex across children with every `Mutex`
//! mechanism, MaxConnectionsPerChild counted by workers, graceful stop, and a new child taking
//! over a stopping child's scoreboard slot without disturbing it.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The bound on any single wait in these tests.
const T: Duration = Duration::from_secs(20);
/// The directive that chooses the worker MPM, as in httpd.
const WORKER: &str = Mpm::Worker.directive();
const GET_KA: &[u8] = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";

fn files(s: &Scratch) {
    s.file("index.html", b"<!doctype html><p>hello\n");
    s.file("1k.txt", &[b'a'; 1024]);
    s.file("sub/page.html", b"<p>sub\n");
    s.file(
        "big.bin",
        &(0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    );
}

/// A worker-MPM server (parent and children) with the test site and `extra` directives.
fn worker(tag: &str, extra: &str) -> Server {
    let s = Scratch::new(tag);
    files(&s);
    start_with(s, &format!("{WORKER}{extra}"), &[])
}

/// The same site under the event MPM.
fn event(tag: &str, extra: &str) -> Server {
    let s = Scratch::new(tag);
    files(&s);
    start_with(s, extra, &[])
}

/// Read until EOF, an error, or `limit`; also say whether the peer closed.
fn read_all(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let end = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, false);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (out, false);
            }
            Err(_) => return (out, true),
        }
    }
}

/// Whether anything arrives on `s` within `wait` (the connection stays usable either way).
fn answered_within(s: &mut TcpStream, wait: Duration) -> bool {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    let r = s.peek(&mut b);
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    matches!(r, Ok(n) if n > 0)
}

fn scoreboard(srv: &Server) -> String {
    auto_value(&status_auto(srv), "Scoreboard").unwrap_or_default()
}

/// The server's error log once it contains `needle` (bounded).
fn log_with(srv: &Server, needle: &str) -> String {
    eventually(T, || srv.error_log().contains(needle));
    srv.error_log()
}

/// Stop with SIGTERM (the accept mutex's System V semaphore and lock file are removed by the
/// parent only then) and wait for the exit.
fn stop(mut srv: Server) {
    assert_eq!(srv.stop(), Some(0), "clean exit; log:\n{}", srv.error_log());
}

// ------------------------------------------------------------------------------------------
// The MPM is chosen and reported as httpd does.

#[test]
fn worker_mode_serves_and_reports_itself_as_worker() {
    let srv = worker("report", "");
    let page = status_auto(&srv);
    assert_eq!(
        auto_value(&page, "ServerMPM").as_deref(),
        Some("worker"),
        "{page}"
    );
    // httpd's worker is not async: no per-process connection table, no Conns* keys.
    for key in ["ConnsTotal", "ConnsAsyncWriting", "ConnsAsyncKeepAlive"] {
        assert!(auto_value(&page, key).is_none(), "{key} in {page}");
    }
    let html = String::from_utf8_lossy(&raw(
        &srv,
        b"GET /server-status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ))
    .into_owned();
    assert!(html.contains("Server MPM: worker"), "{html}");
    assert!(!html.contains("Async connections"), "{html}");
    let (code, out, _) = run_binary(
        &["-V", "-f", srv.conf.to_str().unwrap()],
        srv.scratch.path(),
    );
    assert_eq!(code, Some(0));
    assert!(out.contains("Server MPM:     worker"), "{out}");
    // The event MPM, for contrast, has the async table.
    let ev = event("report-event", "");
    let page = status_auto(&ev);
    assert_eq!(auto_value(&page, "ServerMPM").as_deref(), Some("event"));
    assert!(auto_value(&page, "ConnsTotal").is_some(), "{page}");
    // One child in the foreground (-X) runs the worker MPM too.
    let s = Scratch::new("report-x");
    files(&s);
    let single = start_with(s, WORKER, &["-X"]);
    let r = raw(
        &single,
        b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 200);
    assert_eq!(
        auto_value(&status_auto(&single), "ServerMPM").as_deref(),
        Some("worker")
    );
}

// ------------------------------------------------------------------------------------------
// The HTTP behaviour shared with the event MPM: tests/http.rs runs every one of its tests under
// both MPMs. Here, what the two must answer alike under limits and bad input.

/// Requests answered identically by both MPMs: status, and whether the connection closes.
#[test]
fn bad_and_limited_requests_get_the_same_answers_as_in_event_mode() {
    let limits = "LimitRequestLine 200\nLimitRequestFieldSize 200\nLimitRequestFields 5\n\
                  RequestReadTimeout header=1\nKeepAliveTimeout 1\n";
    let ev = event("parity-event", limits);
    let wk = worker("parity-worker", limits);
    let long_line = [
        b"GET /".to_vec(),
        vec![b'a'; 300],
        b" HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
    ]
    .concat();
    let big_field = [
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec(),
        vec![b'b'; 300],
        b"\r\n\r\n".to_vec(),
    ]
    .concat();
    let mut many = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..10 {
        many.extend_from_slice(format!("X-F{i}: y\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GARBAGE\r\n\r\n".to_vec()),
        ("over LimitRequestLine", long_line),
        ("over LimitRequestFieldSize", big_field),
        ("over LimitRequestFields", many),
        ("bare CR", b"GET /1k.txt HTTP/1.1\rHost: x\r\n\r\n".to_vec()),
        (
            "unknown method",
            b"FOO /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        ),
        (
            "a body the handler does not read",
            b"PUT /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
        ),
    ];
    let answer = |srv: &Server, bytes: &[u8]| -> (u16, bool) {
        let mut s = srv.connect();
        s.write_all(bytes).unwrap();
        let (out, closed) = read_all(&mut s, Duration::from_secs(5));
        (status_of(&out), closed)
    };
    for (name, bytes) in &cases {
        let e = answer(&ev, bytes);
        let w = answer(&wk, bytes);
        assert_eq!(w, e, "{name}: worker {w:?}, event {e:?}");
        assert!(w.0 >= 400, "{name}: {w:?}");
    }
    // A head that stalls: 408 after the header timeout (not earlier), in both modes.
    for srv in [&ev, &wk] {
        let mut s = srv.connect();
        let t0 = Instant::now();
        s.write_all(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n").unwrap();
        let (out, closed) = read_all(&mut s, T);
        assert!(closed, "closed");
        assert_eq!(status_of(&out), 408, "{}", String::from_utf8_lossy(&out));
        assert!(
            t0.elapsed() >= Duration::from_millis(900),
            "{:?}",
            t0.elapsed()
        );
    }
}

/// A response the socket cannot take at once is finished by the same worker (blocking waits),
/// shown as 'W' meanwhile, and arrives byte for byte.
#[test]
fn a_paused_reader_gets_a_large_file_from_the_worker_that_owns_it() {
    let s = Scratch::new("paused-reader");
    files(&s);
    let big: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
    s.file("1m.bin", &big);
    // A fixed, small send buffer: 1 MiB cannot fit in it and the client's receive buffer.
    let srv = start_with(
        s,
        &format!("{WORKER}Timeout 10\nSendBufferSize 32768\n"),
        &[],
    );
    let mut c = srv.connect();
    c.write_all(b"GET /1m.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    let n = c.read(&mut buf).unwrap();
    got.extend_from_slice(&buf[..n]);
    // While the client does not read, the worker waits for the socket, still owning the
    // connection: one 'W' is that worker, the other the one rendering this status page.
    assert!(
        eventually(T, || scoreboard(&srv).matches('W').count() >= 2),
        "{}",
        scoreboard(&srv)
    );
    let head_len = loop {
        if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = c.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
    };
    let end = Instant::now() + T;
    while got.len() < head_len + big.len() && Instant::now() < end {
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(got.len() - head_len, big.len());
    assert!(got[head_len..] == big[..], "byte for byte");
    // The connection stays open for the next request.
    c.write_all(GET_KA).unwrap();
    let (head, body) = read_response(&mut c);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body.len(), 1024);
}

// ------------------------------------------------------------------------------------------
// Keep-alive in worker mode: a worker waits ('K') for the next request.

#[test]
fn a_keep_alive_wait_holds_a_worker_in_k_until_keep_alive_timeout() {
    let srv = worker(
        "keepalive",
        "KeepAliveTimeout 1\nMaxKeepAliveRequests 2\nStartServers 1\nThreadsPerChild 4\n\
         MinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    );
    let mut s = srv.connect();
    s.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut s);
    assert!(head.contains("Keep-Alive: timeout=1, max=2"), "{head}");
    let answered = Instant::now();
    // The worker marks 'K' just after writing the response; under load it may lag behind.
    assert!(
        eventually(T, || scoreboard(&srv).matches('K').count() == 1),
        "{}",
        scoreboard(&srv)
    );
    // MaxKeepAliveRequests 2: the first response said max=2, the third closes.
    s.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut s);
    assert!(head.contains("max=1"), "{head}");
    s.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut s);
    assert!(head.contains("Connection: close"), "{head}");
    let (_, closed) = read_all(&mut s, T);
    assert!(closed);
    // A second connection left idle is closed at KeepAliveTimeout, not before.
    let mut s = srv.connect();
    s.write_all(GET_KA).unwrap();
    let _ = read_response(&mut s);
    let t0 = Instant::now();
    let (rest, closed) = read_all(&mut s, T);
    assert!(
        closed && rest.is_empty(),
        "{}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert!(answered.elapsed() >= Duration::from_millis(900));
    assert!(eventually(T, || !scoreboard(&srv).contains('K')));
}

/// The reason the event MPM exists. Two workers, both waiting on idle keep-alive connections:
/// in worker mode a third client is not answered until one of those connections ends; in event
/// mode it is answered at once while both stay open.
#[test]
fn keep_alive_clients_beyond_max_request_workers_make_others_wait_only_in_worker_mode() {
    let conf = "ServerLimit 1\nStartServers 1\nThreadsPerChild 2\nMaxRequestWorkers 2\n\
                MinSpareThreads 1\nMaxSpareThreads 2\nKeepAliveTimeout 10\n";
    for mpm in ["worker", "event"] {
        let srv = if mpm == "worker" {
            worker("ka-wait", conf)
        } else {
            event("ka-wait-event", conf)
        };
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = srv.connect();
            s.write_all(GET_KA).unwrap();
            let (head, _) = read_response(&mut s);
            assert!(head.starts_with("HTTP/1.1 200"), "{mpm}: {head}");
            held.push(s);
        }
        let mut third = srv.connect();
        third.write_all(GET_KA).unwrap();
        if mpm == "worker" {
            assert!(
                !answered_within(&mut third, Duration::from_millis(1500)),
                "worker mode: both workers are in 'K', the third client waits"
            );
            // One keep-alive connection ends: its worker takes the waiting client.
            drop(held.remove(0));
            let (head, _) = read_response(&mut third);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        } else {
            let (head, _) = read_response(&mut third);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            // Answered while both keep-alive connections were still open and usable.
            for s in &mut held {
                s.write_all(GET_KA).unwrap();
                let (head, _) = read_response(s);
                assert!(head.starts_with("HTTP/1.1 200"), "event: {head}");
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Stopping.

#[test]
fn graceful_stop_ends_keep_alive_after_the_current_request() {
    let mut srv = worker("gstop", "KeepAliveTimeout 10\nStartServers 1\n");
    let mut s = srv.connect();
    s.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut s);
    assert!(head.contains("Keep-Alive"), "{head}");
    signal(srv.pid(), 28); // SIGWINCH: graceful stop
    std::thread::sleep(Duration::from_millis(300));
    // The worker waiting on this connection answers its next request, with Connection: close.
    s.write_all(GET_KA).unwrap();
    let (head, body) = read_response(&mut s);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    assert_eq!(body.len(), 1024);
    let (_, closed) = read_all(&mut s, T);
    assert!(closed);
    // The last connection gone, the child and then the parent exit.
    assert_eq!(wait_exit(&mut srv.child, T), Some(0), "{}", srv.error_log());
}

#[test]
fn max_connections_per_child_is_counted_by_workers() {
    let srv = worker(
        "maxconn",
        "StartServers 1\nThreadsPerChild 3\nMaxRequestWorkers 6\nMinSpareThreads 1\n\
         MaxSpareThreads 6\nMaxConnectionsPerChild 3\n",
    );
    let first = serving_pids(srv.pid());
    assert_eq!(first.len(), 1, "{first:?}");
    for _ in 0..3 {
        let r = raw(
            &srv,
            b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status_of(&r), 200);
    }
    // The third connection ended: the child stops and the parent starts another.
    assert!(
        eventually(T, || {
            let now = serving_pids(srv.pid());
            !now.is_empty() && !now.contains(&first[0])
        }),
        "{:?}",
        serving_pids(srv.pid())
    );
    let log = log_with(&srv, "MaxConnectionsPerChild");
    assert!(
        log.contains("Stopping process due to MaxConnectionsPerChild"),
        "{log}"
    );
    let r = raw(
        &srv,
        b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 200);
}

// ------------------------------------------------------------------------------------------
// Several listening sockets: the accept mutex.

/// A second `Listen` on a free port; returns (directive, port).
fn second_listen() -> (String, u16) {
    let port = free_port();
    (format!("Listen 127.0.0.1:{port}\n"), port)
}

/// The file descriptors (targets) and mappings of every child of the server.
fn children_fds_and_maps(srv: &Server) -> (Vec<String>, String) {
    let mut fds = Vec::new();
    let mut maps = String::new();
    for pid in serving_pids(srv.pid()) {
        if let Ok(d) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
            for e in d.flatten() {
                if let Ok(t) = std::fs::read_link(e.path()) {
                    fds.push(t.to_string_lossy().into_owned());
                }
            }
        }
        maps.push_str(&std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default());
    }
    (fds, maps)
}

fn sysv_semaphores() -> Vec<String> {
    std::fs::read_to_string("/proc/sysvipc/sem")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[test]
fn two_listen_ports_under_load_with_the_accept_mutex() {
    let (listen2, port2) = second_listen();
    let srv = worker(
        "two-ports",
        &format!(
            "{listen2}LogLevel debug\nStartServers 2\nThreadsPerChild 10\nMaxRequestWorkers 40\n\
             MinSpareThreads 5\nMaxSpareThreads 40\n"
        ),
    );
    let log = log_with(&srv, "AH00294");
    assert!(
        log.contains("AH00294: Accept mutex: pthread (default: pthread)"),
        "{log}"
    );
    assert!(eventually(T, || serving_pids(srv.pid()).len() >= 2));
    let url2 = format!("http://127.0.0.1:{port2}/1k.txt");
    let url1 = srv.url("/1k.txt");
    let a = std::thread::spawn(move || {
        run_tool(
            "h2load",
            &["--h1", "-t1", "-c8", "-n6000", &url2],
            Duration::from_secs(60),
        )
    });
    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t1", "-c8", "-n6000", &url1],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("6000 succeeded, 0 failed"), "{out}");
    let (code, out, err) = a.join().unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("6000 succeeded, 0 failed"), "{out}");
    let accesses: u64 = auto_value(&status_auto(&srv), "Total Accesses")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(accesses >= 12_000, "{accesses}");
    stop(srv);
}

#[test]
fn every_mutex_mechanism_starts_and_serves() {
    for (mech, name) in [
        ("fcntl", "fcntl"),
        ("flock", "flock"),
        ("sysvsem", "sysvsem"),
        ("posixsem", "posixsem"),
        ("pthread", "pthread"),
        ("default", "pthread"),
        ("file:logs/locks", "fcntl"),
    ] {
        let (listen2, port2) = second_listen();
        let s = Scratch::new("mutex");
        files(&s);
        std::fs::create_dir_all(s.path().join("logs/locks")).unwrap();
        let sems_before = sysv_semaphores();
        let srv = start_with(
            s,
            &format!(
                "{WORKER}{listen2}LogLevel debug\nMutex {mech} mpm-accept\nStartServers 2\n\
                 ThreadsPerChild 4\nMaxRequestWorkers 16\nMinSpareThreads 2\nMaxSpareThreads 16\n"
            ),
            &[],
        );
        let log = log_with(&srv, "AH00294");
        assert!(
            log.contains(&format!("AH00294: Accept mutex: {name} (default: pthread)")),
            "{mech}: {log}"
        );
        assert!(
            eventually(T, || serving_pids(srv.pid()).len() >= 2),
            "{mech}"
        );
        let parent = srv.pid();
        let (fds, maps) = children_fds_and_maps(&srv);
        let lock_name = format!("mpm-accept-0.{parent}");
        match name {
            "fcntl" => {
                let dir = if mech == "fcntl" {
                    "logs"
                } else {
                    "logs/locks"
                };
                let want = format!(
                    "{}/{dir}/{lock_name} (deleted)",
                    srv.scratch.path().display()
                );
                assert!(
                    fds.iter().filter(|f| **f == want).count() >= 2,
                    "{mech}: every child holds the unlinked lock file {want}: {fds:?}"
                );
            }
            "flock" => {
                let file = srv.scratch.path().join("logs").join(&lock_name);
                assert!(file.exists(), "{}", file.display());
                // Each child opened its own description, besides the inherited one.
                let want = file.display().to_string();
                assert!(fds.iter().filter(|f| **f == want).count() >= 4, "{fds:?}");
            }
            "sysvsem" => {
                let during = sysv_semaphores();
                assert!(
                    during.iter().any(|id| !sems_before.contains(id)),
                    "a new semaphore set: {sems_before:?} → {during:?}"
                );
            }
            "posixsem" => {
                // glibc maps the semaphore from /dev/shm; its name is already unlinked.
                let mapped = maps
                    .lines()
                    .filter(|l| l.contains("/dev/shm/sem.") && l.ends_with("(deleted)"))
                    .count();
                assert!(
                    mapped >= 2,
                    "{mech}: the semaphore mapped in each child:\n{maps}"
                );
            }
            _ => {
                // The mutex lives in a shared anonymous mapping beside the scoreboard's.
                let shared = maps
                    .lines()
                    .filter(|l| l.ends_with("/dev/zero (deleted)"))
                    .count();
                assert!(
                    shared >= 4,
                    "{mech}: scoreboard and mutex in each child:\n{maps}"
                );
            }
        }
        for url in [
            srv.url("/1k.txt"),
            format!("http://127.0.0.1:{port2}/1k.txt"),
        ] {
            let (code, out, err) = run_tool(
                "h2load",
                &["--h1", "-t1", "-c4", "-n400", &url],
                Duration::from_secs(30),
            );
            assert_eq!(code, Some(0), "{mech}: {out}{err}");
            assert!(out.contains("400 succeeded, 0 failed"), "{mech}: {out}");
        }
        let scratch_logs = srv.scratch.path().join("logs");
        stop(srv);
        // The parent removes what it created.
        assert!(!scratch_logs.join(&lock_name).exists(), "{mech}");
        if name == "sysvsem" {
            assert_eq!(
                sysv_semaphores(),
                sems_before,
                "the semaphore set is removed"
            );
        }
    }
}

#[test]
fn a_missing_mutex_directory_stops_the_start_with_httpds_message() {
    let s = Scratch::new("mutex-dir");
    files(&s);
    let conf = s.path().join("bad.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot \"{root}\"\n{WORKER}Listen 127.0.0.1:{p1}\nListen 127.0.0.1:{p2}\n\
             DocumentRoot \"{root}/htdocs\"\nErrorLog logs/error.log\n\
             Mutex fcntl:/nonexistent/eventmpm-locks mpm-accept\n",
            root = s.path().display(),
            p1 = free_port(),
            p2 = free_port()
        ),
    )
    .unwrap();
    let (code, _, err) = run_binary(&["-f", conf.to_str().unwrap()], s.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("AH00023: Couldn't create the mpm-accept mutex"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------------
// Scoreboard slots: a new child takes over a stopping child's slot (httpd's AH00263) without
// disturbing the old child's busy workers, and the old child is still reaped and stopped.

/// One slot (MaxRequestWorkers = ThreadsPerChild), one child serving a keep-alive connection,
/// then a graceful restart: a new child takes the slot over while the old one still serves.
fn taken_over(tag: &str) -> (Server, TcpStream, u32) {
    let srv = worker(
        tag,
        "LogLevel debug\nStartServers 1\nThreadsPerChild 3\nMaxRequestWorkers 3\n\
         MinSpareThreads 1\nMaxSpareThreads 3\nKeepAliveTimeout 30\n",
    );
    let old = serving_pids(srv.pid());
    assert_eq!(old.len(), 1);
    let mut ka = srv.connect();
    ka.write_all(GET_KA).unwrap();
    let _ = read_response(&mut ka);
    signal(srv.pid(), 10); // SIGUSR1: graceful restart
    let log = log_with(&srv, "AH00263");
    assert!(
        log.contains(&format!("taking over scoreboard slot from {}", old[0])),
        "{log}"
    );
    assert!(eventually(T, || serving_pids(srv.pid()).len() == 2));
    (srv, ka, old[0])
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn a_child_taking_over_a_slot_leaves_the_old_childs_busy_worker_alone() {
    let (srv, mut ka, old) = taken_over("takeover");
    // The new child serves (on the threads the old one left) while the old one holds its
    // keep-alive connection: the old worker's 'K' stays on the scoreboard.
    let board = scoreboard(&srv);
    assert!(board.contains('K'), "{board}");
    // The new child stops (graceful restart again): the parent must not mark the old child's
    // busy thread dead when it reaps the new one, nor let the next child start a thread over
    // it.
    let new: Vec<u32> = serving_pids(srv.pid())
        .into_iter()
        .filter(|&p| p != old)
        .collect();
    signal(new[0], 28); // SIGWINCH to the new child: it stops gracefully and is reaped
    assert!(eventually(T, || !alive(new[0])));
    assert!(eventually(T, || serving_pids(srv.pid()).len() == 2));
    let board = scoreboard(&srv);
    assert!(
        board.contains('K'),
        "the old child's worker is still in 'K': {board}"
    );
    // The old child's connection still works, is closed after this request, and the old child
    // exits and is reaped.
    ka.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut ka);
    assert!(head.contains("Connection: close"), "{head}");
    assert!(eventually(T, || !alive(old)), "the evicted child is reaped");
    assert!(eventually(T, || !scoreboard(&srv).contains('K')));
    stop(srv);
}

#[test]
fn a_child_whose_slot_was_taken_over_is_stopped_with_the_server() {
    let (srv, _ka, old) = taken_over("takeover-stop");
    assert!(alive(old));
    stop(srv);
    assert!(
        eventually(T, || !alive(old)),
        "the evicted child got SIGTERM too"
    );
}
