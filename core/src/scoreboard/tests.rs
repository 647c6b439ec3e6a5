//! Tests of the segment as a whole: layout, raw views, corruption, concurrent readers.

extern crate std;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::time::Instant;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Chunk([u8; 64]);

fn segment(layout: Layout, fill: u8) -> Vec<Chunk> {
    std::vec![Chunk([fill; 64]); layout.size().unwrap().div_ceil(64)]
}

/// Two views of one segment, as the parent and a child each have.
fn two_views(chunks: &mut [Chunk], layout: Layout) -> (Scoreboard<'_>, Scoreboard<'_>) {
    let base = chunks.as_mut_ptr().cast::<u8>();
    // SAFETY: `chunks` is 64-aligned, initialised and `layout.size()` bytes long; it is mutably
    // borrowed for the views' lifetime and accessed only through them.
    unsafe {
        (
            Scoreboard::from_raw(base, layout).unwrap(),
            Scoreboard::from_raw(base, layout).unwrap(),
        )
    }
}

#[test]
fn layout_sizes_and_offsets() {
    assert_eq!(size_of::<GlobalScore>(), 64);
    assert_eq!(size_of::<ProcessScore>(), 128);
    assert_eq!(size_of::<WorkerScore>(), 320);
    let layout = Layout::new(16, 64);
    assert_eq!(layout.process_offset(), 64);
    assert_eq!(layout.worker_offset(), Some(64 + 16 * 128));
    assert_eq!(layout.size(), Some(64 + 16 * 128 + 16 * 64 * 320));
    assert_eq!(layout.workers(), Some(1024));
    for offset in [layout.process_offset(), layout.worker_offset().unwrap()] {
        assert_eq!(offset % 8, 0, "httpd's 8-byte alignment holds");
    }
    assert_eq!(Layout::new(0, 4).size(), None);
    assert_eq!(Layout::new(4, 0).size(), None);
    assert_eq!(Layout::new(u32::MAX, u32::MAX).size(), None);
}

#[test]
fn from_raw_rejects_what_it_cannot_map() {
    let layout = Layout::new(2, 2);
    let mut chunks = segment(layout, 0);
    let base = chunks.as_mut_ptr().cast::<u8>();
    // SAFETY: each call either returns None before touching memory or maps the valid segment.
    unsafe {
        assert!(Scoreboard::from_raw(core::ptr::null_mut(), layout).is_none());
        assert!(Scoreboard::from_raw(base.add(8), layout).is_none());
        assert!(Scoreboard::from_raw(base, Layout::new(0, 2)).is_none());
        assert!(Scoreboard::from_raw(base, layout).is_some());
    }
}

#[test]
fn new_checks_the_shape() {
    let g = GlobalScore::new();
    let p: Vec<ProcessScore> = (0..3).map(|_| ProcessScore::new()).collect();
    let w: Vec<WorkerScore> = (0..6).map(|_| WorkerScore::new()).collect();
    let board = Scoreboard::new(&g, &p, &w).unwrap();
    assert_eq!(board.layout(), Layout::new(3, 2));
    assert!(Scoreboard::new(&g, &p, &w[..5]).is_none());
    assert!(Scoreboard::new(&g, &[], &w).is_none());
    assert!(Scoreboard::new(&g, &p, &[]).is_none());
    assert!(board.worker(2, 1).is_some());
    assert!(board.worker(2, 2).is_none());
    assert!(board.worker(3, 0).is_none());
    assert!(board.worker(usize::MAX, 0).is_none());
    assert!(board.workers(usize::MAX).is_empty());
    assert!(board.process(3).is_none());
}

#[test]
fn zeroed_memory_is_an_empty_scoreboard_and_views_share_it() {
    let layout = Layout::new(3, 4);
    let mut chunks = segment(layout, 0);
    let (parent, child) = two_views(&mut chunks, layout);
    assert_eq!(parent.global().read(), Ok(GlobalSnapshot::default()));
    for slot in 0..3 {
        assert!(!parent.process(slot).unwrap().read().is_live());
        for thread in 0..4 {
            let w = parent.worker(slot, thread).unwrap().read().unwrap();
            assert_eq!(w, WorkerSnapshot::status_only(Some(WorkerStatus::Dead)));
        }
    }
    // What the child writes, the parent reads.
    parent.process(2).unwrap().prepare(1);
    parent.process(2).unwrap().set_pid(77);
    let w = child.worker(2, 3).unwrap();
    w.start(77, 5, 1);
    w.set_status(WorkerStatus::Ready, Instant::from_millis(10));
    w.count_request(99, Instant::from_millis(20));
    let seen = parent.worker(2, 3).unwrap().read().unwrap();
    assert_eq!(
        (seen.pid, seen.status, seen.bytes_served),
        (77, Some(WorkerStatus::Ready), 99)
    );
    assert_eq!(parent.process(2).unwrap().pid(), 77);

    // An ungraceful restart empties everything but keeps the limits.
    parent.reset(1_700_000_000);
    let g = child.global().read().unwrap();
    assert_eq!(
        (g.server_limit, g.thread_limit, g.restart_time),
        (3, 4, 1_700_000_000)
    );
    assert_eq!(child.process(2).unwrap().pid(), 0);
    assert_eq!(
        child.worker(2, 3).unwrap().read().unwrap(),
        WorkerSnapshot::status_only(Some(WorkerStatus::Dead))
    );
}

