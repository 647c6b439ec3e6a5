//! No connection is left in the listen backlog while a child can take it (issue 11's two
//! reproducers, each run [`RUNS`] times on a fresh server).
//!
//! * A burst of keep-alive clients under the whole process model: children fill up to the
//!   admission bound one after another, and a connection that arrives as one of them fills must
//!   be taken by another child at once (it used to wait in the backlog until the full child's
//!   keep-alive connections timed out: EPOLLEXCLUSIVE had woken only the full child).
//! * Slow readers and a fast client in one child: a moment with every worker busy switches the
//!   listening sockets off, and they must come back on as soon as the formula allows (httpd's
//!   re-enabling hysteresis, one idle worker's worth of connections, kept them off for as long as
//!   the downloads lasted when AsyncRequestWorkerFactor was large).
//!
//! The waits are printed as figures; what is asserted is that every connection is answered
//! within a liveness bound ([`ANSWER_LIMIT`]) far above any healthy wait and far below the
//! stalls found (27.5 s, and the downloads' whole length).

mod common;

use common::*;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Fresh servers per reproducer (`EVENTMPM_BACKLOG_RUNS` overrides, at least 1).
const RUNS: usize = 20;
/// A connection not answered within this long is stuck in a backlog or a switched-off child.
const ANSWER_LIMIT: Duration = Duration::from_secs(5);

fn runs() -> usize {
    std::env::var("EVENTMPM_BACKLOG_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RUNS)
        .clamp(1, 1000)
}

/// Waits in a run, sorted: (median, 99th percentile, slowest).
fn spread(mut waits: Vec<Duration>) -> (Duration, Duration, Duration) {
    waits.sort();
    let at = |q: usize| waits[(waits.len() - 1) * q / 100];
    (at(50), at(99), *waits.last().unwrap())
}

/// Reproducer 1: StartServers 2, ThreadsPerChild 8, KeepAliveTimeout 30, every other MPM
/// directive at its default; 200 connections one after another, each with one GET for 1 KiB,
/// all kept open.
#[test]
fn a_burst_of_keep_alive_clients_is_answered_by_every_child() {
    const CLIENTS: usize = 200;
    let mut worst = Duration::ZERO;
    for run in 0..runs() {
        let s = Scratch::new("backlog-burst");
        s.file("1k.txt", &[b'b'; 1024]);
        let srv = start_with(
            s,
            "StartServers 2\nThreadsPerChild 8\nKeepAliveTimeout 30\nLogLevel debug\n",
            &[],
        );
        let mut open = Vec::with_capacity(CLIENTS);
        let mut waits = Vec::with_capacity(CLIENTS);
        let began = Instant::now();
        for i in 0..CLIENTS {
            let t = Instant::now();
            let mut c = std::net::TcpStream::connect_timeout(&srv.addr(), ANSWER_LIMIT)
                .unwrap_or_else(|e| panic!("run {run}: connect {i}: {e}"));
            c.set_read_timeout(Some(ANSWER_LIMIT)).unwrap();
            c.set_write_timeout(Some(ANSWER_LIMIT)).unwrap();
            c.write_all(b"GET /1k.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let answer = try_read_response(&mut c);
            let waited = t.elapsed();
            assert!(
                matches!(&answer, Ok((head, body)) if status_of(head.as_bytes()) == 200 && body == &[b'b'; 1024]),
                "run {run}: connection {i} of {CLIENTS} not answered within {ANSWER_LIMIT:?} \
                 (after {waited:?}; {} children running): {answer:?}\nerror log:\n{}",
                live_children_of(srv.pid()).len(),
                srv.error_log()
            );
            waits.push(waited);
            open.push(c);
        }
        let total = began.elapsed();
        let (p50, p99, max) = spread(waits);
        worst = worst.max(max);
        eprintln!(
            "run {run}: {CLIENTS} keep-alive clients answered in {total:?}: median {p50:?}, \
             p99 {p99:?}, slowest {max:?}; {} children",
            live_children_of(srv.pid()).len()
        );
        drop(open);
    }
    eprintln!("slowest answer over {} runs: {worst:?}", runs());
}

/// Reproducer 2: `-X`, ThreadsPerChild 2, AsyncRequestWorkerFactor 40; 50 clients read a 10 MB
/// file through an 8 KiB receive buffer at 4 KiB every 20 ms while a fast client makes 200
/// requests for 1 KiB, each on a new connection.
#[test]
fn slow_readers_do_not_keep_a_fast_client_in_the_backlog() {
    const READERS: usize = 50;
    const FAST: usize = 200;
    let mut worst = Duration::ZERO;
    for run in 0..runs() {
        let s = Scratch::new("backlog-slow");
        s.file("1k.txt", &[b'f'; 1024]);
        pattern_file(&s, "10m.bin", 10 * 1000 * 1000);
        let srv = start_with(
            s,
            "ThreadsPerChild 2\nAsyncRequestWorkerFactor 40\nTimeout 60\nLogLevel debug\n",
            &["-X"],
        );
        let addr = srv.addr();
        let stop = AtomicBool::new(false);
        let progress: Vec<AtomicU32> = (0..READERS).map(|_| AtomicU32::new(0)).collect();
        let (waits, writing) = std::thread::scope(|scope| {
            let readers: Vec<_> = progress
                .iter()
                .map(|p| {
                    let stop = &stop;
                    scope.spawn(move || {
                        slow_download(
                            addr,
                            "/10m.bin",
                            4096 * 50,
                            Duration::from_secs(120),
                            p,
                            stop,
                        )
                    })
                })
                .collect();
            // Every download under way (its head read) before the fast client starts.
            let under_way = eventually(Duration::from_secs(30), || {
                progress.iter().all(|p| p.load(Ordering::Relaxed) > 0)
            });
            let mut waits = Vec::with_capacity(FAST);
            let mut failure = None;
            if under_way {
                for i in 0..FAST {
                    let t = Instant::now();
                    match get_within(&srv, "/1k.txt", ANSWER_LIMIT) {
                        Ok((head, body))
                            if status_of(head.as_bytes()) == 200 && body.len() == 1024 =>
                        {
                            waits.push(t.elapsed())
                        }
                        Ok((head, _)) => failure = Some(format!("request {i}: {head}")),
                        Err(e) => failure = Some(format!("request {i}: {e}")),
                    }
                    if failure.is_some() {
                        break;
                    }
                }
            }
            let page = status_auto(&srv);
            stop.store(true, Ordering::Relaxed);
            let cut_early = readers
                .into_iter()
                .map(|r| r.join().unwrap())
                .filter(|d| d.status != 200 || !d.intact)
                .count();
            assert!(
                under_way,
                "run {run}: the {READERS} downloads did not all start (connections left in the backlog)"
            );
            assert_eq!(cut_early, 0, "run {run}: downloads failed");
            if let Some(f) = failure {
                panic!(
                    "run {run}: the fast client was not answered within {ANSWER_LIMIT:?} while \
                     {READERS} slow downloads ran: {f}\nserver-status:\n{page}\nerror log tail:\n{}",
                    tail(&srv.error_log(), 30)
                );
            }
            (
                waits,
                auto_value(&page, "ConnsAsyncWriting").unwrap_or_default(),
            )
        });
        let (p50, p99, max) = spread(waits);
        worst = worst.max(max);
        eprintln!(
            "run {run}: {FAST} fast requests beside {READERS} slow downloads \
             (ConnsAsyncWriting {writing}): median {p50:?}, p99 {p99:?}, slowest {max:?}"
        );
    }
    eprintln!("slowest answer over {} runs: {worst:?}", runs());
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
