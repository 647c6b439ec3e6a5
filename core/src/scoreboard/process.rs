//! One child process's record (`process_score`).

use super::CpuTimes;
use super::seqlock::{Byte, Inconsistent, Version, Word, Word64};

/// Where a child is in stopping (`process_score.quiescing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Quiescing {
    /// Serving (0).
    No = 0,
    /// The child closed its listeners and is finishing its connections (1, set by the child).
    Stopping = 1,
    /// Stopping, and the parent has already taken it out of its active count (2, set by the
    /// parent).
    Counted = 2,
}

impl Quiescing {
    /// The value stored as `raw`, or `None` for a value no writer produces.
    pub const fn from_u8(raw: u8) -> Option<Quiescing> {
        match raw {
            0 => Some(Quiescing::No),
            1 => Some(Quiescing::Stopping),
            2 => Some(Quiescing::Counted),
            _ => None,
        }
    }
}

/// The connection counts a child's listener publishes: exact at the moment of publishing, since the
/// listener owns every connection's state (httpd's copies lag until the next queue expiry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsyncCounts {
    /// Open connections of the child, in any state.
    pub connections: u32,
    /// Connections whose request head the listener is reading without a worker (ours; httpd
    /// gives a worker to every read).
    pub reading: u32,
    /// Connections the listener is finishing writing a response to (`write_completion`).
    pub write_completion: u32,
    /// Idle keep-alive connections.
    pub keep_alive: u32,
    /// Connections in lingering close.
    pub lingering_close: u32,
    /// Connections a module suspended.
    pub suspended: u32,
    /// Connections waiting for other input or output (httpd 2.4.x HEAD's `wait_io`).
    pub wait_io: u32,
}

/// One child process's slot in shared memory.
///
/// **Writers**, one per field:
/// - `pid` and `generation`: the parent ([`prepare`](Self::prepare) before `fork`,
///   [`set_pid`](Self::set_pid) after, [`release`](Self::release) after reaping).
/// - `quiescing`: the child moves it 0 → 1 ([`set_stopping`](Self::set_stopping)), the parent
///   1 → 2 ([`note_stopping`](Self::note_stopping)); both by compare-and-swap, so neither can undo
///   the other.
/// - `not_accepting`, the [`AsyncCounts`] and the listener thread's own CPU time: the child's
///   listener thread ([`set_accepting`](Self::set_accepting), [`publish`](Self::publish),
///   [`set_listener_cpu`](Self::set_listener_cpu)); the counts are one seqlock section so readers
///   see them from one moment, and so is the CPU time.
/// - the CPU time of the child's reaped children (CGI scripts): any thread of the child, after
///   it reaped one, but only ever raised ([`raise_children_cpu`](Self::raise_children_cpu)): the
///   process-wide figure grows monotonically, so the largest value written is the latest.
///
/// The worker threads' CPU times are in their own records; a process's CPU time is theirs plus
/// the listener's plus its children's.
///
/// Readers must treat what a child wrote as untrusted (httpd's CVE-2019-0211 let a child steer the
/// parent through such a field): nothing here is ever used as an index or size.
///
/// All-zero bytes are a valid record: an empty slot.
#[doc(alias = "process_score")]
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub struct ProcessScore {
    pid: Word,
    generation: Word,
    quiescing: Byte,
    not_accepting: Byte,
    version: Version,
    connections: Word,
    reading: Word,
    write_completion: Word,
    keep_alive: Word,
    lingering_close: Word,
    suspended: Word,
    wait_io: Word,
    listener_cpu: [Word; 2],
    children_cpu: [Word; 2],
    listener_served: [Word64; 3],
}

/// Requests the child's listener thread answered itself, without a worker (cheap requests:
/// a cached small file, an error, server-status). Lifetime counters of the slot, as a worker
/// record's `access_count` and `bytes_served`: they carry over from the slot's earlier children,
/// so the totals on the status page never go back when a child exits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListenerServed {
    /// Requests answered.
    pub requests: u64,
    /// Bytes sent for them (heads and bodies).
    pub bytes: u64,
    /// Milliseconds spent on them.
    pub duration_ms: u64,
}

/// A copy of a [`ProcessScore`], as plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessSnapshot {
    /// The child's pid; 0 for an empty slot.
    pub pid: i32,
    /// The MPM generation the child was started in.
    pub generation: u32,
    /// The raw `quiescing` byte: httpd (and the status page) treat any non-zero value as
    /// stopping. See [`Quiescing::from_u8`].
    pub quiescing: u8,
    /// The listener has stopped accepting (admission or dying).
    pub not_accepting: bool,
    /// The connection counts, or [`Inconsistent`] if the listener kept them mid-update.
    pub counts: Result<AsyncCounts, Inconsistent>,
    /// CPU time not in any worker record: the listener thread's (`user`, `system`; zero if it
    /// kept them mid-update) and the reaped children's (`children_user`, `children_system`).
    pub cpu: CpuTimes,
    /// Requests the listener answered itself (zero if it kept them mid-update).
    pub listener_served: ListenerServed,
}

