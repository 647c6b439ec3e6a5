//! HTTP/1.1 behaviour of the real binary, driven by curl, Python's http.client and raw sockets:
//! keep-alive reuse, HTTP/1.0 keep-alive, pipelining, HEAD, conditional and range requests,
//! errors, and the document root's boundaries. Every test runs under both MPMs (`name::event`,
//! `name::worker`): the answers are the same code's, whichever thread model carries them.

mod common;

use common::*;
use std::io::Write;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn site(mpm: Mpm, tag: &str, extra: &str) -> Server {
    let s = Scratch::new(&mpm.tag(tag));
    s.file("index.html", b"<!doctype html><p>hello\n");
    s.file("1k.txt", &[b'a'; 1024]);
    s.file("sub/page.html", b"<p>sub\n");
    s.file(
        "big.bin",
        &(0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    );
    std::fs::write(s.path().join("secret.txt"), b"outside the document root").unwrap();
    std::os::unix::fs::symlink(s.path().join("secret.txt"), s.docroot().join("escape.txt"))
        .unwrap();
    std::os::unix::fs::symlink(s.docroot().join("1k.txt"), s.docroot().join("inside.txt")).unwrap();
    start_with(s, &format!("{}{extra}", mpm.directive()), &[])
}

fn curl_reuses_one_connection_for_several_requests(mpm: Mpm) {
    let srv = site(mpm, "reuse", "");
    let (code, out, err) = run_tool(
        "curl",
        &[
            "-sv",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            "-o",
            "/dev/null",
            &srv.url("/1k.txt"),
            &srv.url("/index.html"),
            &srv.url("/sub/page.html"),
        ],
        T,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(err.matches("< HTTP/1.1 200 OK").count(), 3, "{err}");
    assert!(
        err.contains("Re-using existing connection") || err.contains("Reusing existing"),
        "{err}"
    );
    assert_eq!(
        err.matches("Connected to").count(),
        1,
        "one TCP connection: {err}"
    );
    // curl sends no `Connection: keep-alive` over HTTP/1.1; httpd then says nothing of it.
    assert!(!err.contains("< Keep-Alive"), "{err}");
}

fn python_http_client_keep_alive_head_and_etag(mpm: Mpm) {
    let srv = site(mpm, "python", "");
    let script = format!(
        r#"
import http.client
c = http.client.HTTPConnection("127.0.0.1", {port}, timeout=10)
c.request("GET", "/1k.txt"); r = c.getresponse(); body = r.read()
assert r.status == 200 and body == b"a" * 1024, (r.status, len(body))
etag = r.getheader("ETag"); lm = r.getheader("Last-Modified")
assert r.getheader("Content-Type") == "text/plain", r.getheader("Content-Type")
sock = c.sock
c.request("HEAD", "/1k.txt"); r = c.getresponse(); body = r.read()
assert r.status == 200 and body == b"" and r.getheader("Content-Length") == "1024"
c.request("GET", "/1k.txt", headers={{"If-None-Match": etag}}); r = c.getresponse(); r.read()
assert r.status == 304, r.status
c.request("GET", "/1k.txt", headers={{"If-Modified-Since": lm}}); r = c.getresponse(); r.read()
assert r.status == 304, r.status
c.request("GET", "/1k.txt", headers={{"If-Match": '"nope"'}}); r = c.getresponse(); r.read()
assert r.status == 412, r.status
assert c.sock is sock, "the connection was replaced"
print("ok")
"#,
        port = srv.port
    );
    let (code, out, err) = run_tool("python3", &["-c", &script], T);
    assert_eq!((code, out.trim()), (Some(0), "ok"), "{err}");
}

fn http10_keep_alive_only_when_asked(mpm: Mpm) {
    let srv = site(mpm, "http10", "");
    let mut s = srv.connect();
    s.write_all(b"GET /1k.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut s);
    assert_eq!(body.len(), 1024);
    assert!(head.contains("Connection: Keep-Alive"), "{head}");
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
    let rest = read_until_close(&mut s, T);
    assert_eq!(status_of(&rest), 200);
    assert!(String::from_utf8_lossy(&rest).contains("Connection: close"));
    // Without keep-alive, the server closes after the response.
    let r = raw(&srv, b"GET /1k.txt HTTP/1.0\r\n\r\n");
    assert_eq!(status_of(&r), 200);
}

fn pipelined_requests_are_answered_in_order(mpm: Mpm) {
    let srv = site(mpm, "pipeline", "");
    let mut s = srv.connect();
    let mut req = Vec::new();
    for p in ["/1k.txt", "/index.html", "/nope", "/sub/page.html"] {
        req.extend_from_slice(format!("GET {p} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    req.extend_from_slice(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(&req).unwrap();
    let all = String::from_utf8_lossy(&read_until_close(&mut s, T)).into_owned();
    let statuses: Vec<&str> = all
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &all[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "200", "404", "200", "200"], "{all}");
}

fn h2load_pipelining_gets_every_response(mpm: Mpm) {
    let srv = site(mpm, "h2load", "MaxKeepAliveRequests 0");
    let (code, out, err) = run_tool(
        "h2load",
        &["--h1", "-t1", "-c4", "-n4000", "-m8", &srv.url("/1k.txt")],
        Duration::from_secs(60),
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("4000 succeeded, 0 failed"), "{out}");
}

fn ranges(mpm: Mpm) {
    let srv = site(mpm, "range", "");
    let get = |range: &str| {
        let (_, out, _) = run_tool("curl", &["-s", "-i", "-r", range, &srv.url("/big.bin")], T);
        out
    };
    let r = get("100-199");
    assert!(r.starts_with("HTTP/1.1 206"), "{r}");
    assert!(r.contains("Content-Range: bytes 100-199/300000"), "{r}");
    assert!(r.contains("Content-Length: 100"), "{r}");
    let r = get("299990-");
    assert!(
        r.contains("Content-Range: bytes 299990-299999/300000"),
        "{r}"
    );
    let r = raw(
        &srv,
        b"GET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=400000-\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&r);
    assert_eq!(status_of(&r), 416, "{text}");
    assert!(text.contains("Content-Range: bytes */300000"), "{text}");
    // Byte-exact body of a partial response served from the middle of the file.
    let (code, _, _) = run_tool(
        "curl",
        &[
            "-s",
            "-r",
            "1000-250999",
            "-o",
            srv.scratch.path().join("part").to_str().unwrap(),
            &srv.url("/big.bin"),
        ],
        T,
    );
    assert_eq!(code, Some(0));
    let part = std::fs::read(srv.scratch.path().join("part")).unwrap();
    let whole = std::fs::read(srv.scratch.docroot().join("big.bin")).unwrap();
    assert_eq!(part, whole[1000..=250999]);
}

fn large_file_is_byte_exact(mpm: Mpm) {
    let srv = site(mpm, "large", "");
    let out = srv.scratch.path().join("got");
    let (code, _, err) = run_tool(
        "curl",
        &["-s", "-o", out.to_str().unwrap(), &srv.url("/big.bin")],
        T,
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read(out).unwrap(),
        std::fs::read(srv.scratch.docroot().join("big.bin")).unwrap()
    );
}

fn errors_and_methods(mpm: Mpm) {
    let srv = site(
        mpm,
        "errors",
        "<Location /private>\nRequire all denied\n</Location>",
    );
    let status = |req: &[u8]| status_of(&raw(&srv, req));
    assert_eq!(
        status(b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        404
    );
    assert_eq!(
        status(b"GET /private/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        403
    );
    let r = raw(
        &srv,
        b"DELETE /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 405);
    assert!(String::from_utf8_lossy(&r).contains("Allow: GET,HEAD,POST,OPTIONS"));
    let r = raw(
        &srv,
        b"OPTIONS /1k.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 200);
    // A directory without its slash is redirected; with it, its index is served.
    let r = raw(
        &srv,
        b"GET /sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&r), 301);
    // Absolute, from the Host field and the port reached, as httpd's ap_construct_url.
    assert!(
        String::from_utf8_lossy(&r).contains(&format!("Location: http://x:{}/sub/", srv.port)),
        "{}",
        String::from_utf8_lossy(&r)
    );
    std::fs::write(srv.scratch.docroot().join("sub/index.html"), b"idx").unwrap();
    let r = raw(
        &srv,
        b"GET /sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.ends_with(b"idx"), "{}", String::from_utf8_lossy(&r));
    assert_eq!(
        status(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
        400,
        "1.1 without Host"
    );
    // Later versions are answered as 1.1 (RFC 9110 §6.2), as httpd answers them.
    assert_eq!(
        status(b"GET / HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n"),
        200
    );
}

fn no_escape_from_the_document_root(mpm: Mpm) {
    let srv = site(mpm, "escape", "");
    let status = |path: &str| {
        status_of(&raw(
            &srv,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        ))
    };
    assert_eq!(status("/../secret.txt"), 400);
    assert_eq!(status("/sub/../../secret.txt"), 400);
    assert_eq!(status("/%2e%2e/secret.txt"), 400);
    assert_eq!(
        status("/sub%2f..%2f..%2fsecret.txt"),
        404,
        "encoded slashes refused"
    );
    assert_eq!(status("/escape.txt"), 403, "a symlink out of the root");
    assert_eq!(status("/inside.txt"), 200, "a symlink within the root");
    let r = raw(
        &srv,
        b"GET /../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(!String::from_utf8_lossy(&r).contains("outside the document root"));
}

fn access_log_records_requests(mpm: Mpm) {
    let srv = site(mpm, "accesslog", "");
    let _ = raw(
        &srv,
        b"GET /1k.txt?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let _ = raw(
        &srv,
        b"GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // Workers write their buffered lines within a second or so.
    assert!(eventually(Duration::from_secs(5), || srv
        .access_log()
        .lines()
        .count()
        >= 2));
    let log = srv.access_log();
    assert!(
        log.contains("\"GET /1k.txt?x=1 HTTP/1.1\" 200 1024"),
        "{log}"
    );
    assert!(log.contains("\"GET /missing HTTP/1.1\" 404 "), "{log}");
}

/// BufferedLogs On (the default): a line waits about a second at most for its write, also when
/// nothing else happens — the thread that logged it waiting for work (event) or on the
/// kept-alive connection (worker MPM), no request ending, no thread exiting.
fn buffered_log_lines_reach_the_file_on_an_idle_server(mpm: Mpm) {
    let srv = site(mpm, "logsoon", "KeepAliveTimeout 30\n");
    let mut c = srv.connect();
    c.write_all(b"GET /1k.txt?held HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (head, _) = read_response(&mut c);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        eventually(Duration::from_secs(3), || srv
            .access_log()
            .contains("\"GET /1k.txt?held HTTP/1.1\" 200 1024")),
        "not written within 3 s: {:?}",
        srv.access_log()
    );
    drop(c);
}

/// Buffered lines are written when the server stops, however young: gracefully (the threads
/// write theirs as they exit) and at once (the child writes what its threads hold).
fn buffered_log_lines_are_written_at_stop(mpm: Mpm) {
    for (tag, sig) in [("logwinch", "WINCH"), ("logterm", "TERM")] {
        let mut srv = site(mpm, tag, "");
        for i in 0..5 {
            let r = raw(
                &srv,
                format!("GET /1k.txt?{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            );
            assert_eq!(status_of(&r), 200);
        }
        signal_named(srv.pid(), sig);
        assert!(
            wait_exit(&mut srv.child, T).is_some(),
            "SIG{sig}: no exit within {T:?}"
        );
        let log = srv.access_log();
        for i in 0..5 {
            assert!(
                log.contains(&format!("\"GET /1k.txt?{i} HTTP/1.1\" 200 1024")),
                "SIG{sig}: line {i} missing:\n{log}"
            );
        }
    }
}

under_both_mpms!(
    curl_reuses_one_connection_for_several_requests,
    python_http_client_keep_alive_head_and_etag,
    http10_keep_alive_only_when_asked,
    pipelined_requests_are_answered_in_order,
    h2load_pipelining_gets_every_response,
    ranges,
    large_file_is_byte_exact,
    errors_and_methods,
    no_escape_from_the_document_root,
    access_log_records_requests,
    buffered_log_lines_reach_the_file_on_an_idle_server,
    buffered_log_lines_are_written_at_stop,
);
