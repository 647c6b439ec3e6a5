//! Where the records sit in the shared segment, and the view over them.

use super::{GlobalScore, ProcessScore, WorkerScore};

/// The segment's shape: one [`GlobalScore`], `server_limit` [`ProcessScore`]s, then
/// `server_limit × thread_limit` [`WorkerScore`]s, row by row (slot `i`'s threads are
/// `i * thread_limit ..`).
///
/// httpd aligns each part to 8 bytes; we align to 64 (a multiple of 8, so every 8-byte rule still
/// holds) because every record is `align(64)`: a worker's counters never share a cache line with
/// another thread's.
#[doc(alias = "ap_calc_scoreboard_size")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// `ServerLimit`: process slots.
    pub server_limit: u32,
    /// `ThreadLimit`: worker slots per process.
    pub thread_limit: u32,
}

impl Layout {
    /// The alignment of the segment's base and of every part.
    pub const ALIGN: usize = 64;

    /// A layout with these limits.
    pub const fn new(server_limit: u32, thread_limit: u32) -> Layout {
        Layout {
            server_limit,
            thread_limit,
        }
    }

    /// The number of worker records, or `None` if it does not fit in `usize`.
    pub const fn workers(&self) -> Option<usize> {
        (self.server_limit as usize).checked_mul(self.thread_limit as usize)
    }

    /// Byte offset of the first [`ProcessScore`].
    pub const fn process_offset(&self) -> usize {
        round_up(size_of::<GlobalScore>())
    }

    /// Byte offset of the first [`WorkerScore`], or `None` on overflow.
    pub const fn worker_offset(&self) -> Option<usize> {
        match (self.server_limit as usize).checked_mul(size_of::<ProcessScore>()) {
            Some(bytes) => self.process_offset().checked_add(round_up(bytes)),
            None => None,
        }
    }

    /// Total bytes of the segment, or `None` if the limits are zero or the size overflows
    /// `isize` (no region that large can exist).
    pub const fn size(&self) -> Option<usize> {
        if self.server_limit == 0 || self.thread_limit == 0 {
            return None;
        }
        let (Some(offset), Some(workers)) = (self.worker_offset(), self.workers()) else {
            return None;
        };
        let Some(bytes) = workers.checked_mul(size_of::<WorkerScore>()) else {
            return None;
        };
        match offset.checked_add(bytes) {
            Some(total) if total <= isize::MAX as usize => Some(total),
            _ => None,
        }
    }
}

const fn round_up(n: usize) -> usize {
    n.div_ceil(Layout::ALIGN) * Layout::ALIGN
}

#[cfg(not(loom))]
const _: () = {
    // Record sizes are multiples of the alignment, so arrays of them keep every record aligned
    // and the part sizes need no padding.
    assert!(size_of::<GlobalScore>().is_multiple_of(Layout::ALIGN));
    assert!(size_of::<ProcessScore>().is_multiple_of(Layout::ALIGN));
    assert!(size_of::<WorkerScore>().is_multiple_of(Layout::ALIGN));
    assert!(align_of::<GlobalScore>() == Layout::ALIGN);
    assert!(align_of::<ProcessScore>() == Layout::ALIGN);
    assert!(align_of::<WorkerScore>() == Layout::ALIGN);
};

/// A view of a whole scoreboard: the global record, the process records and the worker records.
///
/// Cheap to copy. Every accessor is bounds-checked against the [`Layout`] the view was built with,
/// which comes from the caller's configuration, never from the shared memory.
#[derive(Clone, Copy, Debug)]
pub struct Scoreboard<'a> {
    global: &'a GlobalScore,
    processes: &'a [ProcessScore],
    workers: &'a [WorkerScore],
    layout: Layout,
}

