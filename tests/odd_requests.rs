//! Odd requests over raw sockets, answered as httpd 2.4 answers them (issue 11), or where the
//! README says eventmpm deviates, as it says: unknown and lower-case methods, `OPTIONS *`,
//! HTTP/0.9, `HTTP/2.0` request lines, bare LF, the HTTP/2 preface, obs-fold, empty `Host`,
//! heads of many fields, and bodies sent to static files.
//!
//! Each case asserts the status of every response, the fields that matter (Allow, Connection),
//! and how the connection ends: kept open (a request sent after the case is answered on it) or
//! closed (end of stream, nothing more). Every case runs under both MPMs.
//!
//! `ci/odd-requests.py` sends the same corpus to any server and prints a table, to compare with
//! a running httpd; these tests do not need one.

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// The request pipelined after most cases: answered only if the connection stays open.
const NEXT: &[u8] = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n";
/// What a static file allows.
const FILE_ALLOW: &str = "GET,HEAD,POST,OPTIONS";

fn site(mpm: Mpm, tag: &str, extra: &str) -> Server {
    let s = Scratch::new(&mpm.tag(tag));
    s.file("index.html", b"<!doctype html><p>hello\n");
    s.file("1k.txt", &[b'a'; 1024]);
    start_with(s, &format!("{}{extra}", mpm.directive()), &[])
}

/// How a case's connection must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Still open: a further request is answered on it.
    Open,
    /// Closed by the server after the responses.
    Closed,
}

/// One odd request (usually with [`NEXT`] pipelined after it) and what must come back.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    statuses: &'static [u16],
    after: After,
    /// The first response's `Allow` field, if it must have one.
    allow: Option<&'static str>,
}

fn case(name: &'static str, bytes: &[u8], statuses: &'static [u16], after: After) -> Case {
    Case {
        name,
        bytes: bytes.to_vec(),
        statuses,
        after,
        allow: None,
    }
}

/// `bytes` followed by [`NEXT`].
fn then_next(bytes: &[u8]) -> Vec<u8> {
    [bytes, NEXT].concat()
}

