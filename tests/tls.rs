//! HTTPS end to end: the real binary with mod_ssl's directives, driven by curl, Python's `ssl`,
//! `openssl s_client`, h2load and raw sockets. Certificates are made at test time with
//! `openssl req`. Every client runs under a time limit; servers are stopped by PID.
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Mpm, Scratch, Server, auto_value, run_tool, start_with};

const LIMIT: Duration = Duration::from_secs(30);

/// A self-signed certificate for `cn` (also its subjectAltName) and its key, as
/// `DIR/NAME.crt` and `DIR/NAME.key`.
fn make_cert(dir: &Path, name: &str, cn: &str, key_type: &str) -> (PathBuf, PathBuf) {
    let crt = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let (code, _, err) = run_tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            key_type,
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            &format!("subjectAltName=DNS:{cn}"),
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            crt.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(code, Some(0), "openssl req: {err}");
    (crt, key)
}

/// A TLS server on a scratch site: `directives` after SSLEngine and the certificate for
/// `localhost`.
fn tls_server(tag: &str, mpm: Mpm, directives: &str) -> (Server, PathBuf) {
    let scratch = Scratch::new(tag);
    let (crt, key) = make_cert(scratch.path(), "server", "localhost", "rsa:2048");
    scratch.file("index.html", b"hello over tls\n");
    let conf = format!(
        "{}SSLEngine on\nSSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\n{directives}",
        mpm.directive(),
        crt.display(),
        key.display()
    );
    (start_with(scratch, &conf, &[]), crt)
}

/// `https://localhost:PORT/path`, with curl resolving localhost to the server.
fn curl(
    server: &Server,
    ca: &Path,
    extra: &[&str],
    paths: &[&str],
) -> (Option<i32>, String, String) {
    let resolve = format!("localhost:{}:127.0.0.1", server.port);
    let urls: Vec<String> = paths
        .iter()
        .map(|p| format!("https://localhost:{}{p}", server.port))
        .collect();
    let mut args = vec!["-sS", "--max-time", "20", "--resolve", &resolve, "--cacert"];
    args.push(ca.to_str().unwrap());
    args.extend_from_slice(extra);
    args.extend(urls.iter().map(String::as_str));
    run_tool("curl", &args, LIMIT)
}

/// Run a Python script with the server's port and CA file as `sys.argv[1:3]`.
fn python(server: &Server, ca: &Path, script: &str) -> String {
    let port = server.port.to_string();
    let (code, out, err) = run_tool(
        "python3",
        &["-c", script, &port, ca.to_str().unwrap()],
        LIMIT,
    );
    assert_eq!(code, Some(0), "python failed:\n{out}\n{err}");
    out
}

/// As [`python`], with one more argument (`sys.argv[3]`).
fn python_with(server: &Server, ca: &Path, script: &str, arg: &str) -> String {
    let port = server.port.to_string();
    let (code, out, err) = run_tool(
        "python3",
        &["-c", script, &port, ca.to_str().unwrap(), arg],
        LIMIT,
    );
    assert_eq!(code, Some(0), "python failed:\n{out}\n{err}");
    out
}

/// server-status?auto over HTTPS.
fn status(server: &Server, ca: &Path) -> String {
    let (code, out, err) = curl(server, ca, &[], &["/server-status?auto"]);
    assert_eq!(code, Some(0), "{err}");
    out
}

