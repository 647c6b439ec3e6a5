//! A bounded pool of fixed-size I/O buffers shared by the listener and the workers.
//!
//! A connection holds a buffer only while bytes are in flight: while its request head arrives,
//! while a worker serves it, while a response waits in write completion. An idle keep-alive
//! connection holds none — that is what keeps memory per idle connection small. Freed buffers
//! return to the pool, which keeps at most `max_free` of them for reuse (httpd's `MaxMemFree`
//! plays this role for its pools) and frees the rest. The number of buffers that exist at once is
//! capped at `max_total`, sized from the connection table at child start, so the pool cannot grow
//! without bound under load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A buffer from a [`Pool`]; return it with [`Pool::put`].
#[derive(Debug)]
pub struct Buf(Box<[u8]>);

impl Buf {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// The buffer's size.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the buffer has no bytes (never, for a pool's buffers).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The pool. Thread-safe; each operation takes one short lock.
#[derive(Debug)]
pub struct Pool {
    size: usize,
    max_free: usize,
    max_total: usize,
    total: AtomicUsize,
    free: Mutex<Vec<Buf>>,
}

impl Pool {
    /// A pool of `size`-byte buffers, keeping at most `max_free` idle ones, with at most
    /// `max_total` in existence.
    pub fn new(size: usize, max_free: usize, max_total: usize) -> Pool {
        let max_free = max_free.min(max_total);
        Pool {
            size,
            max_free,
            max_total,
            total: AtomicUsize::new(0),
            free: Mutex::new(Vec::with_capacity(max_free)),
        }
    }

    /// The size of every buffer.
    pub fn buffer_size(&self) -> usize {
        self.size
    }

    /// Buffers currently in existence (in use or free).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// A buffer, reused if one is free, or `None` if `max_total` buffers are already out.
    pub fn take(&self) -> Option<Buf> {
        if let Some(b) = self.lock().pop() {
            return Some(b);
        }
        let prev = self.total.fetch_add(1, Ordering::Relaxed);
        if prev >= self.max_total {
            self.total.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        Some(Buf(vec![0u8; self.size].into_boxed_slice()))
    }

    /// Return a buffer. Kept for reuse while fewer than `max_free` are idle, else freed.
    pub fn put(&self, b: Buf) {
        debug_assert_eq!(b.len(), self.size, "a buffer from another pool");
        let mut free = self.lock();
        if free.len() < self.max_free {
            free.push(b);
        } else {
            drop(free);
            drop(b);
            self.total.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Buf>> {
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
        pool.put(a);
        pool.put(b); // beyond max_free: freed
        assert_eq!(pool.total(), 1);
        let c = pool.take().unwrap();
        assert_eq!(c.len(), 64);
        assert_eq!(pool.total(), 1, "reused, not allocated");
        assert!(pool.take().is_some());
        assert!(pool.take().is_none());
    }
}