#[test]
fn garbage_memory_reads_without_panicking() {
    let layout = Layout::new(2, 3);
    // 0xA5: odd versions (mid-update forever), status 165, unterminated non-UTF-8 strings.
    let mut chunks = segment(layout, 0xA5);
    let (board, _) = two_views(&mut chunks, layout);
    assert_eq!(board.global().read(), Err(Inconsistent));
    let p = board.process(0).unwrap().read();
    assert!(p.is_live() && p.is_stopping());
    assert_eq!(p.counts, Err(Inconsistent));
    let w = board.worker(1, 2).unwrap();
    assert_eq!(w.status(), None);
    assert_eq!(w.read(), Err(Inconsistent));
    // Whoever takes the slot over repairs it; the garbage strings are bounded and unterminated.
    w.take_over(Instant::ZERO);
    let s = w.read().unwrap();
    assert_eq!(s.status, Some(WorkerStatus::Dead));
    assert_eq!(s.request.len(), REQUEST_LEN);
    assert!(s.request.iter().all(|&b| b == 0xA5));
    w.force_request_words(u32::from_le_bytes(*b"ab\0c"));
    assert_eq!(w.read().unwrap().request.as_slice(), b"ab");
    let rules = CountRules {
        mpm_generation: 0,
        max_servers: 1,
        threads_per_child: 1,
    };
    // Garbage statuses count as dead: disabled out of range, '.' in range.
    assert_eq!(
        rules.letter(0, 0, board.worker(0, 0).unwrap().status()),
        Some('.')
    );
    assert_eq!(board.scoreboard_len(&rules), 1);
    assert_eq!(board.worker_counts(&rules), ThreadCounts::default());
}

#[test]
fn a_parent_that_died_mid_update_leaves_the_global_record_unreadable_until_rewritten() {
    let g = GlobalScore::new();
    g.init(1, 1, 5);
    g.version_for_test().force(7);
    assert_eq!(g.read(), Err(Inconsistent));
    g.set_running_generation(2);
    assert_eq!(g.read().map(|s| s.running_generation), Ok(2));
}

/// A reader racing a writer on real threads only ever accepts states the writer published.
///
/// Every `CHECKPOINT` requests the writer pauses until the reader has made a consistent read, so
/// the two really interleave even where threads share one CPU (qemu-user runs them on one host
/// thread): without it the writer could finish before the reader is ever scheduled.
#[test]
fn concurrent_reader_sees_only_published_states() {
    const REQUESTS: u64 = 20_000;
    const CHECKPOINT: u64 = 1_000;
    // A liveness aid, not a correctness condition: a writer that gives up waiting still checks
    // everything below, and the final count says whether the reads interleaved.
    const MAX_YIELDS_PER_CHECKPOINT: u32 = 1_000_000;
    let worker = Arc::new(WorkerScore::new());
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU32::new(0));
    let writer = {
        let (worker, done, reads) = (Arc::clone(&worker), Arc::clone(&done), Arc::clone(&reads));
        std::thread::spawn(move || {
            for n in 1..=REQUESTS {
                worker.begin_request(Instant::from_millis(n));
                // Crosses the 32-bit boundary, so a torn pair would break the invariant.
                worker.count_request(0x1_0000_0001, Instant::from_millis(n + 1));
                worker.set_request_line(if n % 2 == 0 {
                    b"GET /even HTTP/1.1"
                } else {
                    b"GET /odd HTTP/1.1"
                });
                if n % CHECKPOINT == 0 {
                    let before = reads.load(Ordering::Acquire);
                    for _ in 0..MAX_YIELDS_PER_CHECKPOINT {
                        if reads.load(Ordering::Acquire) > before {
                            break;
                        }
                        std::thread::yield_now();
                    }
                }
            }
            done.store(true, Ordering::Release);
        })
    };
    let mut consistent = 0u32;
    let mut last = 0u64;
    let mut counts_seen = std::collections::BTreeSet::new();
    while !done.load(Ordering::Acquire) {
        if let Ok(s) = worker.read() {
            consistent += 1;
            reads.store(consistent, Ordering::Release);
            assert_eq!(s.bytes_served, s.access_count * 0x1_0000_0001);
            assert_eq!(s.duration.as_millis(), s.access_count);
            assert!(s.access_count >= last, "counters never go back");
            last = s.access_count;
            counts_seen.insert(s.access_count);
            assert!(matches!(
                s.request.as_slice(),
                b"" | b"GET /even HTTP/1.1" | b"GET /odd HTTP/1.1"
            ));
        }
    }
    writer.join().unwrap();
    let s = worker.read().unwrap();
    assert_eq!(s.access_count, REQUESTS);
    // The reader saw the writer part-way through, not only before or after it.
    let midway = counts_seen
        .iter()
        .filter(|&&c| c > 0 && c < REQUESTS)
        .count();
    assert!(midway > 0, "the reader never saw a write in progress");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever sequence of writes a worker makes, a reader gets back exactly the counters the
    /// writes imply.
    #[test]
    fn writes_round_trip(requests in proptest::collection::vec((any::<u32>(), 0u64..10_000), 0..20),
                         line in proptest::collection::vec(any::<u8>(), 0..100)) {
        let w = WorkerScore::new();
        w.start(1, 2, 3);
        let mut now = 1_000u64;
        let (mut bytes, mut duration) = (0u64, 0u64);
        for &(sent, took) in &requests {
            w.begin_request(Instant::from_millis(now));
            now += took;
            w.count_request(u64::from(sent), Instant::from_millis(now));
            bytes += u64::from(sent);
            duration += took;
        }
        w.set_request_line(&line);
        let s = w.read().unwrap();
        prop_assert_eq!(s.access_count, requests.len() as u64);
        prop_assert_eq!(s.bytes_served, bytes);
        prop_assert_eq!(s.duration.as_millis(), duration);
        let shown = s.request.as_slice();
        prop_assert!(shown.len() < REQUEST_LEN);
        prop_assert!(!shown.contains(&0));
    }
}