fn number(page: &str, key: &str) -> u64 {
    auto_value(page, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in\n{page}"))
}

/// `openssl s_client` with `args`, stdin closed at once; (stdout + stderr).
fn s_client(server: &Server, args: &[&str]) -> String {
    let connect = format!("127.0.0.1:{}", server.port);
    let mut all = vec!["s_client", "-connect", &connect];
    all.extend_from_slice(args);
    let mut child = std::process::Command::new("openssl")
        .args(&all)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is required (ci/install provides it)");
    drop(child.stdin.take());
    let code = common::wait_exit(&mut child, LIMIT);
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn curl_with_cacert(mpm: Mpm) {
    let (server, ca) = tls_server(&mpm.tag("tls-curl"), mpm, "");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    server.scratch.file("big.bin", &big);
    let (code, out, err) = curl(
        &server,
        &ca,
        &["-w", "%{http_code} %{ssl_verify_result}\n"],
        &["/", "/index.html"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        out, "hello over tls\n200 0\nhello over tls\n200 0\n",
        "two requests, one connection"
    );
    // A file larger than any buffer: read and encrypted in chunks, not sendfile.
    let dest = server.scratch.path().join("big.out");
    let (code, _, err) = curl(&server, &ca, &["-o", dest.to_str().unwrap()], &["/big.bin"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        std::fs::read(&dest).unwrap() == big,
        "the large file arrived intact"
    );
    // Plain HTTP on the same port gets mod_ssl's 400 page, in plain text.
    let (code, out, err) = run_tool(
        "curl",
        &[
            "-sS",
            "--max-time",
            "5",
            "-w",
            "%{http_code}",
            &server.url("/"),
        ],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />")
            && out.ends_with("</html>\n400"),
        "{out}"
    );
}

fn python_ssl_versions_and_keep_alive(mpm: Mpm) {
    let (server, ca) = tls_server(&mpm.tag("tls-python"), mpm, "");
    let out = python(
        &server,
        &ca,
        r#"
import http.client, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
for maxv in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.maximum_version = maxv
    c = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=10)
    for i in range(3):
        c.request("GET", "/index.html")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200 and body == b"hello over tls\n", (r.status, body)
    print(c.sock.version(), c.sock.selected_alpn_protocol())
    c.close()
"#,
    );
    assert_eq!(out, "TLSv1.3 None\nTLSv1.2 None\n");
}

fn old_versions_refused_and_tls13_negotiated(mpm: Mpm) {
    let (server, _ca) = tls_server(&mpm.tag("tls-versions"), mpm, "");
    for old in ["-tls1", "-tls1_1"] {
        // SECLEVEL=0 lets the client offer the old version at all: the refusal is the server's.
        let out = s_client(&server, &[old, "-cipher", "DEFAULT@SECLEVEL=0"]);
        assert!(
            out.contains("alert protocol version") || out.contains("alert handshake failure"),
            "{old} must be refused by the server:\n{out}"
        );
        assert!(
            !out.contains("BEGIN CERTIFICATE") && !out.contains("Server certificate"),
            "{out}"
        );
    }
    let out = s_client(&server, &["-tls1_3", "-servername", "localhost"]);
    assert!(out.contains("New, TLSv1.3"), "{out}");
    // ALPN: http/1.1 is chosen; a client that offers only h2 is refused with the alert.
    let out = s_client(&server, &["-alpn", "h2,http/1.1"]);
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
    let out = s_client(&server, &["-alpn", "h2"]);
    assert!(out.contains("no application protocol"), "{out}");
}

fn h2load_over_https(mpm: Mpm) {
    let (server, _ca) = tls_server(&mpm.tag("tls-h2load"), mpm, "");
    let url = format!("https://127.0.0.1:{}/index.html", server.port);
    let (code, out, err) = run_tool("h2load", &["--h1", "-n", "400", "-c", "8", &url], LIMIT);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("400 total, 400 started, 400 done, 400 succeeded, 0 failed"),
        "{out}"
    );
    assert!(out.contains("Protocol: TLSv1.3"), "{out}");
    // And one connection per request: handshakes only.
    let (code, out, err) = run_tool(
        "h2load",
        &[
            "--h1",
            "-n",
            "100",
            "-c",
            "4",
            "-m",
            "1",
            "-H",
            "Connection: close",
            &url,
        ],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("100 succeeded, 0 failed"), "{out}");
}

/// `RequestReadTimeout handshake=2 header=20`: a client that stops halfway through its
/// ClientHello is closed by the handshake's stage, long before the header stage would; one that
/// completes the handshake and then sends its head slowly gets the header stage's time, counted
/// from the end of the handshake (httpd's mod_reqtimeout).
fn handshake_timeout_has_its_own_stage(mpm: Mpm) {
    let (server, ca) = tls_server(
        &mpm.tag("tls-hs-timeout"),
        mpm,
        "RequestReadTimeout handshake=2 header=20\n",
    );
    // A slow head first, so the stalled hello below is timed on an idle server.
    let script = r#"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=15), server_hostname="localhost")
s.sendall(b"GET /index.html HTTP/1.1\r\n")
time.sleep(1.5)
s.sendall(b"Host: localhost\r\n")
time.sleep(1.5)
s.sendall(b"Connection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n", 1)[0].decode())
print(data.split(b"\r\n\r\n", 1)[1].decode(), end="")
"#;
    let out = python(&server, &ca, script);
    assert_eq!(
        out, "HTTP/1.1 200 OK\nhello over tls\n",
        "a head sent over 3 s after a handshake is served under header=20"
    );

    let mut s = server.connect();
    s.write_all(b"\x16\x03\x01\x02\x00\x01\x00").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    // The end of the stream (or a reset) is the close; a read timing out is not.
    let closed = match s.read_to_end(&mut got) {
        Ok(_) => true,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    let waited = started.elapsed();
    assert!(closed, "still open after {waited:?}");
    assert!(
        got.is_empty() || got[0] == 0x15,
        "nothing, or an alert: {got:?}"
    );
    assert!(
        waited >= Duration::from_millis(1900),
        "not closed before handshake=2 ran out: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(15),
        "closed by the handshake stage, before header=20: {waited:?}"
    );
    // Logged as mod_reqtimeout logs it (info), naming the client.
    let port = s.local_addr().unwrap().port();
    let want = format!("[client 127.0.0.1:{port}] AH01382: Request handshake read timeout");
    let end = Instant::now() + Duration::from_secs(5);
    while !server.error_log().contains(&want) {
        assert!(
            Instant::now() < end,
            "no {want:?} in:\n{}",
            server.error_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !server.error_log().contains("Request header read timeout"),
        "{}",
        server.error_log()
    );
}

/// A plain HTTP port has no handshake: `handshake=1` does not apply to it, `header=20` does.
#[test]
fn plain_ports_ignore_the_handshake_stage() {
    let server = common::start("tls-hs-plain", "RequestReadTimeout handshake=1 header=20\n");
    std::fs::write(server.scratch.docroot().join("index.html"), "plain\n").unwrap();
    let mut s = server.connect();
    s.write_all(b"GET /index.html HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    s.write_all(b"Host: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let got = common::read_until_close(&mut s, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nplain\n"), "{text}");
}

under_both_mpms!(
    handshake_timeout_has_its_own_stage,
    curl_with_cacert,
    python_ssl_versions_and_keep_alive,
    old_versions_refused_and_tls13_negotiated,
    h2load_over_https,
);

/// Clients that send garbage where a ClientHello belongs, and clients that trickle a request
/// head after the handshake (slowloris), are held and closed by the listener: more of them than
/// there are workers, and `server-status` shows no busy worker but its own, and counts them.
#[test]
fn garbage_and_slowloris_use_no_worker() {
    let (server, ca) = tls_server(
        "tls-slow",
        Mpm::Event,
        "StartServers 1\nServerLimit 1\nThreadsPerChild 4\nMaxRequestWorkers 4\n\
         AsyncRequestWorkerFactor 20\nRequestReadTimeout header=20\n",
    );
    // Garbage: random bytes after a TLS record header, and bytes that are neither TLS nor
    // HTTP, are answered with a TLS alert or closed, at once; a plain HTTP request with
    // mod_ssl's 400 page in plain text.
    for garbage in [
        &b"\x16\x03\x01\x00\x10garbage-garbage!"[..],
        &b"\x00\x01\x02\x03 nothing at all\r\n\r\n"[..],
        &b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
    ] {
        let mut s = server.connect();
        s.write_all(garbage).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let started = Instant::now();
        let mut got = Vec::new();
        let _ = s.read_to_end(&mut got);
        assert!(started.elapsed() < Duration::from_secs(4), "closed at once");
        if garbage.starts_with(b"GET") {
            let text = String::from_utf8_lossy(&got);
            assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
            assert!(text.contains("You're speaking plain HTTP"), "{text}");
            continue;
        }
        assert!(
            got.is_empty() || got[0] == 0x15,
            "an alert or nothing: {got:?}"
        );
    }
    // Twelve connections hold a half-sent ClientHello (three times the workers), then twelve
    // handshake and trickle a head.
    let mut half = Vec::new();
    for _ in 0..12 {
        let mut s = server.connect();
        s.write_all(b"\x16\x03\x01\x02\x00\x01\x00").unwrap();
        half.push(s);
    }
    let script = r#"
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
conns = []
for i in range(12):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n")
    conns.append(s)
print("ready", flush=True)
sys.stdin.readline()
for s in conns:
    s.sendall(b"\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 OK"), "served"
print("done", flush=True)
"#;
    let mut slow = std::process::Command::new("python3")
        .args(["-c", script, &server.port.to_string(), ca.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = slow.stdout.take().unwrap();
    let mut line = [0u8; 6];
    out.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"ready\n");
    // Every worker is free while 24 connections wait: a request gets through at once.
    let page = status(&server, &ca);
    assert_eq!(
        number(&page, "BusyWorkers"),
        1,
        "only the status request:\n{page}"
    );
    assert!(number(&page, "ConnsTotal") >= 25, "{page}");
    assert!(
        number(&page, "ConnsAsyncWaitIO") >= 24,
        "reading, counted async:\n{page}"
    );
    // Apart in JSON: the twelve stalled handshakes wait for the TLS layer's input (httpd's
    // wait-io), the twelve heads are being read.
    let (code, json, err) = curl(&server, &ca, &[], &["/server-status?json"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        json.contains("\"reading\":12,\"wait_io\":12,"),
        "12 heads, 12 handshakes:\n{json}"
    );
    slow.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "done\n");
    assert!(common::wait_exit(&mut slow, LIMIT) == Some(0));
    drop(half);
}

/// Idle TLS keep-alive connections wait in the listener (counted as keep-alive), and a
/// response the client does not read yet waits in write completion without a worker.
#[test]
fn keep_alive_and_write_completion_are_async() {
    let (server, ca) = tls_server(
        "tls-async",
        Mpm::Event,
        "StartServers 1\nServerLimit 1\nThreadsPerChild 4\nMaxRequestWorkers 4\n\
         AsyncRequestWorkerFactor 20\nKeepAliveTimeout 30\n",
    );
    // Larger than loopback's socket buffers can hold (4 MiB to send, the client's unread
    // window besides).
    let big: Vec<u8> = (0..12_000_000u32).map(|i| (i % 253) as u8).collect();
    server.scratch.file("big.bin", &big);
    let script = r#"
import socket, ssl, sys, hashlib
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
idle = []
for i in range(10):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
    idle.append(s)
slow = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
slow.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
print("ready", flush=True)
sys.stdin.readline()
chunks = []
while True:
    b = slow.recv(1 << 20)
    if not b:
        break
    chunks.append(b)
head, body = b"".join(chunks).split(b"\r\n\r\n", 1)
print(len(body), hashlib.sha256(body).hexdigest(), flush=True)
"#;
    let mut py = std::process::Command::new("python3")
        .args(["-c", script, &server.port.to_string(), ca.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = py.stdout.take().unwrap();
    let mut line = [0u8; 6];
    out.read_exact(&mut line).unwrap();
    assert_eq!(&line, b"ready\n");
    // Let the large response fill the socket.
    let mut page = String::new();
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        page = status(&server, &ca);
        if number(&page, "ConnsAsyncWriting") >= 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(number(&page, "ConnsAsyncWriting"), 1, "{page}");
    assert!(number(&page, "ConnsAsyncKeepAlive") >= 10, "{page}");
    assert_eq!(number(&page, "BusyWorkers"), 1, "{page}");
    py.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(common::wait_exit(&mut py, LIMIT) == Some(0));
    let digest = {
        let (_, o, _) = run_tool(
            "python3",
            &[
                "-c",
                "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
                server.scratch.docroot().join("big.bin").to_str().unwrap(),
            ],
            LIMIT,
        );
        o
    };
    assert_eq!(rest, format!("{} {}", big.len(), digest));
}

/// Two requests on one connection with Python's `ssl`, naming `sni` (or no host: `-`); prints
/// each response's status line and body.
const TWO_REQUESTS: &str = r#"
import socket, ssl, sys
port, sni = int(sys.argv[1]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                    server_hostname=None if sni == "-" else sni)
f = s.makefile("rb")
for i in range(2):
    s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status = f.readline().decode().rstrip()
    length = 0
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    print(status)
    print(f.read(length).decode(), end="")
"#;

/// With SSLStrictSNIVHostCheck On, a client that names no host (SNI) completes its handshake
/// with the default certificate, and each of its requests to name-based virtual hosts gets
/// mod_ssl's 403 with its reason (httpd's page, byte for byte); naming a host, it is served.
/// Without name-based hosts on the address (the main server alone) there is nothing to choose
/// and httpd does not check: served.
#[test]
fn strict_sni() {
    let scratch = Scratch::new("tls-sni");
    let (crt, key) = make_cert(scratch.path(), "server", "localhost", "rsa:2048");
    scratch.file("index.html", b"hello over tls\n");
    let tls = format!(
        "SSLEngine on\nSSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\n",
        crt.display(),
        key.display()
    );
    let hosts = format!(
        "{tls}SSLStrictSNIVHostCheck On\n\
         <VirtualHost *>\nServerName localhost\n{tls}</VirtualHost>\n\
         <VirtualHost *>\nServerName other.test\n{tls}</VirtualHost>\n"
    );
    let server = start_with(scratch, &hosts, &[]);
    let page = "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \
                \"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n\
                <title>403 Forbidden</title>\n</head><body>\n<h1>Forbidden</h1>\n\
                <p>You don't have permission to access this resource.Reason: The client \
                software did not provide a hostname using Server Name Indication (SNI), which \
                is required to access this server.<br />\n</p>\n</body></html>\n";
    let out = python_with(&server, &crt, TWO_REQUESTS, "-");
    assert_eq!(out, format!("HTTP/1.1 403 Forbidden\n{page}").repeat(2));
    let out = python_with(&server, &crt, TWO_REQUESTS, "localhost");
    assert_eq!(out, "HTTP/1.1 200 OK\nhello over tls\n".repeat(2));
    assert!(
        server
            .error_log()
            .contains("AH02033: No hostname was provided via SNI for a name based virtual host"),
        "{}",
        server.error_log()
    );
    let out = s_client(&server, &["-noservername"]);
    assert!(
        out.contains("subject=CN = localhost"),
        "the handshake completes:\n{out}"
    );

    let (alone, ca) = tls_server("tls-sni-alone", Mpm::Event, "SSLStrictSNIVHostCheck On\n");
    let out = python_with(&alone, &ca, TWO_REQUESTS, "-");
    assert_eq!(out, "HTTP/1.1 200 OK\nhello over tls\n".repeat(2));
}

/// A graceful restart loads the new certificate; a restart whose certificate is bad is
/// refused with the file and line, and the running generation keeps serving.
#[test]
fn certificate_reload_on_graceful_restart() {
    let (server, _) = tls_server("tls-reload", Mpm::Event, "");
    let dir = server.scratch.path().to_path_buf();
    let serial = |server: &Server| {
        let out = s_client(server, &["-servername", "localhost"]);
        let pem_start = out.find("-----BEGIN CERTIFICATE-----").expect(&out);
        let pem_end = out.find("-----END CERTIFICATE-----").unwrap() + 25;
        out[pem_start..pem_end].to_string()
    };
    let first = serial(&server);
    assert_eq!(
        first.trim(),
        std::fs::read_to_string(dir.join("server.crt"))
            .unwrap()
            .trim()
    );
    // A new pair at the same paths (an ECDSA key this time), then USR1.
    make_cert(&dir, "next", "localhost", "rsa:2048");
    let (code, _, err) = run_tool(
        "sh",
        &[
            "-c",
            "cd \"$0\" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout server.key -out server.crt",
            dir.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{err}");
    let second_pem = std::fs::read_to_string(dir.join("server.crt")).unwrap();
    common::signal(server.pid(), 10);
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        if serial(&server).trim() == second_pem.trim() {
            break;
        }
        assert!(Instant::now() < end, "the new certificate was not served");
        std::thread::sleep(Duration::from_millis(200));
    }
    // A key that does not match: the restart fails, the error names the line, and the running
    // generation goes on with the certificate it has.
    std::fs::copy(dir.join("next.key"), dir.join("server.key")).unwrap();
    common::signal(server.pid(), 10);
    let end = Instant::now() + Duration::from_secs(15);
    while !server.error_log().contains("do not match") {
        assert!(
            Instant::now() < end,
            "no error logged:\n{}",
            server.error_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.error_log();
    assert!(log.contains("eventmpm.conf:"), "{log}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(serial(&server).trim(), second_pem.trim());
    // A certificate file that holds no certificate: refused the same way, and HTTPS goes on.
    std::fs::write(dir.join("server.crt"), "not a certificate\n").unwrap();
    common::signal(server.pid(), 10);
    let end = Instant::now() + Duration::from_secs(15);
    while !server
        .error_log()
        .contains("SSLCertificateFile: no certificate found")
    {
        assert!(
            Instant::now() < end,
            "no error logged:\n{}",
            server.error_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(serial(&server).trim(), second_pem.trim());
    let (code, out, err) = curl(
        &server,
        &dir.join("server.crt"),
        &["-k", "-o", "/dev/null", "-w", "%{http_code}"],
        &["/index.html"],
    );
    assert_eq!((code, out.as_str()), (Some(0), "200"), "{err}");
}

/// Bad TLS configuration is refused by `-t` with `file:line: message` and a non-zero exit.
#[test]
fn configuration_errors_name_the_line() {
    let scratch = Scratch::new("tls-conf");
    let dir = scratch.path();
    let (crt, key) = make_cert(dir, "a", "localhost", "rsa:2048");
    let (_, other_key) = make_cert(dir, "b", "localhost", "rsa:2048");
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    std::fs::write(dir.join("junk.pem"), "not a certificate\n").unwrap();
    let cases: &[(String, &str)] = &[
        (
            format!(
                "SSLCertificateFile {}\nSSLCertificateKeyFile {}",
                crt.display(),
                other_key.display()
            ),
            "conf:5: AH02565: Certificate and private key from",
        ),
        (
            format!("SSLCertificateFile {}/empty.pem", dir.display()),
            "conf:4: SSLCertificateFile: file",
        ),
        (
            format!(
                "SSLCertificateFile {}/junk.pem\nSSLCertificateKeyFile {}",
                dir.display(),
                key.display()
            ),
            "conf:4: SSLCertificateFile: no certificate found",
        ),
        (
            format!(
                "SSLCertificateFile {}\nSSLCertificateKeyFile {}/junk.pem",
                crt.display(),
                dir.display()
            ),
            "conf:5: SSLCertificateKeyFile: no usable private key",
        ),
        (
            "SSLProtocol all -SSLv3 +TLSv1.1".into(),
            "conf:4: SSLProtocol: TLSv1.1 is not supported",
        ),
        (
            "SSLCipherSuite RC4-SHA:DES-CBC3-SHA".into(),
            "conf:4: SSLCipherSuite: 'RC4-SHA:DES-CBC3-SHA' selects no cipher suite",
        ),
        (
            "SSLCipherSuite HIGH:WHATEVER".into(),
            "conf:4: SSLCipherSuite: unknown cipher or keyword 'WHATEVER'",
        ),
        ("".into(), "AH02572"),
    ];
    for (lines, want) in cases {
        let conf = dir.join("t.conf");
        std::fs::write(
            &conf,
            format!(
                "Listen 127.0.0.1:{}\nServerName localhost\nSSLEngine on\n{lines}\n",
                common::free_port()
            ),
        )
        .unwrap();
        let (code, out, err) = run_tool(
            common::binary(),
            &[
                "-d",
                dir.to_str().unwrap(),
                "-f",
                conf.to_str().unwrap(),
                "-t",
            ],
            LIMIT,
        );
        assert_ne!(code, Some(0), "{lines}: {out}{err}");
        assert!(err.contains(want), "{lines}: want {want:?} in:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // Debian's ssl.conf forms pass.
    let conf = dir.join("ok.conf");
    std::fs::write(
        &conf,
        format!(
            "Listen 127.0.0.1:{} https\nServerName localhost\n<IfModule mod_ssl.c>\n\
             SSLRandomSeed startup builtin\nSSLRandomSeed startup file:/dev/urandom 512\n\
             SSLRandomSeed connect builtin\nSSLPassPhraseDialog exec:/usr/share/apache2/ask-for-passphrase\n\
             SSLSessionCache shmcb:/run/apache2/ssl_scache(512000)\nSSLSessionCacheTimeout 300\n\
             SSLCipherSuite HIGH:!aNULL\nSSLProtocol all -SSLv3\nSSLHonorCipherOrder on\n\
             SSLSessionTickets off\nSSLCompression off\n</IfModule>\n\
             SSLEngine on\nSSLCertificateFile {}\nSSLCertificateKeyFile {}\n",
            common::free_port(),
            crt.display(),
            key.display()
        ),
    )
    .unwrap();
    let (code, out, err) = run_tool(
        common::binary(),
        &[
            "-d",
            dir.to_str().unwrap(),
            "-f",
            conf.to_str().unwrap(),
            "-t",
        ],
        LIMIT,
    );
    assert_eq!(code, Some(0), "{out}{err}");
}

/// Graceful restarts while h2load keeps TLS connections busy (keep-alive, then a connection
/// per request): no request fails.
#[test]
fn graceful_restart_under_tls_load_fails_no_request() {
    let (server, _ca) = tls_server("tls-graceful", Mpm::Event, "StartServers 2\n");
    let url = format!("https://127.0.0.1:{}/index.html", server.port);
    let pid = server.pid();
    // h2load with `args`, and a graceful restart every 150 ms while it runs.
    let under_restarts = |args: &[&str]| {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        let restarts = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(150));
                common::signal(pid, 10);
                n += 1;
            }
            n
        });
        let mut all = vec!["--h1"];
        all.extend_from_slice(args);
        all.push(&url);
        let r = run_tool("h2load", &all, Duration::from_secs(120));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (r, restarts.join().unwrap())
    };
    // Enough requests that even a fast machine spends over a second on them: several
    // restarts land inside each run.
    let ((code, out, err), n) = under_restarts(&["-n", "40000", "-c", "8"]);
    assert_eq!(code, Some(0), "{out}{err}\n{}", server.error_log());
    assert!(
        out.contains("40000 succeeded, 0 failed, 0 errored"),
        "{out}"
    );
    assert!(n >= 2, "{n} restarts during the run");
    let ((code, out, err), n) =
        under_restarts(&["-n", "3000", "-c", "4", "-H", "Connection: close"]);
    assert_eq!(code, Some(0), "{out}{err}\n{}", server.error_log());
    assert!(out.contains("3000 succeeded, 0 failed, 0 errored"), "{out}");
    assert!(n >= 2, "{n} restarts during the run");
}

/// A CGI script over HTTPS: its request body is decrypted, its output encrypted (more than the
/// session's send buffer), it sees HTTPS=on, and the connection is kept for the next request.
#[test]
fn cgi_over_https() {
    let scratch = Scratch::new("tls-cgi");
    let (crt, key) = make_cert(scratch.path(), "server", "localhost", "rsa:2048");
    let bin = scratch.path().join("cgi-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let py = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "/usr/bin/env python3"
    };
    let script = bin.join("echo.cgi");
    std::fs::write(
        &script,
        format!(
            "#!{py}\nimport os, sys, hashlib\nb = sys.stdin.buffer.read()\n\
             sys.stdout.write('Content-Type: text/plain\\r\\n\\r\\n')\n\
             sys.stdout.write('%s %s %d %s\\n' % (os.environ.get('HTTPS'), os.environ.get('REQUEST_SCHEME'), len(b), hashlib.sha256(b).hexdigest()))\n\
             sys.stdout.write('x' * 200000 + '\\n')\n"
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let conf = format!(
        "SSLEngine on\nSSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\nScriptAlias /cgi-bin/ \"{}/\"\n",
        crt.display(),
        key.display(),
        bin.display()
    );
    let server = start_with(scratch, &conf, &[]);
    let ca = server.scratch.path().join("server.crt");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 241) as u8).collect();
    let data = server.scratch.path().join("body.bin");
    std::fs::write(&data, &body).unwrap();
    let digest = {
        let (_, o, _) = run_tool(
            "python3",
            &[
                "-c",
                "import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())",
                data.to_str().unwrap(),
            ],
            LIMIT,
        );
        o.trim().to_string()
    };
    let at_data = format!("@{}", data.display());
    // Into files: run_tool reads a client's output only once it has exited.
    let (o1, o2) = (
        server.scratch.path().join("o1"),
        server.scratch.path().join("o2"),
    );
    let (code, out, err) = curl(
        &server,
        &ca,
        &[
            "--data-binary",
            &at_data,
            "-w",
            "%{http_code} %{num_connects}\n",
            "-o",
            o1.to_str().unwrap(),
            "-o",
            o2.to_str().unwrap(),
        ],
        &["/cgi-bin/echo.cgi", "/cgi-bin/echo.cgi"],
    );
    assert_eq!(code, Some(0), "{err}\n{}", server.error_log());
    let expected = format!(
        "on https {} {digest}\n{}\n",
        body.len(),
        "x".repeat(200_000)
    );
    assert!(
        std::fs::read_to_string(&o1).unwrap() == expected,
        "first response"
    );
    assert!(
        std::fs::read_to_string(&o2).unwrap() == expected,
        "second response"
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "200 1");
    assert_eq!(
        lines[1], "200 0",
        "the second request reused the connection"
    );
}

/// A response the server closes after (HTTP/1.0, the client's `Connection: close`) ends with
/// close_notify before the FIN: a strict client (Python with ragged EOFs not suppressed, as
/// OpenSSL 3 clients such as ab) reads it whole, under both MPMs.
fn close_sends_close_notify(mpm: Mpm) {
    let (server, ca) = tls_server(&mpm.tag("tls-close"), mpm, "");
    let out = python(
        &server,
        &ca,
        r#"
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
for req in (b"GET /index.html HTTP/1.0\r\n\r\n",
            b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            b"GET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="localhost", suppress_ragged_eofs=False)
    s.sendall(req)
    data = b""
    while True:
        b = s.recv(65536)  # raises SSLEOFError on a FIN without close_notify
        if not b:
            break
        data += b
    print(data.split(b"\r\n")[0].decode(), data.endswith(b"hello over tls\n") or data.endswith(b"</html>\n"))
"#,
    );
    assert_eq!(
        out,
        "HTTP/1.1 200 OK True\nHTTP/1.1 200 OK True\nHTTP/1.1 404 Not Found True\n"
    );
}

under_both_mpms!(close_sends_close_notify);

/// SSLCertificateChainFile: a certificate signed by an intermediate is sent with it, so a client
/// that trusts only the root verifies the server.
#[test]
fn certificate_chain_file_is_sent() {
    let scratch = Scratch::new("tls-chain");
    let dir = scratch.path().to_path_buf();
    let script = r#"set -e
cd "$0"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=root -keyout root.key -out root.crt \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=inter -keyout inter.key -out inter.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' > ca.ext
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -days 2 \
  -extfile ca.ext -out inter.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout leaf.key -out leaf.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA inter.crt -CAkey inter.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.crt 2>/dev/null
"#;
    let (code, _, err) = run_tool("sh", &["-c", script, dir.to_str().unwrap()], LIMIT);
    assert_eq!(code, Some(0), "{err}");
    scratch.file("index.html", b"chained\n");
    let conf = format!(
        "SSLEngine on\nSSLCertificateFile {0}/leaf.crt\nSSLCertificateKeyFile {0}/leaf.key\n\
         SSLCertificateChainFile {0}/inter.crt\n",
        dir.display()
    );
    let server = start_with(scratch, &conf, &[]);
    let root = dir.join("root.crt");
    let (code, out, err) = curl(&server, &root, &[], &["/index.html"]);
    assert_eq!(code, Some(0), "verified through the chain: {err}");
    assert_eq!(out, "chained\n");
    let out = s_client(&server, &["-servername", "localhost", "-showcerts"]);
    assert_eq!(
        out.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{out}"
    );
}

/// Two `<VirtualHost>`s with `SSLEngine on` and certificates of their own: SNI chooses the
/// certificate, the Host the content; a client naming no host gets the first host's
/// certificate.
#[test]
fn sni_selects_the_virtual_hosts_certificate() {
    let scratch = Scratch::new("tls-vhosts");
    let dir = scratch.path().to_path_buf();
    let (a_crt, a_key) = make_cert(&dir, "a", "a.test", "rsa:2048");
    let (b_crt, b_key) = make_cert(&dir, "b", "b.test", "rsa:2048");
    for (host, body) in [("a", "site a\n"), ("b", "site b\n")] {
        std::fs::create_dir_all(dir.join(host)).unwrap();
        std::fs::write(dir.join(host).join("index.html"), body).unwrap();
    }
    let conf = format!(
        "<VirtualHost *>\n ServerName a.test\n DocumentRoot \"{d}/a\"\n SSLEngine on\n \
         SSLCertificateFile {}\n SSLCertificateKeyFile {}\n</VirtualHost>\n\
         <VirtualHost *>\n ServerName b.test\n ServerAlias www.b.test\n DocumentRoot \"{d}/b\"\n \
         SSLEngine on\n SSLCertificateFile {}\n SSLCertificateKeyFile {}\n</VirtualHost>\n",
        a_crt.display(),
        a_key.display(),
        b_crt.display(),
        b_key.display(),
        d = dir.display()
    );
    let server = start_with(scratch, &conf, &[]);
    for (name, ca, body) in [
        ("a.test", &a_crt, "site a\n"),
        ("b.test", &b_crt, "site b\n"),
    ] {
        let resolve = format!("{name}:{}:127.0.0.1", server.port);
        let url = format!("https://{name}:{}/", server.port);
        let (code, out, err) = run_tool(
            "curl",
            &[
                "-sS",
                "--max-time",
                "10",
                "--resolve",
                &resolve,
                "--cacert",
                ca.to_str().unwrap(),
                &url,
            ],
            LIMIT,
        );
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(out, body, "{name}");
    }
    // A ServerAlias selects its host's certificate too.
    let out = s_client(&server, &["-servername", "www.b.test"]);
    assert!(out.contains("subject=CN = b.test"), "{out}");
    let out = s_client(&server, &["-noservername"]);
    assert!(out.contains("subject=CN = a.test"), "{out}");
}
