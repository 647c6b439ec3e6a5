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
//! A request head may be larger than a buffer (httpd accepts up to `LimitRequestFields` fields of
//! `LimitRequestFieldSize` bytes, about 800 KiB). Such a head's buffer grows ([`Buf::grow`]);
//! the bytes beyond the pool's size come from a budget (`max_extra`), so however many clients
//! send large heads at once, the memory they take is bounded. A grown buffer is freed, not kept,
//! when it is dropped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A buffer from a [`Pool`]; it returns to the pool when dropped.
#[derive(Debug)]
pub struct Buf {
    bytes: Box<[u8]>,
    pool: &'static Pool,
}

impl Buf {
    /// Enlarge the buffer to `len` bytes, keeping its contents. Returns `false`, leaving the
    /// buffer as it was, if the pool's budget for large buffers cannot cover the bytes beyond
    /// its buffer size.
    pub fn grow(&mut self, len: usize) -> bool {
        let old = self.bytes.len();
        if len <= old {
            return true;
        }
        if !self.pool.reserve_extra(len - old) {
            return false;
        }
        let mut bytes = vec![0u8; len].into_boxed_slice();
        bytes[..old].copy_from_slice(&self.bytes);
        // The buffer stays one of the pool's `total`; its old bytes are freed here.
        self.bytes = bytes;
        true
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// The buffer's size.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the buffer has no bytes (never, for a pool's buffers).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl Drop for Buf {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.bytes));
    }
}

/// The pool. Thread-safe; each operation takes one short lock. A pool lives as long as the
/// process (a child's pool is created once, when the child starts).
#[derive(Debug)]
pub struct Pool {
    size: usize,
    max_free: usize,
    max_total: usize,
    total: AtomicUsize,
    free: Mutex<Vec<Box<[u8]>>>,
    /// Bytes grown buffers may hold beyond `size`, all together.
    max_extra: usize,
    /// Bytes grown buffers hold beyond `size` now.
    extra: AtomicUsize,
}

impl Pool {
    /// A pool of `size`-byte buffers, keeping at most `max_free` idle ones, with at most
    /// `max_total` in existence, whose grown buffers together hold at most `max_extra` bytes
    /// beyond `size` each. It is never freed.
    pub fn new(size: usize, max_free: usize, max_total: usize, max_extra: usize) -> &'static Pool {
        let max_free = max_free.min(max_total);
        Box::leak(Box::new(Pool {
            size,
            max_free,
            max_total,
            total: AtomicUsize::new(0),
            free: Mutex::new(Vec::with_capacity(max_free)),
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
        self.lock().len()
    }

    /// A buffer, reused if one is free, or `None` if `max_total` buffers are already out.
    pub fn take(&'static self) -> Option<Buf> {
        if let Some(bytes) = self.lock().pop() {
            return Some(Buf { bytes, pool: self });
        }
        let prev = self.total.fetch_add(1, Ordering::Relaxed);
        if prev >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Buf {
            bytes: vec![0u8; self.size].into_boxed_slice(),
            pool: self,
        })
    }

    fn give_back(&self, bytes: Box<[u8]>) {
        if bytes.len() != self.size {
            // A grown buffer: freed, and its extra bytes go back to the budget.
            self.extra
                .fetch_sub(bytes.len() - self.size, Ordering::Relaxed);
            drop(bytes);
            self.total.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let mut free = self.lock();
        if free.len() < self.max_free {
            free.push(bytes);
        } else {
            drop(free);
            drop(bytes);
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Box<[u8]>>> {
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
}
