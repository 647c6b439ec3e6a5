//! CGI end to end: scripts written by the tests into a scratch `cgi-bin` (and the document
//! root), run by the real binary over loopback — the RFC 3875 environment, request bodies in
//! both framings, streaming, Status/Location, ExecCGI, and the lifetime rules (Timeout, a client
//! that leaves, crashes, no zombies, the process group killed, workers held in the event MPM),
//! and the same scripts under the worker MPM.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// The Python interpreter for scripts: Debian's, not a user's shim (scripts get a minimal PATH
/// and run as the children's user).
fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        return "/usr/bin/python3".into();
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("python3"))
                .find(|c| c.exists())
        })
        .map(|p| p.display().to_string())
        .expect("python3 (ci/install provides it)")
}

/// Write an executable script.
fn script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Where scripts leave their pids: `<scratch>/run`, writable by the children's user.
fn run_dir(s: &Scratch) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = s.path().join("run");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

const PIDFILE: &str = r#"echo $$ > "$CONTEXT_DOCUMENT_ROOT/../run/${QUERY_STRING:-pid}.pid""#;

/// The scripts of `<scratch>/cgi-bin`.
fn cgi_bin(s: &Scratch) {
    let bin = s.path().join("cgi-bin");
    run_dir(s);
    let py = python();
    script(
        &bin.join("env.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv\n",
    );
    script(
        &bin.join("id.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s\\n' \"$(id -u)\"\n",
    );
    // Streams its input back as it reads it, with the request's length when there is one.
    script(
        &bin.join("echo.cgi"),
        "#!/bin/sh\nif [ -n \"$CONTENT_LENGTH\" ]; then\n  printf 'Content-Type: application/octet-stream\\nContent-Length: %s\\n\\n' \"$CONTENT_LENGTH\"\nelse\n  printf 'Content-Type: application/octet-stream\\n\\n'\nfi\nexec cat\n",
    );
    // Reads all of its input first, then answers.
    script(
        &bin.join("echo.py"),
        &format!(
            "#!{py}\nimport sys\nd = sys.stdin.buffer.read()\nsys.stdout.buffer.write(b'Content-Type: application/octet-stream\\r\\n\\r\\n' + d)\n"
        ),
    );
    script(
        &bin.join("slow.cgi"),
        &format!(
            "#!/bin/sh\n{PIDFILE}\nprintf 'Content-Type: text/plain\\n\\n'\ni=0\nwhile [ $i -lt 30 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.1; done\n"
        ),
    );
    script(
        &bin.join("slower.cgi"),
        &format!(
            "#!/bin/sh\n{PIDFILE}\nprintf 'Content-Type: text/plain\\n\\n'\ni=0\nwhile [ $i -lt 60 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.1; done\n"
        ),
    );
    // Never answers; a child of its own keeps the group populated.
    script(
        &bin.join("hang.cgi"),
        &format!("#!/bin/sh\n{PIDFILE}\nsleep 300 &\nwait\n"),
    );
    // Answers a first line, then never more.
    script(
        &bin.join("stall.cgi"),
        &format!(
            "#!/bin/sh\n{PIDFILE}\nprintf 'Content-Type: text/plain\\n\\nfirst line\\n'\nexec sleep 300\n"
        ),
    );
    script(
        &bin.join("exit1.cgi"),
        "#!/bin/sh\necho 'the database is on fire' >&2\nexit 1\n",
    );
    script(
        &bin.join("segv.cgi"),
        "#!/bin/sh\necho 'about to crash' >&2\nkill -SEGV $$\n",
    );
    script(
        &bin.join("bad.cgi"),
        "#!/bin/sh\necho 'this is not a header'\necho\n",
    );
    script(&bin.join("nointerp.cgi"), "#!/nonexistent/interpreter\n");
    std::fs::write(bin.join("noexec.cgi"), "#!/bin/sh\necho\n").unwrap();
    script(
        &bin.join("status.cgi"),
        "#!/bin/sh\nprintf 'Status: 404 Gone Fishing\\nContent-Type: text/plain\\nX-Thing: 1\\nSet-Cookie: a=1\\nSet-Cookie: b=2\\n\\nnot here\\n'\n",
    );
    script(
        &bin.join("moved.cgi"),
        "#!/bin/sh\nprintf 'Status: 301 Moved\\nLocation: /elsewhere\\nContent-Type: text/plain\\n\\nscript body\\n'\n",
    );
    script(
        &bin.join("local.cgi"),
        "#!/bin/sh\nprintf 'Location: /static.txt\\n\\nthis body is dropped\\n'\n",
    );
    script(
        &bin.join("tocgi.cgi"),
        "#!/bin/sh\nprintf 'Location: /cgi-bin/env.cgi/more?via=redirect\\n\\n'\n",
    );
    script(
        &bin.join("away.cgi"),
        "#!/bin/sh\nprintf 'Location: http://example.org/elsewhere\\n\\n'\n",
    );
    script(
        &bin.join("loop.cgi"),
        "#!/bin/sh\nprintf 'Location: /cgi-bin/loop.cgi\\n\\n'\n",
    );
    s.file("static.txt", b"static content\n");
}

/// A server with `ScriptAlias /cgi-bin/` and `extra` directives.
fn cgi_server(tag: &str, extra: &str, args: &[&str]) -> Server {
    let s = Scratch::new(tag);
    cgi_bin(&s);
    let directives = format!(
        "ScriptAlias /cgi-bin/ \"{}/cgi-bin/\"\nKeepAliveTimeout 5\n{extra}\n",
        s.path().display()
    );
    start_with(s, &directives, args)
}

/// A parsed response: status, head, body (de-chunked), and whether a chunked body was complete.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
    complete: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Decode a chunked body; `(data, saw the last chunk)`.
fn dechunk(mut b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap().trim(), 16).ok());
        let Some(size) = size else {
            return (out, false);
        };
        b = &b[eol + 2..];
        if size == 0 {
            return (out, b.starts_with(b"\r\n"));
        }
        if b.len() < size + 2 {
            out.extend_from_slice(&b[..b.len().min(size)]);
            return (out, false);
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// Split raw response bytes (read until the server closed).
fn parse(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end + 4]).into_owned();
    let rest = &raw[end + 4..];
    let (body, complete) = if header(&head, "transfer-encoding") == Some("chunked") {
        dechunk(rest)
    } else if let Some(n) = header(&head, "content-length") {
        let n: usize = n.parse().unwrap();
        (rest[..rest.len().min(n)].to_vec(), rest.len() >= n)
    } else {
        (rest.to_vec(), true)
    };
    Response {
        status: status_of(raw),
        head,
        body,
        complete,
    }
}

