//! The scoreboard in shared memory, and one child's handle on its own records.
//!
//! The parent maps the segment (anonymous and shared, so children inherit it across `fork`)
//! before it starts any child, and never unmaps it: the records must stay valid for every
//! process that might still read them. Every record has a single writer (see
//! [`eventmpm_core::scoreboard`]); this module only decides which slot a child writes.

use std::io;
use std::time::Duration;

use eventmpm_core::scoreboard::{Layout, ProcessScore, Scoreboard, WorkerScore};
use eventmpm_core::table::Counts;
use eventmpm_core::time::Instant;

/// Map a zeroed, shared scoreboard segment for `layout`. It lives until the process exits.
pub fn map(layout: Layout) -> io::Result<Scoreboard<'static>> {
    let size = layout
        .size()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "scoreboard too large"))?;
    // SAFETY: a fresh anonymous mapping aliases nothing; MAP_SHARED keeps it shared with the
    // children forked later. It is never unmapped, so 'static holds.
    let base = unsafe {
        rustix::mm::mmap_anonymous(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
        )?
    };
    // SAFETY: the mapping is page-aligned (the records need 64), `size` bytes long, zeroed by
    // the kernel (a valid initial state for every record) and lives forever.
    unsafe { Scoreboard::from_raw(base.cast(), layout) }
        .ok_or_else(|| io::Error::other("scoreboard mapping rejected"))
}

/// Map the scoreboard on a file (`ScoreBoardFile`): the file is replaced, sized and shared, so
/// other programs can read the records too. Lives until the process exits.
pub fn map_file(path: &std::path::Path, layout: Layout) -> io::Result<Scoreboard<'static>> {
    let size = layout
        .size()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "scoreboard too large"))?;
    // httpd removes a stale file first, so an old segment's contents never leak in.
    let _ = std::fs::remove_file(path);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?;
    file.set_len(size as u64)?;
    // SAFETY: a fresh, zero-filled file mapping of `size` bytes, shared across fork and never
    // unmapped (the descriptor may close; the mapping stays).
    let base = unsafe {
        rustix::mm::mmap(
            std::ptr::null_mut(),
            size,
            rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
            rustix::mm::MapFlags::SHARED,
            &file,
            0,
        )?
    };
    // SAFETY: as in `map`: page-aligned, zeroed, `size` bytes, never unmapped.
    unsafe { Scoreboard::from_raw(base.cast(), layout) }
        .ok_or_else(|| io::Error::other("scoreboard mapping rejected"))
}

/// The monotonic clock every process uses for scoreboard times: milliseconds since boot, the
/// same in the parent and in every child.
pub fn monotonic_now() -> Instant {
    Instant::from_millis(crate::sys::monotonic().as_millis() as u64)
}

/// The scoreboard time of `t`, an instant of std's clock (CLOCK_MONOTONIC too), without
/// reading the clock again: a request reads it once at its start and once at its end, and both
/// clocks' readings come from those (five reads a request were 2 % of a cheap request's CPU).
/// Exact to within the two reads that anchor one clock to the other, under a microsecond.
pub fn monotonic_at(t: std::time::Instant) -> Instant {
    static ANCHOR: std::sync::OnceLock<(std::time::Instant, Duration)> = std::sync::OnceLock::new();
    let &(std_at, mono_at) = ANCHOR.get_or_init(|| {
        let std_at = std::time::Instant::now();
        (std_at, crate::sys::monotonic())
    });
    let mono = match t.checked_duration_since(std_at) {
        Some(after) => mono_at + after,
        None => mono_at.saturating_sub(std_at.duration_since(t)),
    };
    Instant::from_millis(mono.as_millis() as u64)
}

/// One child's records: its process slot and its worker slots.
#[derive(Debug)]
pub struct Board {
    scoreboard: Scoreboard<'static>,
    slot: usize,
    generation: u32,
}

impl Board {
    /// The records of the child in process `slot`, of `generation`.
    pub fn new(scoreboard: Scoreboard<'static>, slot: usize, generation: u32) -> Board {
        Board {
            scoreboard,
            slot,
            generation,
        }
    }

    /// The whole scoreboard (for server-status).
    pub fn scoreboard(&self) -> Scoreboard<'static> {
        self.scoreboard
    }

    /// This child's process slot.
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// This child's generation.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    fn process(&self) -> Option<&'static ProcessScore> {
        self.scoreboard.process(self.slot)
    }

    /// Worker `thread`'s record.
    pub fn worker(&self, thread: usize) -> Option<&'static WorkerScore> {
        self.scoreboard.worker(self.slot, thread)
    }

    /// The listener switched its listening sockets on or off.
    pub fn set_accepting(&self, accepting: bool) {
        if let Some(p) = self.process() {
            p.set_accepting(accepting);
        }
    }

    /// The child started stopping (httpd's `quiescing = 1`); its idle workers show 'G' (as
    /// httpd's `close_listeners`), so neither the parent nor server-status counts them as
    /// ready. Call after setting the stopping flag workers check on going idle.
    pub fn set_stopping(&self) {
        if let Some(p) = self.process() {
            p.set_stopping();
            p.set_accepting(false);
        }
        // Pairs with the fence in the worker's `on_idle`: a worker publishing '_' either sees
        // the stopping flag or has its '_' seen here.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        for w in self.scoreboard.workers(self.slot) {
            w.mark_graceful_if_ready();
        }
    }

    /// The listener's own thread CPU time so far, in clock ticks.
    pub fn set_listener_cpu(&self, (user, system): (u32, u32)) {
        if let Some(p) = self.process() {
            p.set_listener_cpu(user, system);
        }
    }

    /// The listener answered a request itself (no worker), sending `bytes` in `duration_ms`.
    pub fn count_listener_request(&self, bytes: u64, duration_ms: u64) {
        if let Some(p) = self.process() {
            p.count_listener_request(bytes, duration_ms);
        }
    }

    /// Any thread, after it reaped a CGI script: the CPU time of every child this process has
    /// reaped so far, in clock ticks (only ever raised, so racing threads are harmless).
    pub fn raise_children_cpu(&self, (user, system): (u32, u32)) {
        if let Some(p) = self.process() {
            p.raise_children_cpu(user, system);
        }
    }

    /// Publish the connection table's counters (exact, unlike httpd's, which it copies only
    /// when it processes its timeout queues). Only the listener calls this, and only when they
    /// changed.
    pub fn publish_counts(&self, c: &Counts) {
        let counts = c.published();
        if let Some(p) = self.process() {
            p.publish(&counts);
        }
    }
}