/// `n` header fields, each line `size` bytes long (without its CRLF).
fn fields(n: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * (size + 2));
    for i in 0..n {
        let name = format!("X-F{i:04}: ");
        out.extend_from_slice(name.as_bytes());
        out.extend(std::iter::repeat_n(b'v', size - name.len()));
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A GET for /1k.txt with `extra` fields after Host.
fn get_with(extra: &[u8]) -> Vec<u8> {
    [&b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n"[..], extra, b"\r\n"].concat()
}

fn cases() -> Vec<Case> {
    use After::{Closed, Open};
    let n = then_next;
    let mut v = vec![
        // Methods: httpd's default_handler answers a method it does not know at all with 501
        // (and closes), a known one the handler lacks with 405 (and carries on).
        Case {
            allow: Some(FILE_ALLOW),
            ..case("lower-case get", &n(b"get /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[501], Closed)
        },
        Case {
            allow: Some(FILE_ALLOW),
            ..case("unknown method", &n(b"FOO /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[501], Closed)
        },
        case("unknown method, no file", &n(b"FOO /nope HTTP/1.1\r\nHost: x\r\n\r\n"), &[501], Closed),
        Case {
            allow: Some(FILE_ALLOW),
            ..case("PROPFIND", &n(b"PROPFIND /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[405, 200], Open)
        },
        case("DELETE", &n(b"DELETE /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[405, 200], Open),
        case("PROPFIND, no file", &n(b"PROPFIND /nope HTTP/1.1\r\nHost: x\r\n\r\n"), &[405, 200], Open),
        case(
            "PUT with a body",
            &n(b"PUT /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
            &[405, 200],
            Open,
        ),
        // Deviation: TRACE is not implemented (httpd echoes the request, TraceEnable On).
        case("TRACE", &n(b"TRACE /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[405, 200], Open),
        case("CONNECT", &n(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"), &[405, 200], Open),
        // OPTIONS.
        case("OPTIONS *", &n(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        case("OPTIONS * without Host", &n(b"OPTIONS * HTTP/1.1\r\n\r\n"), &[400], Closed),
        case("OPTIONS * in HTTP/1.0", b"OPTIONS * HTTP/1.0\r\n\r\n", &[200], Closed),
        Case {
            allow: Some(FILE_ALLOW),
            ..case("OPTIONS a file", &n(b"OPTIONS /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[200, 200], Open)
        },
        case("GET *", &n(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"), &[400], Closed),
        // HTTP/0.9: only GET, CRLF, and no version written out (the answers with a body alone
        // are in `http09_simple_requests`).
        case("HTTP/0.9 with a bare LF", b"GET /1k.txt\n", &[400], Closed),
        case("HTTP/0.9 POST", b"POST /1k.txt\r\n", &[400], Closed),
        case("HTTP/0.9 as a version", b"GET /1k.txt HTTP/0.9\r\n\r\n", &[400], Closed),
        // Versions: any later one is read and answered as 1.1 (RFC 9110 §6.2), as httpd does.
        case("HTTP/1.2", &n(b"GET /1k.txt HTTP/1.2\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        case("HTTP/2.0", &n(b"GET /1k.txt HTTP/2.0\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        case("HTTP/3.0", &n(b"GET /1k.txt HTTP/3.0\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        case("HTTP/2.0 without Host", &n(b"GET /1k.txt HTTP/2.0\r\n\r\n"), &[400], Closed),
        case("lower-case version", &n(b"GET /1k.txt http/1.1\r\nHost: x\r\n\r\n"), &[400], Closed),
        case("HTTP/1.10", &n(b"GET /1k.txt HTTP/1.10\r\nHost: x\r\n\r\n"), &[400], Closed),
        case("HTTP/10.0", &n(b"GET /1k.txt HTTP/10.0\r\nHost: x\r\n\r\n"), &[400], Closed),
        // Bare LF, anywhere in the head: 400, as httpd's Strict.
        case("bare LF head", &n(b"GET /1k.txt HTTP/1.1\nHost: x\n\n"), &[400], Closed),
        case("bare LF after the request line", &n(b"GET /1k.txt HTTP/1.1\nHost: x\r\n\r\n"), &[400], Closed),
        case("bare LF after a field", &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"), &[400], Closed),
        case("bare LF ending the head", &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\n"), &[400], Closed),
        case("bare LF before the request", &n(b"\nGET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[400], Closed),
        case("CRLF before the request", &n(b"\r\n\r\nGET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        // The HTTP/2 preface on this HTTP/1.1 port.
        case("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[400], Closed),
        case(
            "h2 preface and SETTINGS",
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
            &[400],
            Closed,
        ),
        case("h2 preface, then HTTP/1.1", &n(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), &[400], Closed),
        case(
            "h2c upgrade offer",
            &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n\
                 Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        // Deviation: obs-fold is refused (httpd joins the lines, Content-Length included).
        case("obs-fold", &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nX: 1\r\n 2\r\n\r\n"), &[400], Closed),
        case("obs-fold with a tab", &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nX: 1\r\n\t2\r\n\r\n"), &[400], Closed),
        case("obs-fold in Host", &n(b"GET /1k.txt HTTP/1.1\r\nHost:\r\n x\r\n\r\n"), &[400], Closed),
        case(
            "obs-fold in Content-Length",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 3\r\n\r\nabc"),
            &[400],
            Closed,
        ),
        // Host.
        case("empty Host", &n(b"GET /1k.txt HTTP/1.1\r\nHost:\r\n\r\n"), &[400], Closed),
        case("blank Host", &n(b"GET /1k.txt HTTP/1.1\r\nHost: \r\n\r\n"), &[400], Closed),
        case(
            "empty Host in HTTP/1.0",
            &n(b"GET /1k.txt HTTP/1.0\r\nHost:\r\nConnection: keep-alive\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        case(
            "empty Host, absolute target",
            &n(b"GET http://x/1k.txt HTTP/1.1\r\nHost:\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        case("no Host in HTTP/1.1", &n(b"GET /1k.txt HTTP/1.1\r\n\r\n"), &[400], Closed),
        case(
            "no Host in HTTP/1.0",
            &n(b"GET /1k.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        // Heads of many fields, up to LimitRequestFields x LimitRequestFieldSize.
        case("100 fields", &n(&get_with(&fields(99, 60))), &[200, 200], Open),
        case("64 KiB of 1100-byte fields", &n(&get_with(&fields(60, 1100))), &[200, 200], Open),
        case("8 fields of 8190 bytes", &n(&get_with(&fields(8, 8190))), &[200, 200], Open),
        case("800 KiB: 99 fields of 8190 bytes", &n(&get_with(&fields(99, 8190))), &[200, 200], Open),
        // Over the limits: 431 (httpd: 400), and closed, as httpd closes.
        case("101 fields", &n(&get_with(&fields(100, 20))), &[431], Closed),
        case("a field of 8191 bytes", &n(&get_with(&fields(1, 8191))), &[431], Closed),
        case("1000 fields", &n(&get_with(&fields(1000, 60))), &[431], Closed),
        // Bodies a static file does not read: skipped when they have arrived.
        case(
            "POST with Content-Length",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
            &[200, 200],
            Open,
        ),
        case(
            "POST with Content-Length 0",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        case(
            "POST chunked",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        case(
            "POST chunked, extensions and trailer",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                 5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"),
            &[200, 200],
            Open,
        ),
        case("POST without a length", &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n"), &[200, 200], Open),
        case("POST in HTTP/1.0", b"POST /1k.txt HTTP/1.0\r\n\r\nhello", &[200], Closed),
        case(
            "POST to a missing file",
            &n(b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
            &[404, 200],
            Open,
        ),
        case(
            "POST with Expect: 100-continue, body sent",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello"),
            &[200, 200],
            Open,
        ),
        case(
            "POST chunked with bare LFs",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n"),
            &[400],
            Closed,
        ),
        // Deviations: Content-Length with Transfer-Encoding is refused; a body on GET, or one
        // that has not all arrived, is answered and the connection closed.
        case(
            "Content-Length and chunked",
            &n(b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
                 Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            &[400],
            Closed,
        ),
        case(
            "GET with a body",
            &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
            &[200],
            Closed,
        ),
        case(
            "GET with a chunked body",
            &n(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            &[200],
            Closed,
        ),
        case(
            "POST, body still to come",
            b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
            &[200],
            Closed,
        ),
    ];
    let big: Vec<u8> = [
        &b"POST /1k.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"[..],
        &[b'x'; 100_000],
    ]
    .concat();
    v.push(case("POST of 100 kB", &n(&big), &[200], Closed));
    v
}

/// Whether the server has closed `s` (end of stream or reset) with nothing more to read, within
/// `T`. Bytes that arrive instead are returned as an error.
fn closed(s: &mut std::net::TcpStream) -> Result<(), String> {
    let end = Instant::now() + T;
    let mut buf = [0u8; 4096];
    while Instant::now() < end {
        match s.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => {
                return Err(format!(
                    "{n} more bytes: {:?}",
                    String::from_utf8_lossy(&buf[..n.min(200)])
                ));
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    Err("still open".into())
}

fn check(srv: &Server, c: &Case) {
    let name = c.name;
    let mut s = srv.connect();
    // The server may close (and reset) before a long case is written out; what it answered
    // is still read below.
    let _ = s.write_all(&c.bytes);
    let mut heads = Vec::new();
    for (i, &want) in c.statuses.iter().enumerate() {
        let (head, _) = try_read_response(&mut s).unwrap_or_else(|e| {
            panic!(
                "{name}: response {i} of {:?}: {e}; before: {heads:?}",
                c.statuses
            )
        });
        assert_eq!(status_of(head.as_bytes()), want, "{name}: {head}");
        assert!(head.starts_with("HTTP/1.1 "), "{name}: {head}");
        heads.push(head);
    }
    let first = &heads[0];
    if let Some(allow) = c.allow {
        assert_eq!(header(first, "allow"), Some(allow), "{name}: {first}");
    }
    let last = heads.last().expect("at least one response");
    match c.after {
        After::Open => {
            assert_ne!(header(last, "connection"), Some("close"), "{name}: {last}");
            // Still open: one more request is answered on it.
            s.write_all(b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap_or_else(|e| panic!("{name}: the connection was closed: {e}"));
            let (head, body) =
                try_read_response(&mut s).unwrap_or_else(|e| panic!("{name}: after the case: {e}"));
            assert_eq!(status_of(head.as_bytes()), 200, "{name}: {head}");
            assert_eq!(body.len(), 1024, "{name}");
        }
        After::Closed => {
            assert_eq!(header(last, "connection"), Some("close"), "{name}: {last}");
            closed(&mut s).unwrap_or_else(|e| panic!("{name}: not closed after the answer: {e}"));
        }
    }
}

fn odd_requests_get_httpds_answers(mpm: Mpm) {
    let srv = site(mpm, "odd", "");
    for c in cases() {
        check(&srv, &c);
    }
    // Every connection is gone (lingering closes included): nothing leaked.
    assert!(
        eventually(T, || srv.socket_count() == 1),
        "{} sockets left open",
        srv.socket_count()
    );
}

/// `OPTIONS *` says nothing about any resource: 200, an empty body, no Allow (as httpd).
fn options_asterisk(mpm: Mpm) {
    let srv = site(mpm, "options", "");
    let r = raw(
        &srv,
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&r);
    assert_eq!(status_of(&r), 200, "{text}");
    assert!(text.contains("\r\nContent-Length: 0\r\n"), "{text}");
    assert!(!text.contains("Allow:"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

/// An HTTP/0.9 request is answered with the body alone, no status line or fields, and the
/// connection closes; the bytes after the request line are not read as another request.
fn http09_simple_requests(mpm: Mpm) {
    let srv = site(mpm, "http09", "");
    let r = raw(&srv, b"GET /1k.txt\r\nHost: x\r\n\r\n");
    assert_eq!(r, vec![b'a'; 1024]);
    let r = raw(&srv, b"GET /nope\r\n");
    let text = String::from_utf8_lossy(&r);
    assert!(text.starts_with("<!DOCTYPE HTML"), "{text}");
    assert!(text.contains("<title>404 Not Found</title>"), "{text}");
    let r = raw(&srv, b"GET /\r\n");
    assert_eq!(r, b"<!doctype html><p>hello\n");
    // Logged with the request line as sent (lines are written when a worker goes idle).
    assert!(
        eventually(T, || srv.access_log().contains("\"GET /1k.txt\" 200 1024")),
        "{}",
        srv.access_log()
    );
}

/// `HttpProtocolOptions Require1.0 RegisteredMethods`: 0.9 requests are 400 and unknown methods
/// 501 as soon as the request line is read (before a missing Host is noticed).
fn http_protocol_options(mpm: Mpm) {
    let srv = site(
        mpm,
        "protocol-options",
        "HttpProtocolOptions Require1.0 RegisteredMethods\n",
    );
    let r = raw(&srv, b"GET /1k.txt\r\n");
    assert_eq!(status_of(&r), 400, "{}", String::from_utf8_lossy(&r));
    let r = raw(&srv, b"FOO /1k.txt HTTP/1.1\r\n\r\n");
    let text = String::from_utf8_lossy(&r);
    assert_eq!(status_of(&r), 501, "{text}");
    assert!(text.contains("FOO not supported for current URL"), "{text}");
    assert!(text.contains("Connection: close"), "{text}");
    let r = raw(
        &srv,
        b"PROPFIND /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 405);
    assert!(
        srv.error_log().contains("Rejected HTTP/0.9 request"),
        "{}",
        srv.error_log()
    );
}

under_both_mpms!(
    odd_requests_get_httpds_answers,
    options_asterisk,
    http09_simple_requests,
    http_protocol_options,
);

/// Large heads take memory from a child's budget of ThreadsPerChild largest heads: with one thread, two
/// clients sending 600 kB heads at once cannot both be held. Whichever the server reads last is
/// refused with 503 (and the error log says why), the other is served once it ends its head,
/// and the memory comes back. (Event MPM only: the worker MPM reads at most ThreadsPerChild
/// heads at once, which the budget always covers.)
#[test]
fn large_heads_are_bounded_by_a_budget() {
    // One child (-X): each child has its own budget.
    let scratch = Scratch::new("budget");
    scratch.file("1k.txt", &[b'a'; 1024]);
    let srv = start_with(scratch, "ThreadsPerChild 1\n", &["-X"]);
    let head = [
        &b"GET /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"[..],
        &fields(74, 8190),
    ]
    .concat();
    assert!(head.len() > 600_000, "{}", head.len());
    let mut conns = [srv.connect(), srv.connect()];
    // Both heads but for their final CRLF: neither can end, so each holds its buffer until
    // the server refuses one.
    for c in &mut conns {
        c.write_all(&head).unwrap();
    }
    let end = Instant::now() + T;
    let refused = 'wait: loop {
        if Instant::now() >= end {
            let ss = std::process::Command::new("ss")
                .args(["-tn", "sport", "=", &srv.port.to_string()])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            panic!("neither head was refused\n{ss}\n{}", srv.error_log());
        }
        for (i, c) in conns.iter_mut().enumerate() {
            c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 1];
            match c.peek(&mut b) {
                Ok(_) => break 'wait i,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("connection {i}: {e}"),
            }
        }
    };
    conns[refused].set_read_timeout(Some(T)).unwrap();
    let answer = read_until_close(&mut conns[refused], T);
    assert_eq!(
        status_of(&answer),
        503,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let held = &mut conns[1 - refused];
    held.set_read_timeout(Some(T)).unwrap();
    held.write_all(b"\r\n").unwrap();
    assert_eq!(status_of(&read_until_close(held, T)), 200);
    assert!(
        srv.error_log()
            .contains("no memory left for a large request head"),
        "{}",
        srv.error_log()
    );
    // The memory came back: a large head is served again.
    let mut c = srv.connect();
    c.write_all(&head).unwrap();
    c.write_all(b"\r\n").unwrap();
    assert_eq!(status_of(&read_until_close(&mut c, T)), 200);
}

/// `HttpProtocolOptions Unsafe` is refused at its line: requests are always read strictly.
#[test]
fn http_protocol_options_unsafe_is_refused() {
    let s = Scratch::new("unsafe");
    let conf = s.path().join("unsafe.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot \"{}\"\nListen 127.0.0.1:{}\nDocumentRoot htdocs\nHttpProtocolOptions Strict Unsafe\n",
            s.path().display(),
            free_port()
        ),
    )
    .unwrap();
    let (code, out, err) = run_binary(&["-t", "-f", conf.to_str().unwrap()], s.path());
    assert_ne!(code, Some(0), "{out}{err}");
    assert!(
        err.contains(
            "unsafe.conf:4: HttpProtocolOptions 'Strict' and 'Unsafe' are mutually exclusive"
        ),
        "{err}"
    );
}
