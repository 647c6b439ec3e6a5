//! A child that runs out of descriptors (EMFILE at accept) keeps serving its open connections,
//! logs the condition once, pauses accepting instead of exiting (nginx's rule: httpd stops the
//! child and the parent replaces it, which churns children against the same limit), and takes
//! the connections that waited in the backlog as soon as descriptors come back. Under both MPMs.
//!
//! The limit is lowered on the running child with `prlimit(2)` to a few descriptors above what
//! it holds (its connection table was sized with the real limit, so the table's own bound is not
//! what stops it: accept meets EMFILE).

mod common;

use common::*;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Held keep-alive connections before the limit is lowered.
const HELD: usize = 4;
/// Descriptors left to the child above what it holds when the limit is lowered.
const SPARE: u64 = 3;
/// Connections left waiting in the backlog once the child is out of descriptors.
const WAITING: usize = 3;
/// An answer slower than this means the connection was not accepted (it is in the backlog).
const ACCEPTED_WITHIN: Duration = Duration::from_millis(1500);

fn fd_count(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

/// `pid`'s open-file limits (soft, hard) from /proc; `None` stands for unlimited.
fn nofile_of(pid: u32) -> (Option<u64>, Option<u64>) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files in /proc/PID/limits");
    let mut f = line.split_whitespace().skip(3).map(|v| v.parse().ok());
    (f.next().flatten(), f.next().flatten())
}

