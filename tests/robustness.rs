//! Robustness of the real binary (issue 3): an idle server makes no wake-ups; KeepAliveTimeout
//! closes idle connections; an error answered to a large upload is read whole while the client
//! still sends (lingering close); admission stops and resumes accepting at httpd's bound; a
//! dispatch finding every worker busy closes keep-alive connections early; bad input of every
//! kind gets the right status or a clean close, never kills the server and leaks no descriptor;
//! bad configuration files are reported as `file:line: message`.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The bound on any single wait in these tests.
const T: Duration = Duration::from_secs(10);
/// Short timeouts so connections left behind end quickly.
const FAST: &str = "KeepAliveTimeout 1\nRequestReadTimeout header=2-4,MinRate=500\n";
const GET_KA: &[u8] = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n";
const GET_CLOSE: &[u8] = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
const BIG: usize = 4 << 20;

/// One child in the foreground (`-X`): these tests look at one child's admission, keep-alive
/// and wake-up behaviour, which several children would share between them.
fn site_in(s: Scratch, extra: &str) -> Server {
    s.file("1k.txt", &[b'a'; 1024]);
    s.file("big.bin", &vec![b'b'; BIG]);
    start_with(s, extra, &["-X"])
}

fn site(tag: &str, extra: &str) -> Server {
    site_in(Scratch::new(tag), extra)
}

/// How reading a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The peer closed cleanly (FIN).
    Eof,
    /// The peer reset the connection.
    Reset,
    /// Nothing arrived within the limit.
    Timeout,
    /// Another error.
    Error(ErrorKind),
}

/// Read until EOF, a reset or `limit`, and say which.
fn read_to_end(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, End) {
    let end = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, End::Timeout);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return (out, End::Eof),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return (out, End::Timeout);
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (out, End::Reset),
            Err(e) => return (out, End::Error(e.kind())),
        }
    }
}

/// Whether `bytes` hold exactly one complete response with a Content-Length body.
fn one_complete_response(bytes: &[u8]) -> bool {
    let Some(head_len) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..head_len]);
    let Some(len) = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) else {
        return false;
    };
    bytes.len() == head_len + 4 + len
}

/// Nothing arrives on `s` within `wait` (and the connection is not closed either).
fn assert_no_answer(s: &mut TcpStream, wait: Duration, what: &str) {
    s.set_read_timeout(Some(wait)).unwrap();
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("{what}: expected no answer within {wait:?}, got {other:?}"),
    }
    s.set_read_timeout(Some(T)).unwrap();
}