/// One request on its own connection (the request should say `Connection: close`).
fn fetch(srv: &Server, request: &[u8]) -> Response {
    parse(&raw(srv, request))
}

fn get(srv: &Server, path: &str) -> Response {
    fetch(
        srv,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// `K=V` lines of an `env` dump.
fn env_map(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn var<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// (state, ppid, pgid) of a process from /proc.
fn proc_stat(pid: u32) -> Option<(String, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f[0].to_string(), f[1].parse().ok()?, f[2].parse().ok()?))
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Processes of process group `pgid` that are still running (zombies an init that never reaps
/// leaves behind do not count: they run nothing).
fn live_in_group(pgid: u32) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|&p| proc_stat(p).is_some_and(|(st, _, g)| g == pgid && st != "Z"))
        .collect()
}

/// Zombie children of the server's processes (unreaped scripts).
fn zombie_children(srv: &Server) -> Vec<u32> {
    let mut parents = serving_pids(srv.pid());
    parents.push(srv.pid());
    all_pids()
        .into_iter()
        .filter(|&p| proc_stat(p).is_some_and(|(st, pp, _)| st == "Z" && parents.contains(&pp)))
        .collect()
}

fn assert_no_zombies(srv: &Server) {
    assert!(
        eventually(Duration::from_secs(5), || zombie_children(srv).is_empty()),
        "zombie children of the server: {:?}",
        zombie_children(srv)
    );
}

/// The pid a script wrote to `<scratch>/run/<tag>.pid`, once it has.
fn script_pid(srv: &Server, tag: &str) -> u32 {
    let f = srv.scratch.path().join(format!("run/{tag}.pid"));
    let mut pid = None;
    assert!(
        eventually(T, || {
            pid = std::fs::read_to_string(&f)
                .ok()
                .and_then(|t| t.trim().parse().ok());
            pid.is_some()
        }),
        "{} never appeared",
        f.display()
    );
    pid.unwrap()
}

/// Deterministic pseudo-random bytes.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// Send `head` and `body` while reading the response on another thread (a script that streams
/// its input back would otherwise fill both directions' buffers).
fn upload(srv: &Server, head: &[u8], body: Vec<u8>, chunked: bool) -> Response {
    let mut s = srv.connect();
    s.set_read_timeout(Some(T)).unwrap();
    let mut w = s.try_clone().unwrap();
    let head = head.to_vec();
    let writer = std::thread::spawn(move || {
        w.write_all(&head)?;
        if chunked {
            let mut at = 0;
            let mut size = 1usize;
            while at < body.len() {
                let n = size.min(body.len() - at);
                w.write_all(format!("{n:x}\r\n").as_bytes())?;
                w.write_all(&body[at..at + n])?;
                w.write_all(b"\r\n")?;
                at += n;
                size = (size * 7 + 13) % 70_000 + 1;
            }
            w.write_all(b"0\r\n\r\n")?;
        } else {
            w.write_all(&body)?;
        }
        Ok::<_, std::io::Error>(())
    });
    let raw = read_until_close(&mut s, T);
    writer.join().unwrap().unwrap();
    parse(&raw)
}

// ---------------------------------------------------------------------------------------------

#[test]
fn the_environment_follows_rfc3875() {
    let srv = cgi_server("env", "", &[]);
    let root = srv.scratch.path().canonicalize().unwrap();
    let mut s = srv.connect();
    let local_port = s.local_addr().unwrap().port();
    let port = srv.port;
    s.write_all(
        format!(
            "POST /cgi-bin/env.cgi/extra/path?x=1&y=%41 HTTP/1.1\r\nHost: localhost:{port}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\
             X-Custom-Header: a\r\nX-Custom-Header: b\r\nX_Spoofed: no\r\n\
             Authorization: Basic Zm9vOmJhcg==\r\nProxy-Authorization: Basic eDp5\r\n\
             Proxy: http://attacker.example:3128/\r\nCookie: c=1\r\nConnection: close\r\n\r\nabc"
        )
        .as_bytes(),
    )
    .unwrap();
    let r = parse(&read_until_close(&mut s, T));
    assert_eq!(r.status, 200, "{r:?}\n{}", srv.error_log());
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let env = env_map(&r.text());
    let cgi_bin = format!("{}/cgi-bin", root.display());
    let docroot = format!("{}/htdocs", root.display());
    let want = [
        ("GATEWAY_INTERFACE", "CGI/1.1".to_string()),
        ("SERVER_NAME", "localhost".into()),
        ("SERVER_PORT", port.to_string()),
        ("SERVER_ADDR", "127.0.0.1".into()),
        ("SERVER_PROTOCOL", "HTTP/1.1".into()),
        ("REQUEST_METHOD", "POST".into()),
        (
            "REQUEST_URI",
            "/cgi-bin/env.cgi/extra/path?x=1&y=%41".into(),
        ),
        ("REQUEST_SCHEME", "http".into()),
        ("SCRIPT_NAME", "/cgi-bin/env.cgi".into()),
        ("SCRIPT_FILENAME", format!("{cgi_bin}/env.cgi")),
        ("PATH_INFO", "/extra/path".into()),
        ("PATH_TRANSLATED", format!("{docroot}/extra/path")),
        ("QUERY_STRING", "x=1&y=%41".into()),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded".into()),
        ("CONTENT_LENGTH", "3".into()),
        ("REMOTE_ADDR", "127.0.0.1".into()),
        ("REMOTE_PORT", local_port.to_string()),
        ("DOCUMENT_ROOT", docroot.clone()),
        ("CONTEXT_PREFIX", "/cgi-bin/".into()),
        ("CONTEXT_DOCUMENT_ROOT", format!("{cgi_bin}/")),
        ("HTTP_HOST", format!("localhost:{port}")),
        ("HTTP_X_CUSTOM_HEADER", "a, b".into()),
        ("HTTP_COOKIE", "c=1".into()),
        ("HTTP_CONNECTION", "close".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        // The script runs in its own directory.
        ("PWD", cgi_bin.clone()),
    ];
    for (k, v) in &want {
        assert_eq!(var(&env, k), Some(v.as_str()), "{k} in\n{}", r.text());
    }
    assert!(
        var(&env, "SERVER_SOFTWARE").is_some_and(|v| v.starts_with("eventmpm/")),
        "{env:?}"
    );
    for absent in [
        "HTTP_AUTHORIZATION",
        "HTTP_PROXY_AUTHORIZATION",
        "HTTP_PROXY",
        "HTTP_CONTENT_TYPE",
        "HTTP_CONTENT_LENGTH",
        "HTTP_X_SPOOFED",
        // Nothing of the server's own environment leaks through.
        "HOME",
        "CARGO_MANIFEST_DIR",
        "RUST_TEST_THREADS",
    ] {
        assert_eq!(var(&env, absent), None, "{absent} in\n{}", r.text());
    }
    // An HTTP/1.0 request without Host: the ServerName and the port connected to; an empty
    // QUERY_STRING is still there.
    let r = fetch(&srv, b"GET /cgi-bin/env.cgi HTTP/1.0\r\n\r\n");
    let env = env_map(&r.text());
    assert_eq!(var(&env, "SERVER_NAME"), Some("localhost"));
    assert_eq!(var(&env, "SERVER_PORT"), Some(port.to_string().as_str()));
    assert_eq!(var(&env, "SERVER_PROTOCOL"), Some("HTTP/1.0"));
    assert_eq!(var(&env, "QUERY_STRING"), Some(""));
    assert_eq!(var(&env, "PATH_INFO"), None);
    assert_eq!(var(&env, "PATH_TRANSLATED"), None);
    // A chunked body reaches the script de-chunked, without CONTENT_LENGTH (httpd's way).
    let r = fetch(
        &srv,
        b"POST /cgi-bin/env.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    let env = env_map(&r.text());
    assert_eq!(var(&env, "CONTENT_LENGTH"), None, "{}", r.text());
    assert_eq!(var(&env, "HTTP_TRANSFER_ENCODING"), Some("chunked"));
    // Scripts run as the children's user: started as root, not root.
    let uid = get(&srv, "/cgi-bin/id.cgi").text().trim().to_string();
    let server_uid = proc_status_of(srv.pid(), "Uid");
    if server_uid == 0 {
        assert!(
            !uid.is_empty() && uid != "0",
            "a script ran as root ({uid:?})"
        );
    } else {
        assert_eq!(uid, server_uid.to_string());
    }
    assert_no_zombies(&srv);
}

#[test]
fn ten_megabyte_posts_are_echoed_byte_exact() {
    let srv = cgi_server("echo", "", &[]);
    let data = noise(10 << 20, 0x9e37_79b9_7f4a_7c15);
    let cl = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            data.len()
        )
    };
    // Content-Length in, the script's Content-Length out, streamed through `cat`.
    let r = upload(
        &srv,
        cl("/cgi-bin/echo.cgi").as_bytes(),
        data.clone(),
        false,
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("content-length"), Some("10485760"));
    assert!(
        r.body == data,
        "Content-Length echo differs ({} bytes)",
        r.body.len()
    );
    // Chunked in (odd chunk sizes), chunked out: no length anywhere.
    let r = upload(
        &srv,
        b"POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        data.clone(),
        true,
    );
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert!(r.complete, "the last chunk arrived");
    assert!(
        r.body == data,
        "chunked echo differs ({} bytes)",
        r.body.len()
    );
    // A Python script that reads everything before it answers.
    let r = upload(&srv, cl("/cgi-bin/echo.py").as_bytes(), data.clone(), false);
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(
        r.body == data,
        "python echo differs ({} bytes)",
        r.body.len()
    );
    // The access log counts the body bytes sent.
    assert!(
        eventually(T, || srv
            .access_log()
            .contains("\"POST /cgi-bin/echo.py HTTP/1.1\" 200 10485760")),
        "{}",
        srv.access_log()
    );
    assert_no_zombies(&srv);
}

#[test]
fn expect_continue_keep_alive_and_limit_request_body() {
    let srv = cgi_server("expect", "LimitRequestBody 10000", &[]);
    let mut s = srv.connect();
    s.write_all(
        b"POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
          Expect: 100-continue\r\nConnection: keep-alive\r\n\r\n",
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello").unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "transfer-encoding"),
        Some("chunked"),
        "{head}"
    );
    assert!(header(&head, "keep-alive").is_some(), "{head}");
    let mut body = Vec::new();
    while !body.ends_with(b"0\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        body.push(b[0]);
    }
    assert_eq!(dechunk(&body), (b"hello".to_vec(), true));
    // The same connection serves the next request.
    s.write_all(b"GET /static.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut s);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"static content\n");
    // A chunked body beyond LimitRequestBody: 413 (the script reads everything first).
    let r = upload(
        &srv,
        b"POST /cgi-bin/echo.py HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
        vec![b'x'; 20_000],
        true,
    );
    assert_eq!(r.status, 413, "{}", r.head);
    // HEAD runs the script but sends no body.
    let mut s = srv.connect();
    s.write_all(b"HEAD /cgi-bin/env.cgi HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header(&head, "content-type"), Some("text/plain"));
    s.write_all(b"GET /static.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let (head, body) = read_response(&mut s);
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "no body after the HEAD response: {head}"
    );
    assert_eq!(body, b"static content\n");
    assert_no_zombies(&srv);
}

#[test]
fn a_slow_script_streams_and_holds_one_worker_while_static_traffic_flows() {
    let srv = cgi_server("slow", "", &[]);
    let (tx, rx) = mpsc::channel();
    let addr = srv.addr();
    let reader = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        s.write_all(
            b"GET /cgi-bin/slow.cgi?slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        let mut first = None;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if first.is_none() && raw.windows(6).any(|w| w == b"line 0") {
                first = Some(Instant::now());
                tx.send(()).unwrap();
            }
        }
        (raw, first, Instant::now())
    });
    rx.recv_timeout(T)
        .expect("the first line arrives while the script runs");
    // The script's worker shows W on server-status, with its request.
    let status = get(&srv, "/server-status?json");
    let page = status.text();
    let threads: Vec<&str> = page.split("{\"slot\"").collect();
    let cgi = threads
        .iter()
        .find(|t| t.contains("\"request\":\"GET /cgi-bin/slow.cgi?slow HTTP/1.1\""))
        .unwrap_or_else(|| panic!("no worker on the script: {page}"));
    assert!(cgi.contains("\"status\":\"W\""), "{cgi}");
    // Meanwhile other requests are answered.
    for i in 0..20 {
        let r = get(&srv, "/static.txt");
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "static content\n"),
            "request {i}"
        );
    }
    let static_done = Instant::now();
    let (raw, first, end) = reader.join().unwrap();
    let r = parse(&raw);
    assert_eq!(r.status, 200);
    assert!(r.complete);
    let want: String = (0..30).map(|i| format!("line {i}\n")).collect();
    assert_eq!(r.text(), want);
    // Streamed, not buffered: the first line came (at least) ~2.9 s before the end; the
    // static requests were all answered before the script finished.
    let first = first.unwrap();
    assert!(
        end - first >= Duration::from_millis(2500),
        "{:?}",
        end - first
    );
    assert!(static_done < end, "static traffic waited for the script");
    assert!(live_in_group(script_pid(&srv, "slow")).is_empty());
    assert_no_zombies(&srv);
}