impl<'a> Scoreboard<'a> {
    /// A view over records the caller owns (tests, the embedded runtime, a parent that keeps the
    /// scoreboard in ordinary memory). `workers` holds `processes.len()` rows of equal length;
    /// `None` if there are no processes, the rows are uneven, or a limit exceeds `u32`.
    pub fn new(
        global: &'a GlobalScore,
        processes: &'a [ProcessScore],
        workers: &'a [WorkerScore],
    ) -> Option<Scoreboard<'a>> {
        if processes.is_empty()
            || workers.is_empty()
            || !workers.len().is_multiple_of(processes.len())
        {
            return None;
        }
        let layout = Layout::new(
            u32::try_from(processes.len()).ok()?,
            u32::try_from(workers.len() / processes.len()).ok()?,
        );
        Some(Scoreboard {
            global,
            processes,
            workers,
            layout,
        })
    }

    /// A view over a shared segment laid out by `layout` at `base`, or `None` if `base` is null or
    /// not aligned to [`Layout::ALIGN`], or `layout` has no valid [`size`](Layout::size).
    ///
    /// # Safety
    ///
    /// For the whole of `'a`:
    /// - `base` must point to `layout.size()` bytes that stay mapped, readable and writable (for
    ///   instance a `MAP_SHARED` mapping of at least that length, not unmapped before `'a` ends);
    /// - every one of those bytes must be initialised (a fresh anonymous or file mapping is
    ///   zero-filled, and all-zero bytes are a valid scoreboard; any other bit pattern is valid
    ///   too, since every field is an integer);
    /// - within this process the bytes must be accessed only through the record types (no plain
    ///   reads or writes, no `&mut` to them, no `memset` while a view exists); other processes
    ///   may change them concurrently only with atomic accesses of the same widths, which is what
    ///   this crate's writers do.
    #[cfg(not(loom))]
    pub unsafe fn from_raw(base: *mut u8, layout: Layout) -> Option<Scoreboard<'a>> {
        let _size = layout.size()?;
        let worker_offset = layout.worker_offset()?;
        let workers = layout.workers()?;
        if base.is_null() || !(base as usize).is_multiple_of(Layout::ALIGN) {
            return None;
        }
        // SAFETY: the caller guarantees `layout.size()` initialised, live, atomically accessed
        // bytes at `base`; the offsets and lengths below stay within that size (checked by
        // `Layout::size`), every part starts at a multiple of 64 from a 64-aligned base, and
        // every bit pattern is a valid record (all fields are integer atomics).
        let global = unsafe { &*base.cast::<GlobalScore>() };
        // SAFETY: as above; `server_limit` records start at `process_offset`.
        let processes = unsafe {
            core::slice::from_raw_parts(
                base.add(layout.process_offset()).cast::<ProcessScore>(),
                layout.server_limit as usize,
            )
        };
        // SAFETY: as above; `server_limit * thread_limit` records start at `worker_offset`.
        let workers = unsafe {
            core::slice::from_raw_parts(base.add(worker_offset).cast::<WorkerScore>(), workers)
        };
        Some(Scoreboard {
            global,
            processes,
            workers,
            layout,
        })
    }

    /// The limits this view was built with.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The server-wide record.
    pub fn global(&self) -> &'a GlobalScore {
        self.global
    }

    /// Every process record, slot order.
    pub fn processes(&self) -> &'a [ProcessScore] {
        self.processes
    }

    /// Slot `slot`'s process record.
    pub fn process(&self, slot: usize) -> Option<&'a ProcessScore> {
        self.processes.get(slot)
    }

    /// Slot `slot`'s worker records (`thread_limit` of them; empty if `slot` is out of range).
    pub fn workers(&self, slot: usize) -> &'a [WorkerScore] {
        let per_process = self.layout.thread_limit as usize;
        slot.checked_mul(per_process)
            .and_then(|start| self.workers.get(start..start.checked_add(per_process)?))
            .unwrap_or_default()
    }

    /// The record of thread `thread` of slot `slot`.
    pub fn worker(&self, slot: usize, thread: usize) -> Option<&'a WorkerScore> {
        self.workers(slot).get(thread)
    }

    /// An ungraceful restart, with every child gone: zeroes all process and worker records and
    /// records the new restart time (httpd keeps the segment and `memset`s its records). The
    /// running generation is the caller's to set.
    pub fn reset(&self, restart_time: i64) {
        for process in self.processes {
            process.clear();
        }
        for worker in self.workers {
            worker.clear();
        }
        self.global.init(
            self.layout.server_limit,
            self.layout.thread_limit,
            restart_time,
        );
    }
}