/// A `?auto` value as a number.
fn auto_num(page: &str, key: &str) -> Option<u64> {
    auto_value(page, key)?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// 1. Zero wake-ups.

#[test]
fn an_idle_server_makes_no_wake_ups() {
    let srv = site("idle", FAST);
    // Warm up: a keep-alive request (left to expire), a closed one, and the status page.
    let mut ka = srv.connect();
    ka.write_all(GET_KA).unwrap();
    let (head, _) = read_response(&mut ka);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(status_of(&raw(&srv, GET_CLOSE)), 200);
    let page = status_auto(&srv);
    assert!(page.contains("ConnsTotal"), "{page}");
    // The server closes the idle keep-alive connection after KeepAliveTimeout; we close ours.
    let (rest, end) = read_to_end(&mut ka, T);
    assert_eq!((rest.len(), end), (0, End::Eof));
    drop(ka);
    // No connection left (the listening socket is the only socket), nothing running.
    assert!(
        eventually(T, || srv.socket_count() == 1),
        "connections left open: {} sockets",
        srv.socket_count()
    );
    // The worker that logged the last request writes its buffered line once the line is a
    // second old (BufferedLogs On): its one wake-up for it may still be ahead. Wait that out.
    std::thread::sleep(Duration::from_millis(1100));
    assert!(srv.settle(T), "the server did not go quiet");

    // Threads sleep forever when nothing is pending: the listener in its poller with no
    // timeout (no deadline is queued), the workers on their condition variable. A sleeping
    // thread's switch counters move only when it wakes, so the expected count is exactly 0;
    // no slack is allowed.
    let pids = serving_pids(srv.pid());
    let per_thread = |pids: &[u32]| -> Vec<(String, u64)> {
        pids.iter()
            .flat_map(|&p| {
                std::fs::read_dir(format!("/proc/{p}/task"))
                    .unwrap()
                    .flatten()
                    .map(move |t| {
                        let tid: u32 = t.file_name().to_string_lossy().parse().unwrap();
                        let name = std::fs::read_to_string(t.path().join("comm")).unwrap();
                        let n = proc_status_of_task(p, tid);
                        (format!("{p}/{tid} {}", name.trim()), n)
                    })
            })
            .collect()
    };
    let before = per_thread(&pids);
    let total_before: u64 = pids.iter().map(|&p| ctxt_switches_of(p)).sum();
    std::thread::sleep(Duration::from_secs(3));
    let after = per_thread(&pids);
    let total_after: u64 = pids.iter().map(|&p| ctxt_switches_of(p)).sum();
    eprintln!(
        "idle 3 s: {} threads, context switches {total_before} -> {total_after}",
        after.len()
    );
    assert_eq!(
        total_after, total_before,
        "an idle server woke up: before {before:?}, after {after:?}"
    );
    assert_eq!(before.len(), after.len(), "threads came or went while idle");
}

/// Context switches of one thread.
fn proc_status_of_task(pid: u32, tid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
    text.lines()
        .filter(|l| l.contains("ctxt_switches:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// 2. KeepAliveTimeout.

/// Serve one keep-alive request on a fresh connection, then measure how long the server leaves
/// it idle before closing it. Returns the response head, the idle time, and whether
/// server-status counted the connection in ConnsAsyncKeepAlive while it was idle (looked for
/// during the first `look_for` of the wait: the listener counts it once it has taken the
/// connection back from the worker, a moment after the response was written).
fn idle_close(srv: &Server, look_for: Duration) -> (String, Duration, bool) {
    let mut s = srv.connect();
    s.write_all(GET_KA).unwrap();
    let (head, body) = read_response(&mut s);
    let idle_since = Instant::now();
    assert_eq!(body.len(), 1024);
    let counted = eventually(look_for, || {
        auto_num(&status_auto(srv), "ConnsAsyncKeepAlive") == Some(1)
    });
    let (rest, end) = read_to_end(&mut s, T);
    let waited = idle_since.elapsed();
    assert_eq!(
        (rest.len(), end),
        (0, End::Eof),
        "the idle connection ends with a clean close"
    );
    (head, waited, counted)
}

#[test]
fn keep_alive_timeout_closes_idle_connections() {
    let srv = site("kato", "KeepAliveTimeout 1\n");
    let (head, waited, counted) = idle_close(&srv, Duration::from_millis(700));
    assert_eq!(header(&head, "keep-alive"), Some("timeout=1, max=100"));
    assert!(counted, "counted in ConnsAsyncKeepAlive while idle");
    eprintln!("KeepAliveTimeout 1: closed after {waited:?}");
    // The timer starts when the listener takes the connection back, after the response was
    // written, so the client can only see a longer wait; the clock's millisecond rounding
    // allows a hair less.
    assert!(
        waited >= Duration::from_millis(990),
        "closed early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "closed by its timeout, not much later: {waited:?}"
    );
    let page = status_auto(&srv);
    assert_eq!(
        auto_num(&page, "ConnsAsyncKeepAlive"),
        Some(0),
        "not counted once closed: {page}"
    );
    // Our side is closed too now: the server's lingering close ends and nothing is left.
    assert!(eventually(T, || {
        let p = status_auto(&srv);
        auto_num(&p, "ConnsTotal") == Some(1) && auto_num(&p, "ConnsAsyncClosing") == Some(0)
    }));
}

#[test]
fn keep_alive_timeout_in_milliseconds() {
    let srv = site("katoms", "KeepAliveTimeout 500ms\n");
    let (head, waited, _) = idle_close(&srv, Duration::ZERO);
    // httpd advertises whole seconds (apr_time_sec), so 500 ms is announced as 0.
    assert_eq!(header(&head, "keep-alive"), Some("timeout=0, max=100"));
    eprintln!("KeepAliveTimeout 500ms: closed after {waited:?}");
    assert!(
        waited >= Duration::from_millis(490),
        "closed early: {waited:?}"
    );
    // Not 500 s, and not the 5 s default either.
    assert!(waited < Duration::from_secs(4), "{waited:?}");
}

// ---------------------------------------------------------------------------------------------
// 3. Lingering close.

/// What a client uploading a large body saw.
#[derive(Debug)]
struct Upload {
    /// The reply (head, body length), or how reading it failed.
    reply: Result<(String, usize), String>,
    /// How the connection's input ended after the reply.
    after_reply: End,
    /// Body bytes written in all.
    sent: u64,
    /// Body bytes written after the reply had been read whole.
    sent_after_reply: u64,
    /// The error that stopped the writer, if any.
    write_error: Option<ErrorKind>,
}

/// Body bytes sent before the writer waits for the reply to have been read.
const BEFORE_REPLY: u64 = 1 << 20;

/// Send `head` announcing a `total`-byte body and stream the body from a second thread: the first
/// MiB at once, the rest only after this thread has read the whole reply, so the reply is read
/// while the client is still sending and most of the body is sent after it.
fn upload(addr: SocketAddr, head: &str, total: u64) -> Upload {
    let mut s = TcpStream::connect_timeout(&addr, T).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let replied = Arc::new(AtomicBool::new(false));
    let writer = {
        let mut w = s.try_clone().unwrap();
        let replied = replied.clone();
        std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            let (mut sent, mut after) = (0u64, 0u64);
            while sent < total {
                if sent >= BEFORE_REPLY && !replied.load(Ordering::SeqCst) {
                    eventually(T, || replied.load(Ordering::SeqCst));
                }
                let n = (total - sent).min(chunk.len() as u64) as usize;
                let was_replied = replied.load(Ordering::SeqCst);
                match w.write(&chunk[..n]) {
                    Ok(k) => {
                        sent += k as u64;
                        if was_replied {
                            after += k as u64;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return (sent, after, Some(e.kind())),
                }
            }
            let _ = w.shutdown(Shutdown::Write);
            (sent, after, None)
        })
    };
    let reply = try_read_response(&mut s).map(|(head, body)| (head, body.len()));
    replied.store(true, Ordering::SeqCst);
    let (rest, mut after_reply) = read_to_end(&mut s, T);
    if !rest.is_empty() {
        after_reply = End::Error(ErrorKind::InvalidData);
    }
    let (sent, sent_after_reply, write_error) = writer.join().unwrap();
    Upload {
        reply,
        after_reply,
        sent,
        sent_after_reply,
        write_error,
    }
}

/// Read one response with a Content-Length body, reporting failures instead of panicking.
fn try_read_response(s: &mut TcpStream) -> Result<(String, Vec<u8>), String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            Ok(_) => return Err(format!("EOF inside the head after {} bytes", head.len())),
            Err(e) => return Err(format!("{e} inside the head after {} bytes", head.len())),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let len = header(&head, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .ok_or_else(|| format!("no Content-Length: {head}"))?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)
        .map_err(|e| format!("{e} inside the body: {head}"))?;
    Ok((head, body))
}

/// A server that answers 405 and closes at once, without lingering: what the client would see
/// if lingering close were missing.
fn plain_close_server() -> (SocketAddr, std::thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        c.set_read_timeout(Some(T)).unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = c.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope\n",
        );
        // Dropped with unread input: the kernel answers the client's data with a reset.
    });
    (addr, h)
}

