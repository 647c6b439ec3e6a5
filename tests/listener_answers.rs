//! The listener answers cheap requests itself (README, "Where eventmpm chose"): a cached small
//! file in the page cache, an OPTIONS, an error; everything else (server-status included) still
//! goes to a worker. These
//! tests drive the real binary over loopback and read what it did from its own server-status:
//! the totals count every request once, whoever answered it; the workers' rows count only what
//! the workers answered; a file changed on disk is served fresh; pipelined requests that cross
//! between the listener and the workers come back in order.

mod common;

use common::client::Client;
use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// One child with four workers, so every request and every count is in one place.
const ONE_CHILD: &str = "StartServers 1\nServerLimit 1\nMinSpareThreads 1\nMaxSpareThreads 4\n\
                         ThreadsPerChild 4\nMaxRequestWorkers 4\nMaxKeepAliveRequests 0\n";

fn site(tag: &str) -> Server {
    let s = Scratch::new(tag);
    s.file("1k.txt", &[b'a'; 1024]);
    s.file(
        "big.bin",
        &(0..65_536u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    );
    for i in 0..40 {
        s.file(
            &format!("f/{i}.txt"),
            format!("file number {i}\n").as_bytes(),
        );
    }
    start_with(s, ONE_CHILD, &[])
}

/// The sum over every worker row of the JSON status page of the accesses of its slot: what the
/// workers answered (the listener's requests are in the totals only).
fn worker_accesses(json: &str) -> u64 {
    json.match_indices("\"accesses\":{\"connection\":")
        .filter_map(|(i, key)| {
            let object = &json[i + key.len()..];
            let object = &object[..object.find('}')?];
            let (_, slot) = object.split_once("\"slot\":")?;
            slot.parse::<u64>().ok()
        })
        .sum()
}

fn body_of(response: &[u8]) -> String {
    let text = String::from_utf8_lossy(response);
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[test]
fn every_request_is_counted_once_whoever_answers_it() {
    let srv = site("listener-counts");
    let started = Instant::now();
    let mut c = Client::connect(srv.addr(), T).unwrap();
    let (small, big, missing, heads, options) = (150u64, 20u64, 10u64, 10u64, 5u64);
    for _ in 0..small {
        let r = c.get("/1k.txt").unwrap();
        assert_eq!((r.status, r.body.len()), (200, 1024));
    }
    for _ in 0..big {
        let r = c.get("/big.bin").unwrap();
        assert_eq!((r.status, r.body.len()), (200, 65_536));
    }
    for _ in 0..missing {
        assert_eq!(c.get("/missing.txt").unwrap().status, 404);
    }
    for _ in 0..heads {
        c.send(b"HEAD /1k.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let r = c.response("HEAD").unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Length"), Some("1024"));
    }
    for _ in 0..options {
        c.send(b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        assert_eq!(c.response("OPTIONS").unwrap().status, 200);
    }
    let elapsed = started.elapsed().as_secs();
    let total = small + big + missing + heads + options;

    // The status request is counted once it has been answered, so not on its own page.
    let auto = status_auto(&srv);
    assert_eq!(
        auto_value(&auto, "Total Accesses").as_deref(),
        Some(total.to_string().as_str()),
        "{auto}"
    );
    let kbytes: u64 = auto_value(&auto, "Total kBytes").unwrap().parse().unwrap();
    assert!(kbytes >= (small * 1024 + big * 65_536) / 1024, "{auto}");

    let json = body_of(&raw(&srv, b"GET /server-status?json HTTP/1.0\r\n\r\n"));
    let by_workers = worker_accesses(&json);
    // Large files, files not found and server-status (the ?auto page above) always need a
    // worker (an open, a stat, more than the listener reads or renders); a cached small file
    // needs one when its cache entry is first made or revalidated (at most once a second).
    // Everything else is the listener's.
    let revalidations = 1 + elapsed;
    let always = big + missing + 1;
    assert!(by_workers >= always, "{by_workers}: {json}");
    assert!(
        by_workers <= always + 2 * revalidations,
        "the workers answered {by_workers} of {total} requests: the listener answered too few\n{json}"
    );
    // And the access log holds every line within BufferedLogs' bound.
    assert!(
        eventually(Duration::from_secs(5), || srv.access_log().lines().count()
            as u64
            >= total + 2),
        "{}",
        srv.access_log()
    );
}

#[test]
fn a_file_changed_on_disk_is_served_fresh_within_the_cache_validity() {
    let srv = site("listener-fresh");
    let path = srv.scratch.docroot().join("f/0.txt");
    let get = || body_of(&raw(&srv, b"GET /f/0.txt HTTP/1.0\r\n\r\n"));
    assert_eq!(get(), "file number 0\n");
    // Cached now: the listener answers from the open descriptor.
    assert_eq!(get(), "file number 0\n");
    // Replaced (a new inode, as editors and deployments do) and rewritten in place.
    let tmp = srv.scratch.docroot().join("f/0.new");
    std::fs::write(&tmp, b"replaced, a longer file\n").unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || get()
            == "replaced, a longer file\n"),
        "still {:?}",
        get()
    );
    std::fs::write(&path, b"short\n").unwrap();
    assert!(
        eventually(Duration::from_secs(5), || get() == "short\n"),
        "still {:?}",
        get()
    );
    std::fs::remove_file(&path).unwrap();
    assert!(eventually(Duration::from_secs(5), || {
        status_of(&raw(&srv, b"GET /f/0.txt HTTP/1.0\r\n\r\n")) == 404
    }));
}

/// 40 pipelined requests in one write, more than the listener answers per turn (32), for files
/// some of which a worker must open first (not yet cached) and one too large for the listener:
/// the answers come back complete and in order.
#[test]
fn pipelined_requests_crossing_listener_and_workers_come_back_in_order() {
    let srv = site("listener-pipeline");
    // Half the files cached beforehand (answered by the listener), half not (a worker's).
    for i in (0..40).step_by(2) {
        let r = raw(&srv, format!("GET /f/{i}.txt HTTP/1.0\r\n\r\n").as_bytes());
        assert_eq!(status_of(&r), 200);
    }
    let mut c = Client::connect(srv.addr(), T).unwrap();
    let mut batch = Vec::new();
    for i in 0..40 {
        let path = if i == 17 {
            "/big.bin".to_string()
        } else {
            format!("/f/{i}.txt")
        };
        batch.extend_from_slice(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    c.send(&batch).unwrap();
    for i in 0..40 {
        let r = c
            .response("GET")
            .unwrap_or_else(|e| panic!("response {i}: {e}"));
        assert_eq!(r.status, 200, "response {i}");
        if i == 17 {
            assert_eq!(r.body.len(), 65_536);
        } else {
            assert_eq!(
                r.body,
                format!("file number {i}\n").as_bytes(),
                "response {i}"
            );
        }
    }
    // The connection is still good.
    assert_eq!(c.get("/1k.txt").unwrap().status, 200);
}
