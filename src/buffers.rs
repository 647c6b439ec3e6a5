//! A bounded pool of fixed-size I/O buffers shared by the listener and the workers.
//!
//! A connection holds a buffer only while bytes are in flight: while its request head arrives,
//! while a worker serves it, while a response waits in write completion. An idle keep-alive
//! connection holds none — that is what keeps memory per idle connection small. A buffer goes
//! back to its pool when it is dropped, wherever that happens, so no path can leak one; the pool
//! keeps at most `max_free` of them for reuse (httpd's `MaxMemFree` plays this role for its
//! pools) and frees the rest. At most `max_total` buffers exist at once, sized from the
//! connection table at child start, so the pool cannot grow without bound under load.
//!
//! Free buffers that nobody has taken for [`REST`] are released, down to [`IDLE_KEEP`], by the
//! pool's reclaimer thread ([`Pool::start_reclaimer`]): without it a burst (the ramp of 10,000
//! keep-alive clients, say) would leave up to `MaxMemFree` of buffers per child resident for as
//! long as the child then rests — memory no waiting connection uses (nginx keeps no buffer
//! between requests at all). Buffers are mappings of their own ([`Pages`]) so that releasing
//! one really shrinks the process. The reclaimer sleeps while there is nothing to release, so a
//! child at rest makes no wake-ups.
//!
//! A request head may be larger than a buffer (httpd accepts up to `LimitRequestFields` fields of
//! `LimitRequestFieldSize` bytes, about 800 KiB). Such a head's buffer grows ([`Buf::grow`]);
//! the bytes beyond the pool's size come from a budget (`max_extra`), so however many clients
//! send large heads at once, the memory they take is bounded. A grown buffer is freed, not kept,
//! when it is dropped.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::pages::Pages;
use crate::sys;

/// How long a free buffer stays unused before the reclaimer releases it: long enough that a
/// server under steady load keeps the buffers it keeps needing, short enough that a child at
/// rest gives a burst's buffers back within about a second and a half.
pub const REST: Duration = Duration::from_secs(1);
/// How often the reclaimer looks, while some free buffer may be due: a release comes at most this
/// much later than [`REST`], and the reclaimer wakes at most 4 times a second (only while buffers
/// beyond [`IDLE_KEEP`] are free).
const TICK: Duration = Duration::from_millis(250);
/// Free buffers the reclaimer always leaves: a request's input and output buffers twice over, so
/// a child answering one client at a time never maps and unmaps between requests. A child at
/// rest holds 4 × the buffer size (80 KiB with the default 20 KiB buffers).
pub const IDLE_KEEP: usize = 4;

/// A buffer from a [`Pool`]; it returns to the pool when dropped.
#[derive(Debug)]
pub struct Buf {
    /// Taken out only by `drop`, which hands the pages to the pool.
    pages: ManuallyDrop<Pages>,
    pool: &'static Pool,
}

impl Buf {
    /// Enlarge the buffer to `len` bytes, keeping its contents. Returns `false`, leaving the
    /// buffer as it was, if the pool's budget for large buffers cannot cover the bytes beyond
    /// its buffer size (or the memory cannot be had).
    pub fn grow(&mut self, len: usize) -> bool {
        let old = self.pages.len();
        if len <= old {
            return true;
        }
        if !self.pool.reserve_extra(len - old) {
            return false;
        }
        let Some(mut pages) = Pages::new(len) else {
            self.pool.extra.fetch_sub(len - old, Ordering::Relaxed);
            return false;
        };
        pages.as_mut_slice()[..old].copy_from_slice(self.pages.as_slice());
        // The buffer stays one of the pool's `total`; its old pages are unmapped here.
        drop(std::mem::replace(&mut *self.pages, pages));
        true
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.pages.as_slice()
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.pages.as_mut_slice()
    }

    /// The buffer's size.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether the buffer has no bytes (never, for a pool's buffers).
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        // SAFETY: `pages` is taken exactly once, here, and `self` is not used afterwards.
        let pages = unsafe { ManuallyDrop::take(&mut self.pages) };
        self.pool.give_back(pages);
    }
}

/// Free buffers, the most recently given back last, each with when it was given back.
#[derive(Debug)]
struct Free {
    /// Each with when it was given back ([`sys::coarse_monotonic`]).
    stack: Vec<(Pages, Duration)>,
    /// The reclaimer waits for free buffers beyond [`IDLE_KEEP`] (a give-back that makes them
    /// wakes it).
    reclaimer_waiting: bool,
}

/// The pool. Thread-safe; each operation takes one short lock. A pool lives as long as the
/// process (a child's pool is created once, when the child starts).
#[derive(Debug)]
pub struct Pool {
    size: usize,
    max_free: usize,
    max_total: usize,
    total: AtomicUsize,
    free: Mutex<Free>,
    /// Wakes the reclaimer.
    excess: Condvar,
    /// Bytes grown buffers may hold beyond `size`, all together.
    max_extra: usize,
    /// Bytes grown buffers hold beyond `size` now.
    extra: AtomicUsize,
}