/// A client that asks for the close and sends nothing after its request is closed at once
/// (nothing unread can turn into a reset: nginx's rule); one that sent more after it is
/// lingered over (httpd's), so its response survives whatever it still sends. Both read their
/// whole response and the server's FIN; we keep our side open and read the lingering count.
#[test]
fn a_close_the_client_asked_for_skips_lingering_unless_it_sent_more() {
    let srv = site("clean-close", "");
    let closing = |page: &str| auto_num(page, "ConnsAsyncClosing");
    // Asked for, nothing more: no lingering connection, though our side stays open.
    let mut asked = srv.connect();
    asked.write_all(GET_CLOSE).unwrap();
    let (out, end) = read_to_end(&mut asked, T);
    assert_eq!(status_of(&out), 200);
    assert_eq!(end, End::Eof, "the server's FIN");
    let page = status_auto(&srv);
    assert_eq!(closing(&page), Some(0), "{page}");
    assert_eq!(
        auto_num(&page, "ConnsTotal"),
        Some(1),
        "only the status request: {page}"
    );
    // Asked for, with more bytes after the request: lingering until our FIN.
    let mut more = srv.connect();
    let mut req = GET_CLOSE.to_vec();
    req.extend_from_slice(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    more.write_all(&req).unwrap();
    let (out, end) = read_to_end(&mut more, T);
    assert_eq!(status_of(&out), 200);
    assert_eq!(end, End::Eof, "the server's FIN");
    let page = status_auto(&srv);
    assert_eq!(closing(&page), Some(1), "{page}");
    drop((asked, more));
    assert!(eventually(T, || closing(&status_auto(&srv)) == Some(0)));
}

#[test]
fn an_error_to_a_large_upload_is_read_whole_while_the_client_still_sends() {
    const TOTAL: u64 = 20_000_000;
    let head = |method: &str| {
        format!(
            "{method} /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {TOTAL}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
    };
    for (tag, extra, method, status) in [
        ("linger405", "", "PUT", 405),
        ("linger413", "LimitRequestBody 1000\n", "POST", 413),
    ] {
        let head = head(method);
        let srv = site(tag, &format!("{FAST}{extra}"));
        let up = upload(srv.addr(), &head, TOTAL);
        let (rhead, body_len) = up
            .reply
            .as_ref()
            .unwrap_or_else(|e| panic!("{tag}: the reply was not read whole: {e}; {up:?}"));
        assert_eq!(status_of(rhead.as_bytes()), status, "{rhead}");
        assert_eq!(header(rhead, "connection"), Some("close"), "{rhead}");
        assert!(*body_len > 0);
        // The server drained the whole body instead of resetting the connection: every byte
        // went out, most of it after the reply, without a reset or broken pipe.
        assert_eq!(up.write_error, None, "{tag}: {up:?}");
        assert_eq!(up.sent, TOTAL, "{tag}: {up:?}");
        assert!(up.sent_after_reply >= TOTAL - BEFORE_REPLY, "{tag}: {up:?}");
        // Our reply ended with the server's FIN, not a reset.
        assert_eq!(up.after_reply, End::Eof, "{tag}: {up:?}");
        eprintln!(
            "{tag}: reply read, {} bytes sent after it, no reset",
            up.sent_after_reply
        );
        // Our FIN ends the lingering close; nothing stays open.
        assert!(
            eventually(T, || srv.socket_count() == 1),
            "{tag}: the lingering connection was not closed"
        );
        assert_eq!(status_of(&raw(&srv, GET_CLOSE)), 200);
    }

    // The same client against a server that closes without lingering: the writer hits a
    // reset (or a broken pipe) long before its body is out. This is what the test above
    // would see if the runtime closed without draining.
    let (addr, h) = plain_close_server();
    let up = upload(addr, &head("PUT"), TOTAL);
    h.join().unwrap();
    eprintln!(
        "plain close: sent {} bytes, then {:?}",
        up.sent, up.write_error
    );
    assert!(
        matches!(
            up.write_error,
            Some(ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)
        ),
        "{up:?}"
    );
    assert!(up.sent < TOTAL, "{up:?}");
}

// ---------------------------------------------------------------------------------------------
// 4. Admission.

#[test]
fn admission_stops_accepting_at_the_bound_and_resumes() {
    // ThreadsPerChild 2 and AsyncRequestWorkerFactor 1: with both workers idle the child accepts
    // while connections not in lingering close number fewer than 2 + 2 × 1 = 4, and it takes a
    // waiting connection as soon as that holds again (no hysteresis: httpd would want one idle
    // worker's worth of room more, fewer than 3).
    let srv = site(
        "admit",
        "ThreadsPerChild 2\nAsyncRequestWorkerFactor 1\nKeepAliveTimeout 30\n",
    );
    let mut held = Vec::new();
    for i in 0..4 {
        // Both workers idle before each new connection, so the bound is 4 each time.
        assert!(srv.settle(T), "connection {i}: the server did not go quiet");
        let mut s = srv.connect();
        s.write_all(GET_KA).unwrap();
        let (head, _) = read_response(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(s);
    }
    assert!(srv.settle(T));
    let fds = srv.fd_count();

    // The fifth connection completes its handshake in the kernel's backlog and its request is
    // sent, but the child does not accept it.
    let mut fifth = srv.connect();
    fifth
        .write_all(b"GET /server-status?auto HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_no_answer(&mut fifth, Duration::from_secs(1), "beyond the bound");
    assert_eq!(srv.fd_count(), fds, "the fifth connection was accepted");

    // One held connection goes into lingering close (we keep our side open): a request line
    // over LimitRequestLine, refused by the listener itself (414) without a worker. Lingering
    // connections do not count, so 3 are counted and the fifth is served.
    let mut lingering = held.remove(0);
    lingering.write_all(b"GET /").unwrap();
    lingering.write_all(&[b'a'; 9000]).unwrap();
    let (out, end) = read_to_end(&mut lingering, T);
    assert_eq!(status_of(&out), 414, "{}", String::from_utf8_lossy(&out));
    assert_eq!(end, End::Eof, "the server's FIN");
    let started = Instant::now();
    let (head, body) = read_response(&mut fifth);
    eprintln!(
        "the fifth connection was served {:?} after the second left the count",
        started.elapsed()
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let page = String::from_utf8_lossy(&body);
    // Rendered while the fifth is with a worker: three held in keep-alive, one lingering, and
    // the fifth itself.
    assert_eq!(auto_num(&page, "ConnsTotal"), Some(5), "{page}");
    assert_eq!(auto_num(&page, "ConnsAsyncKeepAlive"), Some(3), "{page}");
    assert_eq!(auto_num(&page, "ConnsAsyncClosing"), Some(1), "{page}");
    assert_eq!(auto_num(&page, "BusyWorkers"), Some(1), "{page}");

    // The fifth stays in keep-alive: 4 counted again, so a sixth waits...
    assert!(srv.settle(T));
    let mut sixth = srv.connect();
    sixth.write_all(GET_KA).unwrap();
    assert_no_answer(&mut sixth, Duration::from_secs(1), "at the bound again");
    // ...until one connection closes: one is enough (httpd's hysteresis wanted two).
    drop(held.remove(0));
    let started = Instant::now();
    let (head, _) = read_response(&mut sixth);
    eprintln!(
        "the sixth connection was served {:?} after one connection closed",
        started.elapsed()
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(lingering);
    drop(held);
    drop(fifth);
    drop(sixth);
    assert!(eventually(T, || srv.socket_count() == 1));
}

#[test]
fn a_child_accepts_connections_up_to_its_bound() {
    // ThreadsPerChild 2 with the default factor 2: 2 + 2 × 2 = 6 connections, each served
    // while both workers are idle. (The listener used to switch its socket off right after
    // dispatching a request from an accept burst — counting the dispatched request's worker
    // as gone, with no further connection pending — and the re-enabling bound then kept it off
    // at 4.)
    let srv = site("bound", "ThreadsPerChild 2\nKeepAliveTimeout 30\n");
    let mut held = Vec::new();
    for i in 0..6 {
        assert!(srv.settle(T), "connection {i}: the server did not go quiet");
        let mut s = srv.connect();
        s.write_all(GET_KA).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let (head, _) = try_read_response(&mut s)
            .unwrap_or_else(|e| panic!("connection {} of 6 not served: {e}", i + 1));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        held.push(s);
    }
    assert!(srv.settle(T));
    let mut seventh = srv.connect();
    seventh.write_all(GET_KA).unwrap();
    assert_no_answer(
        &mut seventh,
        Duration::from_secs(1),
        "beyond the bound of 6",
    );
    // Re-enabling needs fewer than 2 + (2 − 1) × 2 = 4: three of the six close.
    held.truncate(3);
    let (head, _) = read_response(&mut seventh);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// Known bug, kept as a reproducer (run with `--ignored`): a worker announces it is idle (it
/// wakes a listener whose sockets are off) *before* `Dispatch::pop` counts it as idle, so the
/// listener can re-check admission, still see the worker busy and go back to sleep with its
/// sockets off until some unrelated event. Here the second held connection leaves the count
/// through a worker (its request says `Connection: close`), and about one round in six the
/// waiting connection is not served. The fix belongs in `src/handoff.rs` (count, then wake),
/// outside the files this test suite's task may change.
#[test]
// Once ignored: a worker woke the listener before the queue counted it idle. The listener
// now counts idle workers itself (threads minus jobs in flight), so no wake-up can be lost.
fn accepting_resumes_when_a_served_connection_starts_lingering() {
    let srv = site(
        "admit-race",
        "ThreadsPerChild 2\nAsyncRequestWorkerFactor 1\nKeepAliveTimeout 30\n",
    );
    for round in 0..20 {
        let mut held = Vec::new();
        for _ in 0..4 {
            assert!(srv.settle(T));
            let mut s = srv.connect();
            s.write_all(GET_KA).unwrap();
            read_response(&mut s);
            held.push(s);
        }
        assert!(srv.settle(T));
        let mut fifth = srv.connect();
        fifth.write_all(GET_KA).unwrap();
        drop(held.remove(0));
        let mut lingering = held.remove(0);
        lingering.write_all(GET_CLOSE).unwrap();
        read_response(&mut lingering);
        fifth
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        if let Err(e) = try_read_response(&mut fifth) {
            panic!("round {round}: accepting did not resume: {e}");
        }
        drop((held, lingering, fifth));
        assert!(eventually(T, || srv.socket_count() == 1));
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Every worker busy: keep-alive connections are closed early.

/// A FIFO as the access log, opened read-write (so the server's open does not block) and
/// non-blocking: the test can fill it to stall the workers' log writes, and drain it.
struct Fifo(std::fs::File);

impl Fifo {
    fn create(path: &std::path::Path) -> Fifo {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .unwrap();
        Fifo(f)
    }

    /// Write until the pipe is full.
    fn fill(&mut self) -> usize {
        let junk = [b'#'; 4096];
        let mut n = 0;
        loop {
            match self.0.write(&junk) {
                Ok(k) => n += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return n,
                Err(e) => panic!("filling the FIFO: {e}"),
            }
        }
    }

    /// Read everything buffered.
    fn drain(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            match self.0.read(&mut buf) {
                Ok(0) => return out,
                Ok(k) => out.extend_from_slice(&buf[..k]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return out,
                Err(e) => panic!("draining the FIFO: {e}"),
            }
        }
    }
}

/// What each worker thread of `pid` is blocked in, from /proc/PID/task/TID/syscall: the system
/// call number and its first argument (for a futex, the address waited on).
fn worker_waits(pid: u32) -> Vec<(String, String)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.starts_with("worker-"))
                })
                .map(|t| {
                    let line =
                        std::fs::read_to_string(t.path().join("syscall")).unwrap_or_default();
                    let mut f = line.split_whitespace();
                    (
                        f.next().unwrap_or("").to_string(),
                        f.next().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Worker threads of `pid` blocked in a system call other than `idle` (the wait an idle worker
/// sleeps in: the dispatch queue's condition variable), the same in two looks 50 ms apart. A
/// worker still running its request (`running`, or a system call of the request that returns at
/// once) is not counted: under load a worker can take a while between its answer and its wait,
/// and one counted as blocked then would go on to take the next request too.
fn workers_blocked(pid: u32, idle: &(String, String)) -> usize {
    let blocked = || -> Vec<(String, String)> {
        worker_waits(pid)
            .into_iter()
            .filter(|w| w != idle && w.0.parse::<i64>().is_ok_and(|nr| nr >= 0))
            .collect()
    };
    let first = blocked();
    std::thread::sleep(Duration::from_millis(50));
    if blocked() == first { first.len() } else { 0 }
}

/// The listener, which answers cheap requests itself, never waits on a log: with the access
/// log a FIFO nobody reads (a stalled log disk), its lines go to the child's log-writer thread,
/// which blocks, and it goes on answering — for well over a second, past the point where its
/// buffered lines are due and handed over. When the reader comes back, every line arrives.
#[test]
fn the_listener_answers_on_while_its_log_is_stalled() {
    let scratch = Scratch::new("stalled-log");
    let mut fifo = Fifo::create(&scratch.path().join("logs/access.log"));
    let srv = site_in(scratch, "ThreadsPerChild 2\nMaxKeepAliveRequests 0\n");
    // Cache the file first (a worker opens it), and let that line through.
    assert_eq!(status_of(&raw(&srv, GET_CLOSE)), 200);
    let mut logged = Vec::new();
    assert!(eventually(T, || {
        logged.extend(fifo.drain());
        logged.contains(&b'\n')
    }));
    fifo.fill();
    let mut s = srv.connect();
    s.set_read_timeout(Some(T)).unwrap();
    let started = Instant::now();
    let mut answered = 0u32;
    // 300 requests over at least 1.5 s: the listener's lines come due (1 s) while the log is
    // stalled; about 30 KiB of them, under the point where it would stop answering itself.
    while answered < 300 || started.elapsed() < Duration::from_millis(1500) {
        s.write_all(GET_KA).unwrap();
        let (head, _) = try_read_response(&mut s)
            .unwrap_or_else(|e| panic!("request {answered} unanswered with the log stalled: {e}"));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        answered += 1;
        if answered >= 300 {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(answered < 10_000);
    }
    drop(s);
    // The reader is back: every line of ours arrives (after the junk that filled the FIFO).
    let mut got = Vec::new();
    assert!(
        eventually(T, || {
            got.extend(fifo.drain());
            got.windows(9).filter(|w| w == b"GET /1k.t").count() as u32 >= answered
        }),
        "{} of {answered} lines arrived",
        got.windows(9).filter(|w| w == b"GET /1k.t").count()
    );
}

#[test]
fn when_every_worker_is_busy_keep_alive_connections_are_closed_early() {
    // Workers append their buffered access-log lines with a blocking write, as httpd's
    // workers do, once the oldest is a second old (BufferedLogs On). With the access log a
    // FIFO nobody reads, each worker that finishes a request blocks there (busy, not idle) — a
    // stalled log disk, from the runtime's point of view. No handler here waits on anything, so that is how every worker is held busy.
    let scratch = Scratch::new("busy");
    let mut fifo = Fifo::create(&scratch.path().join("logs/access.log"));
    // No open-file cache: the listener then answers no file itself, and every request here
    // goes to a worker.
    let srv = site_in(
        scratch,
        "ThreadsPerChild 2\nKeepAliveTimeout 30\nOpenFileCache Off\n",
    );
    let mut conns: Vec<TcpStream> = Vec::new();
    // Two idle keep-alive connections (the victims), two that will occupy the workers, and one
    // whose request will find no idle worker. 5 is within the bound 2 + 2 × 2.
    for i in 0..5 {
        assert!(srv.settle(T), "connection {i}");
        let mut s = srv.connect();
        s.write_all(GET_KA).unwrap();
        let (head, _) = try_read_response(&mut s)
            .unwrap_or_else(|e| panic!("connection {i}: {e}; error log:\n{}", srv.error_log()));
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        conns.push(s);
    }
    let mut logged = Vec::new();
    assert!(eventually(T, || {
        logged.extend(fifo.drain());
        logged.iter().filter(|&&b| b == b'\n').count() == 5
    }));
    assert!(srv.settle(T));
    let filled = fifo.fill();
    let [victim1, victim2, busy1, busy2, last] = &mut conns[..] else {
        unreachable!()
    };
    // Both workers are idle now, parked in the same wait; remember it.
    let parked = worker_waits(srv.pid());
    assert!(parked.len() == 2 && parked[0] == parked[1], "{parked:?}");
    let idle = parked[0].clone();
    // Each of the two requests is answered; its worker then blocks writing its log line (or on
    // the log's lock behind the other). Wait until it really is blocked before the next
    // request, or the same worker could take that one too before going idle.
    for (k, s) in [&mut *busy1, &mut *busy2].into_iter().enumerate() {
        s.write_all(GET_KA).unwrap();
        let (head, _) = read_response(s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            eventually(T, || workers_blocked(srv.pid(), &idle) == k + 1),
            "worker {k} did not block on the log: {:?}",
            worker_waits(srv.pid())
        );
    }
    // Busy workers alone close nothing: the victims stay open.
    assert_no_answer(
        victim1,
        Duration::from_millis(500),
        "workers busy, no dispatch yet",
    );
    // A request now finds no idle worker: the listener queues it, and once it has waited a
    // second for a worker (WORKERS_STALLED in the listener) closes its idle keep-alive
    // connections, long before their 30 s KeepAliveTimeout.
    last.write_all(GET_KA).unwrap();
    let started = Instant::now();
    for v in [&mut *victim1, &mut *victim2] {
        let (rest, end) = read_to_end(v, T);
        assert_eq!(
            (rest.len(), end),
            (0, End::Eof),
            "a keep-alive connection closed early, cleanly"
        );
    }
    let closed_after = started.elapsed();
    eprintln!(
        "FIFO filled with {filled} bytes; keep-alive connections closed {closed_after:?} after the dispatch"
    );
    assert!(closed_after < Duration::from_secs(5), "{closed_after:?}");
    // The queued request waits for a worker…
    assert_no_answer(last, Duration::from_millis(300), "no idle worker");
    // …and is answered once the log drains and the workers are free again.
    let drained = fifo.drain();
    assert!(drained.len() >= filled);
    let (head, _) = read_response(last);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    drop(conns);
    // Both workers are back: the status page finds only its own worker busy.
    assert!(eventually(T, || {
        let page = status_auto(&srv);
        auto_num(&page, "BusyWorkers") == Some(1) && auto_num(&page, "IdleWorkers") == Some(1)
    }));
    let _ = fifo.drain();
}

// ---------------------------------------------------------------------------------------------
// 6. Bad input.

/// What a bad request must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// One complete response with this status, then a clean close.
    Status(u16),
    /// A clean close without a response.
    Closed,
}

fn bad_requests() -> Vec<(&'static str, Vec<u8>, Expect)> {
    use Expect::*;
    let many_fields: Vec<u8> = {
        let mut v = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..120 {
            v.extend_from_slice(format!("X-F{i}: y\r\n").as_bytes());
        }
        v.extend_from_slice(b"\r\n");
        v
    };
    let tls_client_hello: Vec<u8> = {
        // A TLS 1.2 record header and ClientHello, as a browser sends to https on port 80.
        let mut v = vec![
            0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
        ];
        v.extend((0..32u8).map(|i| i.wrapping_mul(37)));
        v.extend_from_slice(&[0x00, 0x00, 0x20]);
        for _ in 0..16 {
            v.extend_from_slice(&[0xc0, 0x2b]);
        }
        v.extend_from_slice(&[0x01, 0x00, 0x00, 0x58]);
        v.extend_from_slice(&[0u8; 88]);
        v
    };
    vec![
        ("malformed request line", b"GARBAGE\r\n\r\n".to_vec(), Status(400)),
        ("HTTP/0.9 request other than GET", b"POST /\r\n\r\n".to_vec(), Status(400)),
        ("HTTP/0.9 as a version", b"GET / HTTP/0.9\r\n\r\n".to_vec(), Status(400)),
        ("bad version", b"GET / HTTP/1.x\r\nHost: x\r\n\r\n".to_vec(), Status(400)),
        ("three tokens too many", b"GET / / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Status(400)),
        ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), Status(400)),
        ("bare LF", b"GET / HTTP/1.1\nHost: x\n\n".to_vec(), Status(400)),
        (
            "request line over LimitRequestLine",
            [b"GET /".to_vec(), vec![b'a'; 9000], b" HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()]
                .concat(),
            Status(414),
        ),
        (
            "field over LimitRequestFieldSize",
            [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec(), vec![b'b'; 9000], b"\r\n\r\n".to_vec()]
                .concat(),
            Status(431),
        ),
        ("more fields than LimitRequestFields", many_fields, Status(431)),
        ("no Host in 1.1", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(), Status(400)),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n".to_vec(), Status(400)),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec(), Status(400)),
        ("bare CR", b"GET /1k.txt HTTP/1.1\rHost: x\r\n\r\n".to_vec(), Status(400)),
        (
            "Content-Length with Transfer-Encoding",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            Status(400),
        ),
        (
            "Transfer-Encoding not ending in chunked",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
            Status(400),
        ),
        (
            "Content-Length not a number",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n".to_vec(),
            Status(400),
        ),
        (
            "negative Content-Length",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            Status(400),
        ),
        (
            "conflicting Content-Lengths",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab".to_vec(),
            Status(400),
        ),
        (
            "Content-Length overflowing 64 bits",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec(),
            Status(400),
        ),
        // The static handler skips a body that has arrived: malformed chunks are refused, as
        // httpd refuses them, the connection closes, and lingering close discards the rest —
        // it is never taken for a next request.
        (
            "malformed chunked body",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\nGET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Status(400),
        ),
        ("NUL in the request line", b"GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Status(400)),
        ("NUL in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n".to_vec(), Status(400)),
        ("NUL bytes only", b"\0\0\0\0\0\0\0\0\r\n\r\n".to_vec(), Status(400)),
        ("TLS ClientHello", tls_client_hello, Status(400)),
        ("binary garbage", vec![0xff, 0xfe, 0x80, 0x81, 0x0d, 0x0a, 0x0d, 0x0a], Status(400)),
        ("path escaping the root", b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), Status(400)),
        (
            "unknown method",
            b"FOO /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            Status(501),
        ),
        (
            "unsupported Expect",
            b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n".to_vec(),
            Status(417),
        ),
        // Half-closed before the head is complete: nothing to answer.
        ("half-closed in the request line", b"GET /1k.txt HT".to_vec(), Closed),
        ("half-closed in the fields", b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n".to_vec(), Closed),
        // Half-closed after a complete head: still answered.
        ("half-closed after the head", GET_KA.to_vec(), Status(200)),
    ]
}

/// Send one bad request on a fresh connection, half-close, and check what comes back.
fn check_bad(srv: &Server, name: &str, bytes: &[u8], expect: Expect) {
    let mut s = srv.connect();
    s.write_all(bytes).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (out, end) = read_to_end(&mut s, T);
    let text = String::from_utf8_lossy(&out);
    assert_eq!(end, End::Eof, "{name}: {text}");
    match expect {
        Expect::Status(code) => {
            assert_eq!(status_of(&out), code, "{name}: {text}");
            assert!(one_complete_response(&out), "{name}: {text}");
        }
        Expect::Closed => assert!(out.is_empty(), "{name}: {text}"),
    }
}

/// A connection reset by the client (SO_LINGER 0) after `bytes`.
fn reset_after(srv: &Server, bytes: &[u8]) {
    let s = srv.connect();
    let _ = (&s).write_all(bytes);
    close_with_reset(s);
}

/// Close `s` with a reset (SO_LINGER 0) instead of a FIN.
fn close_with_reset(s: TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket and a `linger` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0);
    drop(s);
}

/// A client that reads the start of a large file and goes away, at once with SO_LINGER 0
/// (`reset`), or after leaving the response unread for a while.
fn leave_mid_response(srv: &Server, reset: bool) {
    let mut s = srv.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = vec![0u8; 100_000];
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    assert!(got > 0, "the large file started");
    if reset {
        close_with_reset(s);
    } else {
        // Stop reading until the server's send buffer is full and the connection waits in
        // write completion, then close (with unread data: the kernel resets it too).
        std::thread::sleep(Duration::from_millis(100));
        drop(s);
    }
}

/// Wait for every connection to be gone and return the descriptor count.
fn quiet_fd_count(srv: &Server) -> usize {
    assert!(
        eventually(Duration::from_secs(15), || srv.socket_count() == 1),
        "connections left open: {} sockets; {:?}",
        srv.socket_count(),
        std::fs::read_dir(format!("/proc/{}/fd", srv.pid()))
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_link(e.path()).unwrap_or_default())
            .collect::<Vec<_>>()
    );
    // Files of the document root held open by the open-file cache are no leak (the cache is
    // bounded by OpenFileCache, and which files it holds depends on what was asked): every
    // other descriptor counts.
    let docroot = srv.scratch.docroot();
    std::fs::read_dir(format!("/proc/{}/fd", srv.pid()))
        .unwrap()
        .flatten()
        .filter(|e| !std::fs::read_link(e.path()).is_ok_and(|target| target.starts_with(&docroot)))
        .count()
}

fn alive(srv: &mut Server) {
    assert!(
        matches!(srv.child.try_wait(), Ok(None)),
        "the server died; error log:\n{}",
        srv.error_log()
    );
    let r = raw(srv, GET_CLOSE);
    assert_eq!(status_of(&r), 200, "{}", String::from_utf8_lossy(&r));
}

#[test]
fn bad_input_gets_the_right_answer_and_leaks_nothing() {
    let mut srv = site("bad", FAST);
    assert_eq!(status_of(&raw(&srv, GET_CLOSE)), 200);
    let baseline = quiet_fd_count(&srv);
    let cases = bad_requests();
    let mut connections = 0;
    for round in 0..8 {
        for (name, bytes, expect) in &cases {
            check_bad(&srv, name, bytes, *expect);
            connections += 1;
        }
        // Resets at every stage of a request, and clients leaving mid-response.
        for partial in [
            &b""[..],
            b"GET /1k",
            b"GET /1k.txt HTTP/1.1\r\nHost:",
            GET_KA,
        ] {
            reset_after(&srv, partial);
            connections += 1;
        }
        leave_mid_response(&srv, round % 2 == 0);
        leave_mid_response(&srv, false);
        connections += 3;
        alive(&mut srv);
    }
    let after = quiet_fd_count(&srv);
    eprintln!("{connections} bad connections: descriptors {baseline} before, {after} after");
    assert_eq!(after, baseline, "descriptors leaked");
    alive(&mut srv);
}

/// xorshift64*: a small seeded generator, so a failing input can be reproduced.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Whether `input` can be an HTTP/0.9 simple request: empty lines, then `GET target` alone on
/// a CRLF-ended line.
fn is_simple_request(input: &[u8]) -> bool {
    let mut rest = input;
    while let Some(r) = rest.strip_prefix(b"\r\n") {
        rest = r;
    }
    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
        return false;
    };
    let line = &rest[..end];
    line.starts_with(b"GET ") && line.len() > 4 && line[4..].iter().all(|&b| b > b' ' && b != 0x7f)
}

/// A random input: pure noise, or a valid request with a few random mutations.
fn fuzz_input(rng: &mut Rng) -> Vec<u8> {
    const SEEDS: [&[u8]; 4] = [
        GET_KA,
        b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /big.bin HTTP/1.0\r\nRange: bytes=0-10\r\nIf-None-Match: \"x\"\r\n\r\n",
        b"HEAD /server-status?auto HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    const PIECES: [&[u8]; 8] = [
        b"\r\n",
        b"\r\n\r\n",
        b"\0",
        b":",
        b" ",
        b"%",
        b"HTTP/1.1",
        b"Content-Length: 9\r\n",
    ];
    if rng.below(4) == 0 {
        let n = 1 + rng.below(512);
        return (0..n).map(|_| rng.next() as u8).collect();
    }
    let mut v = SEEDS[rng.below(SEEDS.len())].to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if at < v.len() => v[at] ^= 1 << rng.below(8),
            1 => v.insert(at, rng.next() as u8),
            2 if at < v.len() => {
                v.remove(at);
            }
            3 => {
                let p = PIECES[rng.below(PIECES.len())];
                v.splice(at..at, p.iter().copied());
            }
            4 => v.truncate(at),
            _ => {
                let end = (at + rng.below(64)).min(v.len());
                let dup = v[at..end].to_vec();
                v.splice(
                    at..at,
                    dup.iter().copied().cycle().take(dup.len() * rng.below(200)),
                );
            }
        }
    }
    v
}

#[test]
fn random_input_never_kills_the_server_or_leaks() {
    const SEED: u64 = 0x5eed_e7e4_7a11_0001;
    const PER_THREAD: usize = 750;
    const THREADS: u64 = 4;
    let mut srv = site("fuzz", FAST);
    assert_eq!(status_of(&raw(&srv, GET_CLOSE)), 200);
    let baseline = quiet_fd_count(&srv);
    let addr = srv.addr();
    let statuses = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                sc.spawn(move || {
                    let mut rng = Rng(SEED ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    let mut seen = std::collections::BTreeMap::<u16, u32>::new();
                    for i in 0..PER_THREAD {
                        let input = fuzz_input(&mut rng);
                        let mut s = TcpStream::connect_timeout(&addr, T).unwrap();
                        s.set_write_timeout(Some(T)).unwrap();
                        // The server may answer and close before reading everything.
                        let _ = s.write_all(&input);
                        let _ = s.shutdown(Shutdown::Write);
                        let (out, end) = read_to_end(&mut s, T);
                        assert_ne!(
                            end,
                            End::Timeout,
                            "thread {t} input {i} hung: {:?}",
                            String::from_utf8_lossy(&input)
                        );
                        if !out.is_empty() && !out.starts_with(b"HTTP/1.") {
                            // Only an HTTP/0.9 request is answered with a body alone.
                            assert!(
                                is_simple_request(&input),
                                "thread {t} input {i}: {:?} -> {:?}",
                                String::from_utf8_lossy(&input),
                                String::from_utf8_lossy(&out[..out.len().min(200)])
                            );
                            *seen.entry(9).or_default() += 1;
                        } else if !out.is_empty() {
                            let code = status_of(&out);
                            assert!(
                                out.starts_with(b"HTTP/1.") && (200..600).contains(&code),
                                "thread {t} input {i}: {:?} -> {:?}",
                                String::from_utf8_lossy(&input),
                                String::from_utf8_lossy(&out[..out.len().min(200)])
                            );
                            assert!(
                                code != 500,
                                "thread {t} input {i}: internal error for {:?}",
                                String::from_utf8_lossy(&input)
                            );
                            *seen.entry(code).or_default() += 1;
                        } else {
                            *seen.entry(0).or_default() += 1;
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut all = std::collections::BTreeMap::<u16, u32>::new();
        for h in handles {
            for (k, v) in h.join().unwrap() {
                *all.entry(k).or_default() += v;
            }
        }
        all
    });
    eprintln!(
        "{} random inputs (seed {SEED:#x}); first statuses (0 = closed without one, 9 = an \
         HTTP/0.9 body): {statuses:?}",
        PER_THREAD as u64 * THREADS
    );
    alive(&mut srv);
    let after = quiet_fd_count(&srv);
    assert_eq!(after, baseline, "descriptors leaked");
}

// ---------------------------------------------------------------------------------------------
// 7. Configuration errors.

#[test]
fn config_errors_are_reported_with_file_and_line() {
    let s = Scratch::new("conf");
    let base = format!(
        "ServerRoot \"{root}\"\nListen 127.0.0.1:{port}\nDocumentRoot \"{root}/htdocs\"\n",
        root = s.path().display(),
        port = free_port()
    );
    let check = |name: &str, extra: &str| -> (Option<i32>, String) {
        let path = s.path().join(name);
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let (code, out, err) = run_tool(binary(), &["-t", "-f", path.to_str().unwrap()], T);
        (code, format!("{out}{err}"))
    };
    let (code, out) = check("good.conf", "ThreadsPerChild 4\nKeepAliveTimeout 500ms\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Syntax OK"), "{out}");
    for (name, extra, line, message) in [
        (
            "unknown.conf",
            "ThreadsPerChild 4\nFrobnicate on\n",
            5,
            "Invalid command 'Frobnicate'",
        ),
        (
            "value.conf",
            "KeepAlive maybe\n",
            4,
            "KeepAlive must be On or Off",
        ),
        (
            "negative.conf",
            "\nKeepAliveTimeout -3\n",
            5,
            "KeepAliveTimeout has wrong format",
        ),
        (
            "unclosed.conf",
            "<Location /x>\n  Require all granted\n",
            4,
            "<Location> was not closed",
        ),
        (
            "stray.conf",
            "</Location>\n",
            4,
            "</Location> without matching <Location> section",
        ),
    ] {
        let (code, out) = check(name, extra);
        assert_eq!(code, Some(1), "{name}: {out}");
        let want = format!("{}:{line}: {message}", s.path().join(name).display());
        assert!(out.contains(&want), "{name}: want {want:?} in {out:?}");
        assert!(!out.contains("Syntax OK"), "{name}: {out}");
    }
}
