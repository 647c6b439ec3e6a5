//! Robustness of the real binary (issue 3).

mod common;

use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The bound on any single wait in these tests.
const T: Duration = Duration::from_secs(10);
const GET_KA: &[u8] = b"GET /1k.txt HTTP/1.1\r\nHost: x\r\n\r\n";

fn site(tag: &str, extra: &str) -> Server {
    let s = Scratch::new(tag);
    s.file("1k.txt", &[b'a'; 1024]);
    start_with(s, extra, &[])
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