impl ProcessSnapshot {
    /// Whether the slot holds a process.
    pub const fn is_live(&self) -> bool {
        self.pid != 0
    }

    /// Whether the process is stopping (any non-zero `quiescing`).
    pub const fn is_stopping(&self) -> bool {
        self.quiescing != 0
    }
}

impl ProcessScore {
    /// A zeroed record: an empty slot.
    #[cfg(not(loom))]
    pub const fn new() -> ProcessScore {
        ProcessScore {
            pid: Word::new(),
            generation: Word::new(),
            quiescing: Byte::new(),
            not_accepting: Byte::new(),
            version: Version::new(),
            connections: Word::new(),
            reading: Word::new(),
            write_completion: Word::new(),
            keep_alive: Word::new(),
            lingering_close: Word::new(),
            suspended: Word::new(),
            wait_io: Word::new(),
            listener_cpu: [const { Word::new() }; 2],
            children_cpu: [const { Word::new() }; 2],
            listener_served: [const { Word64::new() }; 3],
        }
    }

    /// The parent, before forking a child into this empty slot: resets the flags and counts and
    /// records the generation.
    pub fn prepare(&self, generation: u32) {
        self.quiescing.set(0);
        self.not_accepting.set(0);
        self.publish(&AsyncCounts::default());
        self.clear_cpu();
        self.generation.set(generation);
    }

    /// The parent, after `fork` returned the child's pid.
    pub fn set_pid(&self, pid: i32) {
        self.pid.set(pid as u32);
    }

    /// The parent, after reaping the child: empties the slot. The parent is the counts' writer now,
    /// and completes a section the child's listener may have died in.
    pub fn release(&self) {
        self.pid.set(0);
        self.quiescing.set(0);
        self.not_accepting.set(0);
        self.publish(&AsyncCounts::default());
        self.clear_cpu();
    }

    /// The parent, on an empty slot (no child writes it): zero CPU times.
    fn clear_cpu(&self) {
        self.set_listener_cpu(0, 0);
        for word in &self.children_cpu {
            word.set(0);
        }
    }

    /// The child's listener: its own thread's CPU time so far, in clock ticks.
    pub fn set_listener_cpu(&self, user: u32, system: u32) {
        self.version.write(|| {
            self.listener_cpu[0].set(user);
            self.listener_cpu[1].set(system);
        });
    }

    /// The child's listener: it answered a request itself, sending `bytes` in `duration_ms`
    /// (httpd's `ap_increment_counts`, for the one thread that is no worker).
    pub fn count_listener_request(&self, bytes: u64, duration_ms: u64) {
        self.version.write(|| {
            let [requests, sent, duration] = &self.listener_served;
            requests.add(1);
            sent.add(bytes);
            duration.add(duration_ms);
        });
    }

    /// What [`count_listener_request`](Self::count_listener_request) added up.
    pub fn listener_served(&self) -> ListenerServed {
        let [requests, bytes, duration_ms] = self
            .version
            .read(|| self.listener_served.each_ref().map(Word64::get))
            .unwrap_or_default();
        ListenerServed {
            requests,
            bytes,
            duration_ms,
        }
    }

    /// Any thread of the child, after reaping a child of its own (a CGI script): the CPU time of
    /// every child the process has reaped so far (`RUSAGE_CHILDREN`), in clock ticks. Only ever
    /// raises each value, so two threads reporting at once leave the later figure.
    pub fn raise_children_cpu(&self, user: u32, system: u32) {
        self.children_cpu[0].raise(user);
        self.children_cpu[1].raise(system);
    }

    /// The CPU time not in any worker record: the listener's (zero while it stayed mid-update)
    /// and the reaped children's.
    pub fn cpu(&self) -> CpuTimes {
        let [user, system] = self
            .version
            .read(|| [self.listener_cpu[0].get(), self.listener_cpu[1].get()])
            .unwrap_or_default();
        CpuTimes {
            user,
            system,
            children_user: self.children_cpu[0].get(),
            children_system: self.children_cpu[1].get(),
        }
    }

    /// The child: it has started stopping (closed its listeners). Returns `false` if it already
    /// was.
    pub fn set_stopping(&self) -> bool {
        self.quiescing
            .swap_if(Quiescing::No as u8, Quiescing::Stopping as u8)
    }

    /// The parent: it has seen the child stopping and no longer counts it as active. Returns
    /// `true` only the first time, so the parent decrements its count once.
    pub fn note_stopping(&self) -> bool {
        self.quiescing
            .swap_if(Quiescing::Stopping as u8, Quiescing::Counted as u8)
    }

    /// The child's listener: whether it is accepting new connections.
    pub fn set_accepting(&self, accepting: bool) {
        self.not_accepting.set(u8::from(!accepting));
    }

    /// The child's listener: publishes its exact connection counts.
    pub fn publish(&self, counts: &AsyncCounts) {
        self.version.write(|| {
            self.connections.set(counts.connections);
            self.reading.set(counts.reading);
            self.write_completion.set(counts.write_completion);
            self.keep_alive.set(counts.keep_alive);
            self.lingering_close.set(counts.lingering_close);
            self.suspended.set(counts.suspended);
            self.wait_io.set(counts.wait_io);
        });
    }

