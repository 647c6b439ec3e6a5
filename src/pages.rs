//! Anonymous page mappings: zero-filled memory of its own, given back to the system the moment it
//! is dropped.
//!
//! The buffer pool ([`crate::buffers`]) keeps its buffers in mappings of their own rather than on
//! the malloc heap. A heap returns freed memory to the system only from its top, so after a burst
//! the freed buffers would stay resident beneath whatever was allocated after them (a worker's
//! log buffer growing, say) for the life of the child; measured at ci/bench's 10k settings, that
//! was up to 1.2 MiB per child whose buffers the pool had already freed. A mapping leaves the
//! resident set as soon as it is unmapped.
//!
//! POSIX `mmap(MAP_ANONYMOUS)`/`munmap`: every Unix the runtime targets has them. A mapping
//! takes whole pages (the buffer sizes are multiples of 4 KiB, so nothing is lost to rounding
//! with 4 KiB pages).

use std::ptr::NonNull;

use rustix::mm::{MapFlags, ProtFlags, mmap_anonymous, munmap};

/// `len` bytes of private, zero-filled, readable and writable memory in a mapping of their own.
#[derive(Debug)]
pub struct Pages {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Pages` owns its mapping exclusively, as a `Box<[u8]>` owns its allocation: moving it
// to another thread moves that ownership, and `&Pages` gives only shared access to the bytes.
unsafe impl Send for Pages {}
// SAFETY: see `Send`; nothing is mutated through `&Pages`.
unsafe impl Sync for Pages {}

impl Pages {
    /// Map `len` bytes (at least one). `None` if the system refuses (out of memory or of
    /// mappings): the caller answers as for an exhausted pool rather than aborting as a failed
    /// heap allocation would.
    pub fn new(len: usize) -> Option<Pages> {
        let len = len.max(1);
        // SAFETY: a new private anonymous mapping at an address the system picks aliases no
        // existing memory.
        let ptr = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )
        }
        .ok()?;
        Some(Pages {
            ptr: NonNull::new(ptr.cast())?,
            len,
        })
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping holds `len` readable bytes (zero-filled at first) for as long as
        // `self` lives, and `&self` excludes writers.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as `as_slice`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The length asked for (the mapping rounds it up to whole pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero (never: a mapping has at least one byte).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are the mapping made in `new` (munmap rounds `len` up to the
        // same whole pages mmap did); no reference into it outlives `self`.
        let r = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
        debug_assert!(r.is_ok(), "munmap of our own mapping failed: {r:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_filled_writable_and_sized_as_asked() {
        let mut p = Pages::new(20 * 1024).unwrap();
        assert_eq!(p.len(), 20 * 1024);
        assert!(p.as_slice().iter().all(|&b| b == 0));
        p.as_mut_slice()[20 * 1024 - 1] = 7;
        assert_eq!(p.as_slice()[20 * 1024 - 1], 7);
        let odd = Pages::new(5000).unwrap();
        assert_eq!(odd.len(), 5000);
    }
}