#[test]
fn a_hanging_script_is_killed_at_timeout_with_its_group() {
    let srv = cgi_server("hang", "Timeout 2", &[]);
    // No header block within Timeout: 504, as httpd answers, and the script and its child
    // are gone.
    let t0 = Instant::now();
    let r = get(&srv, "/cgi-bin/hang.cgi?hang");
    let took = t0.elapsed();
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        took >= Duration::from_millis(1900),
        "answered after {took:?}"
    );
    let pgid = script_pid(&srv, "hang");
    assert!(
        eventually(Duration::from_secs(5), || live_in_group(pgid).is_empty()),
        "group {pgid} still running: {:?}",
        live_in_group(pgid)
    );
    let log = srv.error_log();
    assert!(
        log.contains("AH01220: Timeout waiting for output from CGI script")
            && log.contains("Script timed out before returning headers: hang.cgi"),
        "{log}"
    );
    // Output that stops after the head: the response is cut off (no last chunk) and the
    // connection closed.
    let t0 = Instant::now();
    let r = get(&srv, "/cgi-bin/stall.cgi?stall");
    assert!(t0.elapsed() >= Duration::from_millis(1900));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "first line\n");
    assert!(!r.complete, "a truncated response must not look complete");
    let pgid = script_pid(&srv, "stall");
    assert!(eventually(Duration::from_secs(5), || live_in_group(pgid).is_empty()));
    assert_no_zombies(&srv);
}