/// Set `pid`'s soft open-file limit, keeping its hard limit. util-linux's `prlimit(1)` does it
/// as the child's own user and group: a root test may lack CAP_SYS_RESOURCE (containers drop
/// it), without which only a process of the same ids may change another's limits.
fn set_soft_nofile(pid: u32, soft: u64) {
    use std::os::unix::process::CommandExt;
    let (_, hard) = nofile_of(pid);
    let hard = hard.map_or("unlimited".to_string(), |h| h.to_string());
    let uid = proc_ids(pid, "Uid")[0];
    let gid = proc_ids(pid, "Gid")[0];
    let out = std::process::Command::new("prlimit")
        .uid(uid)
        .gid(gid)
        .arg(format!("--pid={pid}"))
        .arg(format!("--nofile={soft}:{hard}"))
        .output()
        .expect("prlimit(1) from util-linux");
    assert!(
        out.status.success(),
        "prlimit: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(nofile_of(pid).0, Some(soft));
}

/// A keep-alive GET on `s`; the status, or `None` when nothing came within `limit`.
fn ask(s: &mut TcpStream, path: &str, limit: Duration) -> Option<u16> {
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let r = try_read_response(s).ok()?;
    Some(status_of(r.0.as_bytes()))
}

fn descriptor_exhaustion_pauses_accepting_without_churning_children(mpm: Mpm) {
    let s = Scratch::new(&mpm.tag("emfile"));
    s.file("index.html", b"<!doctype html><p>hello\n");
    let srv = start_with(
        s,
        &format!(
            "{}LogLevel debug\nStartServers 1\nThreadsPerChild 16\nMaxRequestWorkers 16\n\
             MinSpareThreads 1\nMaxSpareThreads 32\nKeepAliveTimeout 60\nTimeout 60",
            mpm.directive()
        ),
        &[],
    );
    let mut child = Vec::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            child = live_children_of(srv.pid());
            child.len() == 1
        }),
        "one child expected: {child:?}"
    );
    let child = child[0];
    // Every child seen while the test runs, sampled every 20 ms: a child that stopped and was
    // replaced shows up as a second pid (the worker MPM logs no child starts).
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (parent, watching) = (srv.pid(), watching.clone());
        std::thread::spawn(move || {
            let mut seen = BTreeSet::new();
            while watching.load(Ordering::Relaxed) {
                seen.extend(live_children_of(parent));
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        })
    };
    let mut held: Vec<TcpStream> = (0..HELD).map(|_| srv.connect()).collect();
    for c in &mut held {
        assert_eq!(ask(c, "/index.html", Duration::from_secs(10)), Some(200));
    }

    // Out of descriptors: the child may open SPARE more.
    let base = fd_count(child);
    set_soft_nofile(child, base + SPARE);
    let mut accepted = 0;
    let mut waiting = Vec::new();
    for _ in 0..SPARE + 5 {
        let mut c = srv.connect();
        // server-status needs no descriptor of its own to answer.
        match ask(&mut c, "/server-status?auto", ACCEPTED_WITHIN) {
            Some(200) if waiting.is_empty() => {
                accepted += 1;
                held.push(c);
            }
            None => waiting.push(c),
            other => panic!("a new connection got {other:?}"),
        }
        if waiting.len() == WAITING {
            break;
        }
    }
    assert_eq!(
        waiting.len(),
        WAITING,
        "the child never ran out of descriptors"
    );
    let exhausted_at = Instant::now();
    // Several pauses go by (500 ms each), every retry meeting EMFILE again.
    std::thread::sleep(Duration::from_secs(2));

    // The waiting ones are still waiting (nothing was read from them).
    for w in &mut waiting {
        w.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut b = [0u8; 1];
        assert!(
            matches!(w.read(&mut b), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut),
            "a connection was answered while the child had no descriptor for it"
        );
    }
    let log = srv.error_log();
    assert_eq!(
        log.matches("AH02179").count(),
        1,
        "the shortage is logged once:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("AH02179") && l.contains("(24)")),
        "{log}"
    );
    // The open connections are served: the status page needs no descriptor and is answered; a
    // file needs one, so it gets a 503 (retry later), which ends its connection as in httpd.
    let statuses: Vec<Option<u16>> = held
        .iter_mut()
        .map(|c| ask(c, "/server-status?auto", Duration::from_secs(10)))
        .collect();
    assert!(
        statuses.iter().all(|&s| s == Some(200)),
        "open connections during the shortage: {statuses:?}"
    );
    let mut last = held.pop().unwrap();
    let file = ask(&mut last, "/index.html", Duration::from_secs(10));
    assert_eq!(file, Some(503), "a file without a descriptor to open it");
    drop(last);

    // Descriptors come back: close all but one held connection.
    let keep = held.pop().unwrap();
    let freed = held.len();
    drop(held);
    let recovered_at = Instant::now();
    let mut answered = Vec::new();
    for w in &mut waiting {
        // The requests sent long ago are read once the connections are accepted.
        w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = try_read_response(w).map(|(h, _)| status_of(h.as_bytes()));
        answered.push((r, recovered_at.elapsed()));
    }
    assert!(
        answered.iter().all(|(r, _)| *r == Ok(200)),
        "waiting connections after descriptors came back: {answered:?}\n{}",
        srv.error_log()
    );
    let mut keep = keep;
    assert_eq!(
        ask(&mut keep, "/index.html", Duration::from_secs(10)),
        Some(200)
    );
    // The episode is over with the first connection accepted a second (the core's QUIET) after
    // the last refusal; the flapping while descriptors came back one by one was part of it.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get_status(srv.addr(), "/index.html"), 200);

    let log = srv.error_log();
    let recovery: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("accepting new connections again after a resource shortage:"))
        .collect();
    assert_eq!(recovery.len(), 1, "the recovery is logged once:\n{log}");
    assert_eq!(log.matches("AH02179").count(), 1, "{log}");
    // No churn: the same child throughout, none started or stopped.
    watching.store(false, Ordering::Relaxed);
    let seen = watcher.join().unwrap();
    assert_eq!(seen, BTreeSet::from([child]), "children seen:\n{log}");
    assert!(
        children_started(&log).len() <= 1,
        "a child was started after the first:\n{log}"
    );
    for bad in [
        "stopping this child",
        "AH00052",
        "exit signal",
        "MaxConnectionsPerChild",
    ] {
        assert!(!log.contains(bad), "{bad} in the error log:\n{log}");
    }
    eprintln!(
        "{mpm:?}: child {child} held {base} descriptors, limit lowered to {}; {accepted} more \
         connections accepted, then {WAITING} waited {:.1} s in the backlog (open connections: \
         status page 200, file 503); {freed} closed, the waiting ones answered after {:?}; \
         {}",
        base + SPARE,
        recovered_at.duration_since(exhausted_at).as_secs_f64(),
        answered.iter().map(|a| a.1).max().unwrap(),
        recovery[0].split("] ").last().unwrap_or("")
    );
}

under_both_mpms!(descriptor_exhaustion_pauses_accepting_without_churning_children);
