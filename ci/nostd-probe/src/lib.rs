//! C-callable entry points that drive every atomic the core's shared-memory and synchronisation
//! code uses (the scoreboard's records and sequence locks, compare-and-swap, fetch-add, swap),
//! so their code is in the staticlib `ci/cross` inspects with `nm`.

#![no_std]

use core::panic::PanicInfo;

use eventmpm_core::scoreboard::{AsyncCounts, CountRules, Layout, Scoreboard, WorkerStatus};
use eventmpm_core::sync::{
    AtomicBool, AtomicI32, AtomicU8, AtomicU16, AtomicU32, AtomicUsize, Ordering,
};
use eventmpm_core::time::Instant;

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}

/// Run one child's life on the scoreboard segment at `base` (`server_limit` processes of
/// `thread_limit` threads, laid out as the core lays it out); returns the busy worker count, or
/// `u32::MAX` if the segment is unusable.
///
/// # Safety
///
/// `base` must satisfy [`Scoreboard::from_raw`]'s contract for that layout.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn eventmpm_probe_scoreboard(
    base: *mut u8,
    server_limit: u32,
    thread_limit: u32,
    now_ms: u64,
) -> u32 {
    let layout = Layout::new(server_limit, thread_limit);
    // SAFETY: forwarded from the caller.
    let Some(board) = (unsafe { Scoreboard::from_raw(base, layout) }) else {
        return u32::MAX;
    };
    let now = Instant::from_millis(now_ms);
    board.global().init(server_limit, thread_limit, now_ms as i64);
    board.global().set_running_generation(1);
    let Some(process) = board.process(0) else {
        return u32::MAX;
    };
    process.prepare(1);
    process.set_pid(42);
    process.set_accepting(true);
    process.publish(&AsyncCounts {
        connections: 3,
        keep_alive: 1,
        ..AsyncCounts::default()
    });
    let Some(worker) = board.worker(0, 0) else {
        return u32::MAX;
    };
    worker.start(42, 7, 1);
    worker.set_status(WorkerStatus::Ready, now);
    worker.begin_request(now);
    worker.set_request_line(b"GET /server-status HTTP/1.1");
    worker.set_client(b"192.0.2.1");
    worker.count_request(1234, now);
    worker.set_status(WorkerStatus::Write, now);
    let stopping = process.set_stopping();
    let noted = process.note_stopping();
    let counted = process.counts().map(|c| c.connections).unwrap_or(0);
    let read_ok = worker.read().is_ok() as u32;
    let busy = board
        .worker_counts(&CountRules {
            mpm_generation: 1,
            max_servers: server_limit,
            threads_per_child: thread_limit,
        })
        .busy;
    let _ = board.global().read();
    board.reset(now_ms as i64);
    busy + counted + read_ok + stopping as u32 + noted as u32
}

static FLAG: AtomicBool = AtomicBool::new(false);
static BYTE: AtomicU8 = AtomicU8::new(0);
static HALF: AtomicU16 = AtomicU16::new(0);
static WORD: AtomicU32 = AtomicU32::new(0);
static SIGNED: AtomicI32 = AtomicI32::new(0);
static SIZE: AtomicUsize = AtomicUsize::new(0);

/// Every read-modify-write the core's `sync` re-exports offer, at every width it re-exports.
#[unsafe(no_mangle)]
pub extern "C" fn eventmpm_probe_sync(x: u32) -> u32 {
    let mut r = WORD
        .compare_exchange(x, x.wrapping_add(1), Ordering::AcqRel, Ordering::Acquire)
        .unwrap_or_else(|v| v);
    r = r.wrapping_add(WORD.fetch_add(x, Ordering::Relaxed));
    r = r.wrapping_add(WORD.fetch_sub(1, Ordering::Release));
    r = r.wrapping_add(WORD.swap(x, Ordering::SeqCst));
    r = r.wrapping_add(
        WORD.fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_add(1))
            .unwrap_or(0),
    );
    r = r.wrapping_add(FLAG.swap(x & 1 == 1, Ordering::AcqRel) as u32);
    r = r.wrapping_add(FLAG.fetch_or(true, Ordering::AcqRel) as u32);
    r = r.wrapping_add(u32::from(BYTE.fetch_add(x as u8, Ordering::Relaxed)));
    r = r.wrapping_add(
        u32::from(BYTE.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()),
    );
    r = r.wrapping_add(u32::from(HALF.fetch_max(x as u16, Ordering::Relaxed)));
    r = r.wrapping_add(SIGNED.fetch_sub(x as i32, Ordering::Relaxed) as u32);
    r = r.wrapping_add(SIZE.fetch_add(1, Ordering::Relaxed) as u32);
    r.wrapping_add(SIZE.load(Ordering::Acquire) as u32)
}
