//! The parent's read-only view of the scoreboard.

use crate::scoreboard::WorkerStatus;

/// A child's process record as the parent reads it from the scoreboard.
///
/// The children write these records, so every field is a claim, not a fact: maintenance uses
/// `pid` and `generation` only to check that the record belongs to the child the parent forked
/// into that slot, and uses `quiescing` and `not_accepting` only to count idle threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProcessView {
    /// The pid the record claims (written by the parent at fork in httpd).
    pub pid: i32,
    /// The generation the record claims.
    pub generation: u32,
    /// 0 while the child serves; non-zero once it has closed its listeners to stop.
    pub quiescing: u8,
    /// The child has switched its listeners off for want of capacity (event only).
    pub not_accepting: bool,
}

/// The scoreboard as maintenance reads it: the real shared-memory records, or arrays in tests.
///
/// Maintenance only calls `process` for `slot < process_slots()` and `worker_status` for
/// `thread < thread_slots()`, but implementations should still answer anything (an empty record,
/// [`WorkerStatus::Dead`]) rather than panic. A status byte that is not a [`WorkerStatus`] should
/// be reported as `Dead` ([`WorkerStatus::from_u8`] gives `None` for it).
pub trait Board {
    /// Process records the board holds (ServerLimit at first start).
    fn process_slots(&self) -> usize;
    /// Thread records per process (ThreadLimit at first start).
    fn thread_slots(&self) -> usize;
    /// The process record of `slot`.
    fn process(&self, slot: usize) -> ProcessView;
    /// The status of thread `thread` of the child in `slot`.
    fn worker_status(&self, slot: usize, thread: usize) -> WorkerStatus;
}

impl<B: Board + ?Sized> Board for &B {
    fn process_slots(&self) -> usize {
        (**self).process_slots()
    }
    fn thread_slots(&self) -> usize {
        (**self).thread_slots()
    }
    fn process(&self, slot: usize) -> ProcessView {
        (**self).process(slot)
    }
    fn worker_status(&self, slot: usize, thread: usize) -> WorkerStatus {
        (**self).worker_status(slot, thread)
    }
}
