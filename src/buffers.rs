//! A bounded pool of fixed-size I/O buffers shared by the listener and the workers.
//!
//! A connection holds a buffer only while bytes are in flight: while its request head arrives,
//! while a worker serves it, while a response waits in write completion. An idle keep-alive
//! connection holds none — that is what keeps memory per idle connection small. A buffer goes
//! back to its pool when it is dropped, wherever that happens, so no path can leak one; the pool
//! keeps at most `max_free` of them for reuse (httpd's `MaxMemFree` plays this role for its
//! pools) and frees the rest. At most `max_total` buffers exist at once, sized from the
//! connection table at child start, so the pool cannot grow without bound under load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A buffer from a [`Pool`]; it returns to the pool when dropped.
#[derive(Debug)]
pub struct Buf {
    bytes: Box<[u8]>,
    pool: &'static Pool,
}

impl Buf {
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
}

impl Pool {
    /// A pool of `size`-byte buffers, keeping at most `max_free` idle ones, with at most
    /// `max_total` in existence. It is never freed.
    pub fn new(size: usize, max_free: usize, max_total: usize) -> &'static Pool {
        let max_free = max_free.min(max_total);
        Box::leak(Box::new(Pool {
            size,
            max_free,
            max_total,
            total: AtomicUsize::new(0),
            free: Mutex::new(Vec::with_capacity(max_free)),
        }))
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
        let pool = Pool::new(64, 1, 2);
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
        let pool = Pool::new(8, 4, 4);
        for _ in 0..100 {
            let held: Vec<Buf> = (0..4).map(|_| pool.take().unwrap()).collect();
            drop(held);
        }
        assert_eq!((pool.total(), pool.free()), (4, 4));
    }
}