#[test]
fn failing_scripts_answer_500_and_the_log_says_why() {
    let srv = cgi_server("crash", "", &[]);
    for (path, status, logged) in [
        (
            "/cgi-bin/exit1.cgi",
            500,
            &[
                "AH01215: the database is on fire: ",
                "End of script output before headers: exit1.cgi",
                "exit1.cgi exited with status 1",
            ][..],
        ),
        (
            "/cgi-bin/segv.cgi",
            500,
            &[
                "AH01215: about to crash: ",
                "End of script output before headers: segv.cgi",
                "segv.cgi terminated by signal 11",
            ][..],
        ),
        (
            "/cgi-bin/bad.cgi",
            500,
            &["malformed header from script 'bad.cgi': Bad header: this is not a header"][..],
        ),
        (
            "/cgi-bin/nointerp.cgi",
            500,
            &["AH01215: (2)", "exec of '", "nointerp.cgi' failed"][..],
        ),
        (
            "/cgi-bin/noexec.cgi",
            403,
            &["file permissions deny server execution"][..],
        ),
        (
            "/cgi-bin/missing.cgi",
            404,
            &["script not found or unable to stat"][..],
        ),
        (
            "/cgi-bin/",
            403,
            &["attempt to invoke directory as script"][..],
        ),
    ] {
        let r = get(&srv, path);
        assert_eq!(r.status, status, "{path}: {r:?}");
        assert!(
            eventually(Duration::from_secs(5), || {
                let log = srv.error_log();
                logged.iter().all(|l| log.contains(l))
            }),
            "{path}: {logged:?} not in\n{}",
            srv.error_log()
        );
    }
    // The server is fine afterwards.
    assert_eq!(get(&srv, "/static.txt").status, 200);
    assert_no_zombies(&srv);
}

