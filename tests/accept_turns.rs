//! Accept turns end to end: with more children than CPUs, new connections go to the first child
//! by slot whose admission lets it accept, the next child takes over when that one is full, and
//! the turn comes back when it has room again; whatever the turns, every connection is served.
//!
//! The test thread pins itself to one CPU before it starts the server, which inherits the
//! affinity: the server then counts one CPU (as under `taskset -c 1`, how ci/bench runs it).
//! Which child holds a connection is read from /proc: the server-side socket's inode in
//! /proc/net/tcp, and the child whose descriptors include it. Linux only, as the turns are.

#![cfg(any(target_os = "linux", target_os = "android"))]

mod common;

use common::client::Client;
use common::*;
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

/// Pin the calling thread (and so the processes it starts) to the first CPU it may run on.
fn pin_to_one_cpu() {
    // SAFETY: cpu_set_t is plain data; the calls only read and write the set passed.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        let first = (0..libc::CPU_SETSIZE as usize)
            .find(|&c| libc::CPU_ISSET(c, &set))
            .expect("some CPU");
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(first, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

/// The pid among `children` holding the server side of the connection from `client_port`.
fn owner(server_port: u16, client_port: u16, children: &[u32]) -> Option<u32> {
    let inode = sockets::connection_inode(server_port, client_port)?;
    children
        .iter()
        .copied()
        .find(|&pid| sockets::holds_socket(pid, &inode))
}

/// Open `n` keep-alive connections, each answered once (so each is accepted and held).
fn open(srv: &Server, n: usize) -> Vec<Client> {
    (0..n)
        .map(|i| {
            let mut c = Client::connect(srv.addr(), T).unwrap();
            let r = c
                .get("/index.html")
                .unwrap_or_else(|e| panic!("connection {i}: {e}; error log:\n{}", srv.error_log()));
            assert_eq!(r.status, 200);
            c
        })
        .collect()
}

/// How many of `clients` each child holds.
fn holders(srv: &Server, clients: &[Client], children: &[u32]) -> Vec<Option<u32>> {
    clients
        .iter()
        .map(|c| owner(srv.addr().port(), c.local_port(), children))
        .collect()
}

fn counts(owners: &[Option<u32>]) -> BTreeMap<Option<u32>, usize> {
    let mut m = BTreeMap::new();
    for o in owners {
        *m.entry(*o).or_default() += 1;
    }
    m
}

#[test]
fn with_one_cpu_children_take_turns_at_accepting() {
    pin_to_one_cpu();
    let s = Scratch::new("turns");
    s.file("index.html", b"<!doctype html><p>hello\n");
    // Three children that stay (no spare-thread maintenance in the way), four workers each,
    // admission at 4 + 4 idle x 1 = 8 connections per child.
    let mut srv = start_with(
        s,
        "LogLevel debug\nStartServers 3\nServerLimit 4\nThreadLimit 4\nThreadsPerChild 4\n\
         MaxRequestWorkers 16\nMinSpareThreads 1\nMaxSpareThreads 16\n\
         AsyncRequestWorkerFactor 1\nKeepAliveTimeout 30\nMaxKeepAliveRequests 0",
        &[],
    );
    let mut children = Vec::new();
    assert!(
        eventually(T, || {
            children = live_children_of(srv.pid());
            children.len() == 3
        }),
        "three children: {children:?}"
    );
    assert!(
        srv.error_log()
            .contains("1 CPU(s) for at most 4 children: children take turns at accepting"),
        "{}",
        srv.error_log()
    );

    // Six connections: one child holds them all.
    let mut first = open(&srv, 6);
    let owners = holders(&srv, &first, &children);
    let by = counts(&owners);
    assert_eq!(by.len(), 1, "one child holds every connection: {by:?}");
    let turn = owners[0].expect("the connections' child");

    // Six more: the first child fills to its admission bound (8), the next one takes the rest.
    let second = open(&srv, 6);
    let all: Vec<Client> = first.drain(..).chain(second).collect();
    let owners = holders(&srv, &all, &children);
    let by = counts(&owners);
    assert_eq!(
        by.get(&Some(turn)),
        Some(&8),
        "the first child is full: {by:?}"
    );
    assert_eq!(by.len(), 2, "a second child took over: {by:?}");
    assert!(
        !by.contains_key(&None),
        "every connection has its child: {by:?}"
    );
    let next = owners
        .iter()
        .flatten()
        .find(|&&o| o != turn)
        .copied()
        .unwrap();

    // The first child gets room again (four of its connections close): the turn comes back.
    let mut keep = Vec::new();
    let mut closed = 0;
    for (c, o) in all.into_iter().zip(&owners) {
        if *o == Some(turn) && closed < 4 {
            closed += 1;
            drop(c);
        } else {
            keep.push(c);
        }
    }
    // Its listener sees the closes (and re-enables its listening sockets) at its next wake.
    assert!(
        eventually(T, || {
            let page =
                String::from_utf8_lossy(&raw(&srv, b"GET /server-status?auto HTTP/1.0\r\n\r\n"))
                    .into_owned();
            auto_value(&page, "ConnsTotal").is_some_and(|v| v.trim() == "9")
        }),
        "eight connections left and the status request's"
    );
    let third = open(&srv, 3);
    let owners = holders(&srv, &third, &children);
    assert!(
        owners.iter().all(|&o| o == Some(turn)),
        "new connections go to the first child again, not {next}: {owners:?}"
    );
    drop((keep, third));
    assert_eq!(srv.stop(), Some(0));
}