impl Pool {
    /// A pool of `size`-byte buffers, keeping at most `max_free` idle ones, with at most
    /// `max_total` in existence, whose grown buffers together hold at most `max_extra` bytes
    /// beyond `size` each. It is never freed. Free buffers are released only once
    /// [`Pool::start_reclaimer`] runs.
    pub fn new(size: usize, max_free: usize, max_total: usize, max_extra: usize) -> &'static Pool {
        let max_free = max_free.min(max_total);
        Box::leak(Box::new(Pool {
            size,
            max_free,
            max_total,
            total: AtomicUsize::new(0),
            free: Mutex::new(Free {
                stack: Vec::with_capacity(max_free),
                reclaimer_waiting: false,
            }),
            excess: Condvar::new(),
            max_extra,
            extra: AtomicUsize::new(0),
        }))
    }

    /// Bytes grown buffers hold beyond the buffer size now.
    pub fn extra(&self) -> usize {
        self.extra.load(Ordering::Relaxed)
    }

    /// Take `n` bytes of the budget for grown buffers, if that many are left.
    fn reserve_extra(&self, n: usize) -> bool {
        self.extra
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |e| {
                e.checked_add(n).filter(|&t| t <= self.max_extra)
            })
            .is_ok()
    }

    /// The size of every buffer.
    pub fn buffer_size(&self) -> usize {
        self.size
    }

    /// Buffers currently in existence (in use or free).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Buffers free for reuse.
    pub fn free(&self) -> usize {
        self.lock().stack.len()
    }

    /// A buffer, reused if one is free (the most recently used: its pages are likeliest still in
    /// cache), or `None` if `max_total` buffers are already out or the system has no memory.
    pub fn take(&'static self) -> Option<Buf> {
        if let Some((pages, _)) = self.lock().stack.pop() {
            return Some(self.wrap(pages));
        }
        let prev = self.total.fetch_add(1, Ordering::Relaxed);
        if prev >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        match Pages::new(self.size) {
            Some(pages) => Some(self.wrap(pages)),
            None => {
                self.total.fetch_sub(1, Ordering::Relaxed);
                None
            }
        }
    }

    fn wrap(&'static self, pages: Pages) -> Buf {
        Buf {
            pages: ManuallyDrop::new(pages),
            pool: self,
        }
    }

    fn give_back(&self, pages: Pages) {
        if pages.len() != self.size {
            // A grown buffer: freed, and its extra bytes go back to the budget.
            self.extra
                .fetch_sub(pages.len() - self.size, Ordering::Relaxed);
            drop(pages);
            self.total.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let mut free = self.lock();
        if free.stack.len() >= self.max_free {
            drop(free);
            drop(pages);
            self.total.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        free.stack.push((pages, sys::coarse_monotonic()));
        // Only the give-back that makes the first buffer beyond IDLE_KEEP wakes a waiting
        // reclaimer: one wake-up per burst, not one per buffer.
        if free.stack.len() > IDLE_KEEP && free.reclaimer_waiting {
            free.reclaimer_waiting = false;
            drop(free);
            self.excess.notify_one();
        }
    }

    /// Release the free buffers given back at least [`REST`] before `now`, leaving
    /// [`IDLE_KEEP`]; returns how many were released. They are the bottom of the stack: a
    /// buffer is taken from the top, so one that sat below all that time was not needed.
    fn release_rested(&self, now: Duration) -> usize {
        let released: Vec<(Pages, Duration)> = {
            let mut free = self.lock();
            let beyond = free.stack.len().saturating_sub(IDLE_KEEP);
            let due = free.stack[..beyond]
                .iter()
                .take_while(|(_, at)| now.saturating_sub(*at) >= REST)
                .count();
            free.stack.drain(..due).collect()
        };
        // Unmapped outside the lock: nobody waits on the pool for the system calls.
        self.total.fetch_sub(released.len(), Ordering::Relaxed);
        released.len()
    }

    /// Start the thread that releases free buffers unused for [`REST`] (see the module
    /// documentation). It sleeps while [`IDLE_KEEP`] or fewer buffers are free, and runs for
    /// the rest of the process.
    pub fn start_reclaimer(&'static self) -> std::io::Result<()> {
        std::thread::Builder::new()
            .name("buffer-reclaim".into())
            // It only moves a few pointers and unmaps; the smallest stack that is safe on
            // every target will do.
            .stack_size(64 * 1024)
            .spawn(move || self.reclaim())
            .map(drop)
    }

    fn reclaim(&self) {
        loop {
            {
                let mut free = self.lock();
                while free.stack.len() <= IDLE_KEEP {
                    free.reclaimer_waiting = true;
                    free = self.excess.wait(free).unwrap_or_else(|e| e.into_inner());
                }
                free.reclaimer_waiting = false;
            }
            std::thread::sleep(TICK);
            self.release_rested(sys::coarse_monotonic());
        }
    }

    fn lock(&self) -> MutexGuard<'_, Free> {
        // A thread that panicked while holding the lock left the Vec intact (push/pop do not
        // unwind half-way), so the pool stays usable.
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_caps_total_and_frees_beyond_max_free() {
        let pool = Pool::new(64, 1, 2, 0);
        let a = pool.take().unwrap();
        let b = pool.take().unwrap();
        assert!(pool.take().is_none(), "max_total reached");
        assert_eq!(pool.total(), 2);
        drop(a);
        drop(b); // beyond max_free: freed
        assert_eq!((pool.total(), pool.free()), (1, 1));
        let c = pool.take().unwrap();
        assert_eq!(c.len(), 64);
        assert_eq!(pool.total(), 1, "reused, not allocated");
        let d = pool.take();
        assert!(d.is_some());
        assert!(pool.take().is_none());
        drop((c, d));
    }

    #[test]
    fn a_dropped_buffer_always_returns() {
        let pool = Pool::new(8, 4, 4, 0);
        for _ in 0..100 {
            let held: Vec<Buf> = (0..4).map(|_| pool.take().unwrap()).collect();
            drop(held);
        }
        assert_eq!((pool.total(), pool.free()), (4, 4));
    }

    #[test]
    fn growth_keeps_the_bytes_and_is_bounded_by_the_budget() {
        let pool = Pool::new(8, 4, 4, 24);
        let mut a = pool.take().unwrap();
        a.as_mut_slice().copy_from_slice(b"01234567");
        assert!(a.grow(16));
        assert_eq!(&a.as_slice()[..8], b"01234567");
        assert_eq!((a.len(), pool.extra()), (16, 8));
        assert!(a.grow(8), "not smaller");
        let mut b = pool.take().unwrap();
        assert!(!b.grow(32), "24 more would exceed the budget");
        assert_eq!((b.len(), pool.extra()), (8, 8));
        assert!(b.grow(24));
        assert_eq!(pool.extra(), 24);
        assert_eq!(pool.total(), 2);
        drop(a);
        // A grown buffer is freed, not kept for reuse.
        assert_eq!((pool.total(), pool.free(), pool.extra()), (1, 0, 16));
        drop(b);
        assert_eq!((pool.total(), pool.free(), pool.extra()), (0, 0, 0));
        assert_eq!(pool.take().unwrap().len(), 8);
    }

    #[test]
    fn buffers_unused_for_rest_are_released_down_to_idle_keep() {
        let pool = Pool::new(4096, 64, 64, 0);
        let burst: Vec<Buf> = (0..10).map(|_| pool.take().unwrap()).collect();
        let t0 = sys::coarse_monotonic();
        drop(burst);
        assert_eq!((pool.total(), pool.free()), (10, 10));
        assert_eq!(pool.release_rested(t0), 0, "just given back");
        // Two taken and given back again: the most recently used are kept.
        let again: Vec<Buf> = (0..2).map(|_| pool.take().unwrap()).collect();
        drop(again);
        let later = sys::coarse_monotonic() + REST;
        assert_eq!(pool.release_rested(later), 10 - IDLE_KEEP);
        assert_eq!((pool.total(), pool.free()), (IDLE_KEEP, IDLE_KEEP));
        assert_eq!(
            pool.release_rested(later + REST),
            0,
            "never below IDLE_KEEP"
        );
    }

    #[test]
    fn a_buffer_in_use_for_long_is_not_released_when_given_back() {
        let pool = Pool::new(4096, 64, 64, 0);
        let held: Vec<Buf> = (0..IDLE_KEEP + 3).map(|_| pool.take().unwrap()).collect();
        // Given back now, after however long in use: it rests from now.
        drop(held);
        assert_eq!(pool.release_rested(sys::coarse_monotonic()), 0);
    }

    #[test]
    fn the_reclaimer_releases_a_burst_at_rest() {
        let pool = Pool::new(4096, 64, 64, 0);
        pool.start_reclaimer().unwrap();
        drop(
            (0..IDLE_KEEP + 6)
                .map(|_| pool.take().unwrap())
                .collect::<Vec<_>>(),
        );
        // Bounded wait: REST plus a few ticks, generously, on a loaded machine.
        let mut waited = Duration::ZERO;
        while pool.total() > IDLE_KEEP && waited < REST * 20 {
            std::thread::sleep(TICK);
            waited += TICK;
        }
        assert_eq!((pool.total(), pool.free()), (IDLE_KEEP, IDLE_KEEP));
    }
}