#[test]
fn a_client_that_leaves_mid_response_gets_its_script_killed() {
    let srv = cgi_server("leave", "", &[]);
    let mut s = srv.connect();
    s.write_all(b"GET /cgi-bin/slower.cgi?leave HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(6).any(|w| w == b"line 2") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the script's output ended early");
        got.extend_from_slice(&buf[..n]);
    }
    let pgid = script_pid(&srv, "leave");
    assert!(
        !live_in_group(pgid).is_empty(),
        "still running while the client reads"
    );
    drop(s);
    // Well before the script's own end (6 s) and any Timeout, it is gone.
    assert!(
        eventually(Duration::from_secs(3), || live_in_group(pgid).is_empty()),
        "script {pgid} still runs after its client left"
    );
    assert!(
        eventually(Duration::from_secs(3), || srv
            .error_log()
            .contains("client closed the connection; stopping CGI script")),
        "{}",
        srv.error_log()
    );
    assert_no_zombies(&srv);
}

#[test]
fn many_scripts_at_once_leave_no_zombies() {
    let srv = cgi_server("zombies", "", &[]);
    let addr = srv.addr();
    let paths = [
        "/cgi-bin/env.cgi",
        "/cgi-bin/exit1.cgi",
        "/cgi-bin/segv.cgi",
        "/cgi-bin/bad.cgi",
        "/cgi-bin/local.cgi",
        "/cgi-bin/status.cgi",
    ];
    let clients: Vec<_> = (0..24)
        .map(|i| {
            let path = paths[i % paths.len()];
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(T)).unwrap();
                s.write_all(
                    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                )
                .unwrap();
                // Every other client leaves without reading.
                if i % 2 == 0 {
                    let raw = read_until_close(&mut s, T);
                    assert!(status_of(&raw) > 0, "{path}: no response");
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(get(&srv, "/static.txt").status, 200);
    assert_no_zombies(&srv);
}

#[test]
fn status_and_location_from_scripts() {
    let srv = cgi_server("status", "", &[]);
    // Status with its own reason phrase and body, repeated fields kept.
    let r = get(&srv, "/cgi-bin/status.cgi");
    assert!(
        r.head.starts_with("HTTP/1.1 404 Gone Fishing\r\n"),
        "{}",
        r.head
    );
    assert_eq!(r.text(), "not here\n");
    assert_eq!(r.header("x-thing"), Some("1"));
    assert_eq!(r.head.matches("Set-Cookie: ").count(), 2, "{}", r.head);
    // A Status with a Location is sent as the script wrote it.
    let r = get(&srv, "/cgi-bin/moved.cgi");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/elsewhere"));
    assert_eq!(r.text(), "script body\n");
    // A local Location without Status: the server serves that URL instead.
    let r = get(&srv, "/cgi-bin/local.cgi");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "static content\n"),
        "{r:?}"
    );
    assert_eq!(r.header("location"), None);
    // …even a script, which then sees a GET and where it was redirected from.
    let r = fetch(
        &srv,
        b"POST /cgi-bin/tocgi.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab",
    );
    assert_eq!(r.status, 200, "{r:?}");
    let env = env_map(&r.text());
    assert_eq!(var(&env, "REQUEST_METHOD"), Some("GET"));
    assert_eq!(var(&env, "QUERY_STRING"), Some("via=redirect"));
    assert_eq!(var(&env, "PATH_INFO"), Some("/more"));
    assert_eq!(var(&env, "REDIRECT_URL"), Some("/cgi-bin/tocgi.cgi"));
    assert_eq!(var(&env, "CONTENT_LENGTH"), None);
    // A body the redirecting script left unread must not be taken for the next request on
    // a kept-alive connection: the connection closes after the answer.
    let mut s = srv.connect();
    s.write_all(
        b"POST /cgi-bin/local.cgi HTTP/1.1\r\nHost: localhost\r\nContent-Length: 42\r\n\r\n\
          GET /cgi-bin/env.cgi HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .unwrap();
    let raw = read_until_close(&mut s, T);
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert!(
        text.contains("Connection: close") && text.ends_with("static content\n"),
        "{text}"
    );
    // An absolute URL: a 302 to the client.
    let r = get(&srv, "/cgi-bin/away.cgi");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://example.org/elsewhere"));
    // A script that redirects to itself: 500 after httpd's 10 internal redirects.
    let r = get(&srv, "/cgi-bin/loop.cgi");
    assert_eq!(r.status, 500);
    assert!(srv.error_log().contains("AH00124"), "{}", srv.error_log());
    assert_no_zombies(&srv);
}

#[test]
fn addhandler_needs_execcgi_and_scriptalias_does_not() {
    let s = Scratch::new("execcgi");
    cgi_bin(&s);
    let hello = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello %s %s\\n' \"$SCRIPT_NAME\" \"$PATH_INFO\"\n";
    let docroot = s.docroot();
    script(&docroot.join("app/hello.cgi"), hello);
    script(&docroot.join("app/hello.cgi.txt"), hello);
    script(&docroot.join("app/plain/hello.cgi"), hello);
    script(&docroot.join("app/tool.sh"), hello);
    script(&docroot.join("app/special.txt"), hello);
    script(&docroot.join("handled/lifted/run.sh"), hello);
    script(&docroot.join("handled/lifted/run2.cgi"), hello);
    script(&docroot.join("app/viaurl/hello.cgi"), hello);
    s.file("app/readme.txt", b"plain file\n");
    script(&docroot.join("noexec/hello.cgi"), hello);
    script(&docroot.join("handled/run.sh"), hello);
    script(&docroot.join("loc/run.sh"), hello);
    let d = docroot.display();
    let directives = format!(
        "ScriptAlias /cgi-bin/ \"{root}/cgi-bin/\"\nAddHandler cgi-script .cgi\n\
         <Directory \"{d}/app\">\n  Options +ExecCGI\n</Directory>\n\
         <Directory \"{d}/app/plain\">\n  RemoveHandler .CGI\n</Directory>\n\
         <Directory \"{d}/handled\">\n  Options ExecCGI\n  SetHandler cgi-script\n</Directory>\n\
         <Directory \"{d}/loc\">\n  Options +ExecCGI\n</Directory>\n\
         <Location /loc>\n  SetHandler cgi-script\n</Location>\n\
         <Files \"*.sh\">\n  SetHandler cgi-script\n</Files>\n\
         <Files \"special.txt\">\n  AddHandler cgi-script .txt\n</Files>\n\
         <Location /app/viaurl>\n  RemoveHandler .cgi\n</Location>\n\
         <Location /handled/lifted>\n  SetHandler None\n</Location>\n",
        root = s.path().display()
    );
    let srv = start_with(s, &directives, &[]);
    let r = get(&srv, "/app/hello.cgi/tail");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "hello /app/hello.cgi /tail\n"),
        "{r:?}\n{}",
        srv.error_log()
    );
    // Only the last extension counts: this one is a text file.
    let r = get(&srv, "/app/hello.cgi.txt");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), hello);
    assert_eq!(get(&srv, "/app/readme.txt").text(), "plain file\n");
    // SetHandler in <Files>: its names run where ExecCGI is on.
    assert_eq!(get(&srv, "/app/tool.sh").text(), "hello /app/tool.sh \n");
    // SetHandler None in a <Location> lifts the <Directory>'s and the <Files>' SetHandler:
    // the extension decides.
    let r = get(&srv, "/handled/lifted/run.sh");
    assert_eq!((r.status, r.text().as_str()), (200, hello));
    assert_eq!(
        get(&srv, "/handled/lifted/run2.cgi").text(),
        "hello /handled/lifted/run2.cgi \n"
    );
    // AddHandler in <Files>, RemoveHandler in <Location>.
    assert_eq!(
        get(&srv, "/app/special.txt").text(),
        "hello /app/special.txt \n"
    );
    assert_eq!(get(&srv, "/app/readme.txt").text(), "plain file\n");
    let r = get(&srv, "/app/viaurl/hello.cgi");
    assert_eq!((r.status, r.text().as_str()), (200, hello));
    // RemoveHandler in a deeper section: the script is a file there.
    let r = get(&srv, "/app/plain/hello.cgi");
    assert_eq!((r.status, r.text().as_str()), (200, hello));
    // Without ExecCGI: 403 and httpd's reason.
    let r = get(&srv, "/noexec/hello.cgi");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(
        srv.error_log()
            .contains("Options ExecCGI is off in this directory"),
        "{}",
        srv.error_log()
    );
    // SetHandler in a Directory and in a Location run any file.
    assert_eq!(
        get(&srv, "/handled/run.sh").text(),
        "hello /handled/run.sh \n"
    );
    assert_eq!(get(&srv, "/loc/run.sh").text(), "hello /loc/run.sh \n");
    // ScriptAlias runs without ExecCGI.
    assert_eq!(get(&srv, "/cgi-bin/env.cgi").status, 200);
    // OPTIONS on a script lists what scripts take.
    let r = fetch(
        &srv,
        b"OPTIONS /app/hello.cgi HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST, OPTIONS"));
    assert_no_zombies(&srv);
}

