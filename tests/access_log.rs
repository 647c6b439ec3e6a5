//! Access-log lines end to end: the `combined` format's request fields and escaping, for a
//! request the listener answers itself (a small cached file) and one a worker answers (a
//! missing file), sent by curl and as raw bytes with more fields than most clients send.

mod common;

use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// Wait (bounded) until `path` holds `n` lines; its text.
fn wait_for_lines(path: &std::path::Path, n: usize) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= n || Instant::now() > end {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn combined_lines_show_the_request_fields_escaped() {
    let s = Scratch::new("access-log-combined");
    s.file("1k.txt", &[b'a'; 1024]);
    let mut srv = start_with(
        s,
        "CustomLog logs/combined.log combined\nLogFormat \"%{X-Late}i|%{x-early}i|%U\" late\n\
         CustomLog logs/late.log late\n",
        &[],
    );

    // curl: a cheap request (the listener's) and a missing file.
    for path in ["/1k.txt", "/missing.html"] {
        let (code, _, err) = run_tool(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-A",
                "agent \"quoted\" \\ back",
                "-e",
                "http://ref.example/r",
                &srv.url(path),
            ],
            T,
        );
        assert_eq!(code, Some(0), "curl: {err}");
    }
    // 40 fields: the one logged is the last, past any small fixed table of fields.
    let mut req = b"GET /1k.txt HTTP/1.1\r\nHost: localhost\r\nX-Early: e\tarly\r\n".to_vec();
    for i in 0..40 {
        req.extend_from_slice(format!("X-Filler-{i}: {i}\r\n").as_bytes());
    }
    req.extend_from_slice(b"X-Late: last\"one\r\nConnection: close\r\n\r\n");
    let resp = raw(&srv, &req);
    assert_eq!(status_of(&resp), 200);

    let combined = wait_for_lines(&srv.scratch.path().join("logs/combined.log"), 3);
    let lines: Vec<&str> = combined.lines().collect();
    assert_eq!(lines.len(), 3, "combined.log:\n{combined}");
    let tail = " \"http://ref.example/r\" \"agent \\\"quoted\\\" \\\\ back\"";
    assert!(
        lines.iter().any(|l| l.starts_with("127.0.0.1 - - [")
            && l.ends_with(&format!("] \"GET /1k.txt HTTP/1.1\" 200 1024{tail}"))),
        "combined.log:\n{combined}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"GET /missing.html HTTP/1.1\" 404 ") && l.ends_with(tail)),
        "combined.log:\n{combined}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("] \"GET /1k.txt HTTP/1.1\" 200 1024 \"-\" \"-\"")),
        "combined.log:\n{combined}"
    );

    let late = wait_for_lines(&srv.scratch.path().join("logs/late.log"), 3);
    assert!(
        late.lines().any(|l| l == "last\\\"one|e\\tarly|/1k.txt"),
        "late.log:\n{late}"
    );
    assert_eq!(
        late.lines().filter(|l| l.starts_with("-|-|")).count(),
        2,
        "late.log:\n{late}"
    );
    srv.stop();
}
