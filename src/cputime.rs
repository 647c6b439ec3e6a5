//! CPU time for the scoreboard, in httpd's unit (clock ticks), and how often a thread records
//! its own.
//!
//! Who records what (server-status adds it all up, [`eventmpm_core::status`]):
//! - each worker thread, its own time, in its worker record, when a request ends and when it
//!   goes idle;
//! - each child's listener thread, its own time, in the child's process record, once per loop;
//! - the thread that reaped a CGI script, the child's reaped children's time
//!   (`RUSAGE_CHILDREN`), in the process record, right after the reaping;
//! - the parent, its own time and that of the children it reaped (server children that exited,
//!   with whatever they had reaped), in the global record, once per main-loop turn.
//!
//! httpd calls `times()` at every request end and stores the process's figures in every worker
//! record; ours are per thread, so they add up, and each thread reads only its own clock.

use eventmpm_core::scoreboard::CpuTimes;
use eventmpm_core::time::{Duration, Instant};

use crate::sys::{self, CpuTime};

/// How often, at most, a thread reads its own CPU clock (a system call: `getrusage`, which no
/// vDSO answers) to record it. What the page shows trails a thread by at most this much of its
/// CPU time — ten of the 10 ms clock ticks the figures are kept in, less than one refresh of a
/// status page — while a busy thread makes ten readings a second instead of one per request
/// (at 10 ms, 50 busy workers cost a quarter of a system call per request).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// When a thread last recorded its CPU time.
#[derive(Debug, Default)]
pub struct Sampler {
    last: Option<Instant>,
}

impl Sampler {
    /// Whether the thread should record its CPU time now (it never has, or [`SAMPLE_EVERY`] has
    /// passed on the thread's monotonic clock); if so, `now` becomes the last time.
    pub fn due(&mut self, now: Instant) -> bool {
        if self
            .last
            .is_some_and(|last| now.saturating_since(last) < SAMPLE_EVERY)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// `d` in clock ticks of `hz` per second, rounded to the nearest, at most `u32::MAX` (497 days
/// at 100 Hz). Rounded, not cut: the page adds up one figure per thread, and many threads that
/// each used less than a tick would otherwise add up to nothing (httpd rounds once, per process).
pub fn ticks(d: std::time::Duration, hz: u32) -> u32 {
    u32::try_from((d.as_micros() * u128::from(hz) + 500_000) / 1_000_000).unwrap_or(u32::MAX)
}

fn to_ticks(t: CpuTime, hz: u32) -> (u32, u32) {
    (ticks(t.user, hz), ticks(t.system, hz))
}

/// The calling thread's CPU time in ticks (user, system); `None` if the system would not say.
pub fn thread_ticks() -> Option<(u32, u32)> {
    sys::thread_cpu()
        .ok()
        .map(|t| to_ticks(t, sys::clock_ticks()))
}

/// The CPU time of the children this process reaped, in ticks (user, system).
pub fn children_ticks() -> Option<(u32, u32)> {
    sys::children_cpu()
        .ok()
        .map(|t| to_ticks(t, sys::clock_ticks()))
}

/// The parent's record: its own CPU time and its reaped children's (httpd's `times()`).
pub fn process_times() -> CpuTimes {
    let hz = sys::clock_ticks();
    let own = sys::process_cpu().unwrap_or_default();
    let children = sys::children_cpu().unwrap_or_default();
    CpuTimes {
        user: ticks(own.user, hz),
        system: ticks(own.system, hz),
        children_user: ticks(children.user, hz),
        children_system: ticks(children.system, hz),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_due_first_and_then_every_interval() {
        let mut s = Sampler::default();
        let at = Instant::from_millis;
        let every = SAMPLE_EVERY.as_millis();
        assert!(s.due(at(1_000)));
        assert!(!s.due(at(1_000)));
        assert!(!s.due(at(1_000 + every - 1)));
        assert!(s.due(at(1_000 + every)));
        assert!(!s.due(at(1_000 + every + 5)));
        // A clock that went backwards (another thread's) never blocks sampling for long.
        assert!(!s.due(at(500)));
        assert!(s.due(at(1_000 + 2 * every)));
    }

    #[test]
    fn ticks_round_to_the_nearest_and_saturate() {
        let ms = std::time::Duration::from_millis;
        assert_eq!(ticks(ms(0), 100), 0);
        assert_eq!(ticks(ms(4), 100), 0);
        assert_eq!(ticks(ms(5), 100), 1);
        assert_eq!(ticks(ms(14), 100), 1);
        assert_eq!(ticks(ms(1_234), 100), 123);
        assert_eq!(ticks(ms(1_239), 100), 124);
        assert_eq!(ticks(ms(1_239), 1000), 1239);
        assert_eq!(
            ticks(std::time::Duration::from_secs(50_000_000), 100),
            u32::MAX
        );
    }

    #[test]
    fn a_thread_that_burns_cpu_sees_its_ticks_grow_by_as_much() {
        let total = |t: CpuTime| t.user + t.system;
        let hz = sys::clock_ticks();
        let (u0, s0) = thread_ticks().unwrap();
        let from = total(sys::thread_cpu().unwrap());
        let wall = std::time::Instant::now();
        let mut x = 0u64;
        // 60 ms of this thread's CPU time, bounded by 20 s of wall time on a crowded machine.
        while total(sys::thread_cpu().unwrap()) - from < std::time::Duration::from_millis(60)
            && wall.elapsed() < std::time::Duration::from_secs(20)
        {
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        let (u1, s1) = thread_ticks().unwrap();
        let grew = (u1 + s1) - (u0 + s0);
        // Each of the four figures is rounded on its own: half a tick each.
        assert!(grew + 2 >= 60 * hz / 1000, "{grew} ticks at {hz} Hz");
        let parent = process_times();
        assert!(parent.user + parent.system + 1 >= u1 + s1, "{parent:?}");
    }
}