    /// The child's pid; 0 for an empty slot.
    pub fn pid(&self) -> i32 {
        self.pid.get() as i32
    }

    /// The generation the child was started in.
    pub fn generation(&self) -> u32 {
        self.generation.get()
    }

    /// The stopping state, or `None` for a value no writer produces.
    pub fn quiescing(&self) -> Option<Quiescing> {
        Quiescing::from_u8(self.quiescing.get())
    }

    /// Whether the listener is accepting.
    pub fn is_accepting(&self) -> bool {
        self.not_accepting.get() == 0
    }

    /// The connection counts from one moment.
    pub fn counts(&self) -> Result<AsyncCounts, Inconsistent> {
        self.version.read(|| AsyncCounts {
            connections: self.connections.get(),
            reading: self.reading.get(),
            write_completion: self.write_completion.get(),
            keep_alive: self.keep_alive.get(),
            lingering_close: self.lingering_close.get(),
            suspended: self.suspended.get(),
            wait_io: self.wait_io.get(),
        })
    }

    /// A copy of the record. The fields have different writers, so only the counts are from one
    /// moment.
    pub fn read(&self) -> ProcessSnapshot {
        ProcessSnapshot {
            pid: self.pid(),
            generation: self.generation(),
            quiescing: self.quiescing.get(),
            not_accepting: !self.is_accepting(),
            counts: self.counts(),
            cpu: self.cpu(),
            listener_served: self.listener_served(),
        }
    }

    /// Zeroes the record (an ungraceful restart, all children gone).
    pub fn clear(&self) {
        self.release();
        self.generation.set(0);
        self.version.write(|| {
            for word in &self.listener_served {
                word.set(0);
            }
        });
    }

    /// Test access: simulate a corrupted `quiescing` byte.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn force_quiescing(&self, raw: u8) {
        self.quiescing.set(raw);
    }

    /// Test access: simulate a listener that died mid-publish.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn version_for_test(&self) -> &Version {
        &self.version
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn zeroed_record_is_an_empty_slot() {
        let p = ProcessScore::new();
        let s = p.read();
        assert!(!s.is_live() && !s.is_stopping() && !s.not_accepting);
        assert_eq!(s.counts, Ok(AsyncCounts::default()));
        assert_eq!(s.cpu, CpuTimes::default());
    }

    #[test]
    fn cpu_times_round_trip_children_only_rise_and_the_parent_clears_them() {
        let p = ProcessScore::new();
        p.prepare(1);
        p.set_pid(77);
        p.set_listener_cpu(12, 34);
        p.raise_children_cpu(500, 60);
        // A thread reporting an older figure after a newer one changes nothing.
        p.raise_children_cpu(499, 61);
        let cpu = CpuTimes {
            user: 12,
            system: 34,
            children_user: 500,
            children_system: 61,
        };
        assert_eq!(p.read().cpu, cpu);
        p.set_listener_cpu(13, 34);
        assert_eq!(p.cpu().user, 13, "the listener's figure is simply replaced");
        // A listener that died mid-update: its part reads as zero, the children's stays.
        p.version_for_test().force(5);
        assert_eq!(
            p.cpu(),
            CpuTimes {
                user: 0,
                system: 0,
                ..cpu
            }
        );
        p.release();
        assert_eq!(p.cpu(), CpuTimes::default());
        p.raise_children_cpu(9, 9);
        p.prepare(2);
        assert_eq!(p.cpu(), CpuTimes::default(), "a new child starts from zero");
    }

    #[test]
    fn lifecycle_round_trips() {
        let p = ProcessScore::new();
        p.prepare(7);
        p.set_pid(1234);
        let counts = AsyncCounts {
            connections: 9,
            reading: 1,
            write_completion: 2,
            keep_alive: 3,
            lingering_close: 1,
            suspended: 0,
            wait_io: 1,
        };
        p.publish(&counts);
        p.set_accepting(false);
        let s = p.read();
        assert_eq!((s.pid, s.generation, s.not_accepting), (1234, 7, true));
        assert_eq!(s.counts, Ok(counts));

        assert!(!p.note_stopping(), "the parent cannot mark a running child");
        assert!(p.set_stopping());
        assert!(!p.set_stopping());
        assert_eq!(p.quiescing(), Some(Quiescing::Stopping));
        assert!(p.note_stopping());
        assert!(!p.note_stopping());
        assert!(!p.set_stopping(), "the child cannot undo the parent's mark");
        assert_eq!(p.quiescing(), Some(Quiescing::Counted));

        p.version_for_test().force(3);
        assert_eq!(p.counts(), Err(Inconsistent));
        p.release();
        let s = p.read();
        assert_eq!((s.pid, s.quiescing, s.not_accepting), (0, 0, false));
        assert_eq!(s.counts, Ok(AsyncCounts::default()));
    }

    #[test]
    fn garbage_quiescing_counts_as_stopping() {
        let p = ProcessScore::new();
        p.force_quiescing(77);
        assert_eq!(p.quiescing(), None);
        assert!(p.read().is_stopping());
    }
}