#[test]
fn with_every_worker_held_by_scripts_idle_keep_alive_connections_are_closed() {
    // One child (-X) with two workers; KeepAliveTimeout far beyond the test.
    let srv = cgi_server("cgika", "ThreadsPerChild 2\nKeepAliveTimeout 30", &["-X"]);
    let keep_alive = |srv: &Server| {
        let mut s = srv.connect();
        s.write_all(
            b"GET /static.txt HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n",
        )
        .unwrap();
        let (head, _) = read_response(&mut s);
        assert!(head.contains("Keep-Alive"), "{head}");
        s
    };
    let mut victim = keep_alive(&srv);
    let mut third = keep_alive(&srv);
    // Two slow scripts take both workers.
    let mut scripts = Vec::new();
    for tag in ["ka1", "ka2"] {
        let mut s = srv.connect();
        s.write_all(
            format!("GET /cgi-bin/slower.cgi?{tag} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.windows(6).any(|w| w == b"line 0") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        scripts.push(s);
    }
    // Workers held by scripts alone close nothing.
    victim
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut b = [0u8; 1];
    match victim.read(&mut b) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) => {}
        other => panic!("the idle connection changed before any request waited: {other:?}"),
    }
    // A complete request that finds no idle worker: after it has waited about a second, the
    // idle keep-alive connection is closed (long before its 30 s).
    let sent = Instant::now();
    third
        .write_all(b"GET /static.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    victim
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let closed = victim.read(&mut b);
    let after = sent.elapsed();
    assert!(
        matches!(closed, Ok(0)),
        "the idle keep-alive connection was not closed: {closed:?} after {after:?}"
    );
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
    // The waiting request is served once a worker is free again (the scripts' clients leave,
    // so the scripts are stopped).
    drop(scripts);
    third.set_read_timeout(Some(T)).unwrap();
    let (head, body) = read_response(&mut third);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(body, b"static content\n");
    assert_no_zombies(&srv);
}

#[test]
fn scripts_run_the_same_under_the_worker_mpm() {
    // The worker MPM answers requests through the same handlers: a script keeps the worker
    // that owns its connection anyway.
    let srv = cgi_server(
        "workermpm",
        &format!("{}Timeout 2", Mpm::Worker.directive()),
        &[],
    );
    let r = get(&srv, "/cgi-bin/env.cgi/p?q=1");
    let env = env_map(&r.text());
    assert_eq!(var(&env, "GATEWAY_INTERFACE"), Some("CGI/1.1"), "{r:?}");
    assert_eq!(var(&env, "PATH_INFO"), Some("/p"));
    assert_eq!(var(&env, "QUERY_STRING"), Some("q=1"));
    let data = noise(1 << 20, 7);
    let r = upload(
        &srv,
        b"POST /cgi-bin/echo.cgi HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        data.clone(),
        true,
    );
    assert!(r.complete && r.body == data, "chunked echo under worker");
    // A slow script streams; its worker is W on a worker-MPM status page; static requests
    // are answered meanwhile.
    let mut s = srv.connect();
    s.write_all(b"GET /cgi-bin/slow.cgi?wslow HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(6).any(|w| w == b"line 1") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    let page = get(&srv, "/server-status?json").text();
    assert!(page.contains("\"mpm\":\"worker\""), "{page}");
    let cgi = page
        .split("{\"slot\"")
        .find(|t| t.contains("\"request\":\"GET /cgi-bin/slow.cgi?wslow HTTP/1.1\""))
        .unwrap_or_else(|| panic!("no worker on the script: {page}"));
    assert!(cgi.contains("\"status\":\"W\""), "{cgi}");
    assert_eq!(get(&srv, "/static.txt").status, 200);
    // The client leaves: the script is stopped.
    let pgid = script_pid(&srv, "wslow");
    drop(s);
    assert!(
        eventually(Duration::from_secs(3), || live_in_group(pgid).is_empty()),
        "script {pgid} outlived its client"
    );
    // Timeout before the header block: 504, group gone.
    let r = get(&srv, "/cgi-bin/hang.cgi?whang");
    assert_eq!(r.status, 504);
    let pgid = script_pid(&srv, "whang");
    assert!(eventually(Duration::from_secs(5), || live_in_group(pgid).is_empty()));
    assert_no_zombies(&srv);
}
