//! httpd's "all workers busy: close the keep-alive connections" rule must fire only when every
//! worker really is busy. Found by ci/bench: with fewer connections than workers, pipelined
//! clients lost requests because keep-alive connections were killed (their next batch, already
//! on its way, was answered with a FIN) whenever workers that had just handed their connection
//! back had not yet returned to the dispatch queue — a window a single busy CPU makes wide.

mod common;

use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn pipelining_with_idle_workers_loses_no_request() {
    // 25 workers, 20 connections: never are all workers busy, so no keep-alive connection may
    // be closed early and every pipelined request must be answered.
    // One child (-X), so pinning the server's pid pins the process that serves.
    let srv = start_with(
        Scratch::new("busyka"),
        "ThreadsPerChild 25\nMaxKeepAliveRequests 0\nKeepAliveTimeout 5",
        &["-X"],
    );
    srv.scratch.file("1k.txt", &[b'a'; 1024]);
    // Server on one CPU, client on another (when there are two): workers then compete with the
    // listener for their CPU, which is what widened the window.
    let two_cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2;
    let _ = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &srv.pid().to_string()])
        .output();
    let mut failures = Vec::new();
    let url = srv.url("/1k.txt");
    let h2load = ["--h1", "-t1", "-c20", "-n40000", "-m8", url.as_str()];
    let (cmd, args): (&str, Vec<&str>) = if two_cpus {
        (
            "taskset",
            [&["-c", "1", "h2load"][..], &h2load[..]].concat(),
        )
    } else {
        ("h2load", h2load.to_vec())
    };
    for _ in 0..3 {
        let (code, out, err) = run_tool(cmd, &args, Duration::from_secs(60));
        assert_eq!(code, Some(0), "{out}{err}");
        if !out.contains("40000 succeeded, 0 failed") {
            failures.push(
                out.lines()
                    .find(|l| l.starts_with("requests:"))
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    assert!(failures.is_empty(), "requests lost: {failures:?}");
}
