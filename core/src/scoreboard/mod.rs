//! The scoreboard: `#[repr(C)]` records in shared memory that the parent, the children and
//! `server-status` read and write without locks (httpd's `scoreboard.h`).
//!
//! # Shape
//!
//! One [`GlobalScore`], `ServerLimit` [`ProcessScore`]s and `ServerLimit × ThreadLimit`
//! [`WorkerScore`]s, placed by [`Layout`] and viewed through [`Scoreboard`]. The multi-process
//! runtime maps the segment (anonymous `MAP_SHARED`, or a ScoreBoardFile) and builds the view with
//! [`Scoreboard::from_raw`]; the embedded runtime and tests build it from ordinary slices with
//! [`Scoreboard::new`]. All-zero bytes are a valid scoreboard: every slot empty, every thread dead.
//!
//! # Atomics
//!
//! Records are made only of atomics of at most 32 bits. 64-bit atomics are not lock-free on
//! mipsel, armv7 or thumb, and portable-atomic's fallback takes process-local locks, which are
//! meaningless in memory shared between processes. The lock-freedom of the widths used is asserted
//! at compile time on every target with native compare-and-swap. A 64-bit counter is two words
//! and a string a run of words, kept consistent by a per-record sequence lock with one writer.
//!
//! # Who writes what
//!
//! | record | field | writer |
//! |---|---|---|
//! | global | everything | the parent |
//! | process | `pid`, `generation` | the parent (before and after `fork`, after reaping) |
//! | process | `quiescing` | the child 0 → 1, the parent 1 → 2 (compare-and-swap) |
//! | process | `not_accepting`, connection counts | the child's listener thread |
//! | worker | everything | the worker thread owning the slot; the parent once the child is reaped |
//!
//! A record changes writer only at points that order the two (thread spawn, `fork`, `waitpid`).
//!
//! # Untrusted contents
//!
//! A child can be compromised, so the parent and every reader treat what a child wrote as data
//! from an attacker (httpd's CVE-2019-0211 was a parent trusting a scoreboard field). Readers
//! validate ([`WorkerStatus::from_u8`] rejects bytes no writer produces and they count as dead),
//! saturate sums, never index with a value read from the segment, accept unterminated and
//! non-UTF-8 strings, and give up on a record that stays mid-update ([`Inconsistent`]) instead of
//! spinning. Limits always come from the reader's own [`Layout`].

mod count;
mod global;
mod layout;
mod process;
mod seqlock;
mod worker;

pub use count::{CountRules, ThreadClass, ThreadCounts, classify};
pub use global::{GlobalScore, GlobalSnapshot};
pub use layout::{Layout, Scoreboard};
pub use process::{AsyncCounts, ListenerServed, ProcessScore, ProcessSnapshot, Quiescing};
pub use seqlock::{Inconsistent, READ_ATTEMPTS};
pub use worker::{CLIENT_LEN, PROTOCOL_LEN, REQUEST_LEN, VHOST_LEN, WorkerScore, WorkerSnapshot};

// The widths shared memory uses must never fall back to locks.
#[cfg(all(not(loom), target_has_atomic = "32"))]
const _: () = assert!(crate::sync::AtomicU32::is_always_lock_free());
#[cfg(all(not(loom), target_has_atomic = "8"))]
const _: () = assert!(crate::sync::AtomicU8::is_always_lock_free());

/// CPU times in clock ticks (`struct tms`; `sysconf(_SC_CLK_TCK)` ticks per second).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CpuTimes {
    /// User time (`tms_utime`).
    pub user: u32,
    /// System time (`tms_stime`).
    pub system: u32,
    /// User time of reaped children (`tms_cutime`).
    pub children_user: u32,
    /// System time of reaped children (`tms_cstime`).
    pub children_system: u32,
}

impl CpuTimes {
    /// `[user, system, children_user, children_system]`.
    pub const fn to_array(self) -> [u32; 4] {
        [
            self.user,
            self.system,
            self.children_user,
            self.children_system,
        ]
    }

    /// The inverse of [`to_array`](Self::to_array).
    pub const fn from_array(ticks: [u32; 4]) -> CpuTimes {
        CpuTimes {
            user: ticks[0],
            system: ticks[1],
            children_user: ticks[2],
            children_system: ticks[3],
        }
    }

    /// All four times added up.
    pub const fn total(self) -> u64 {
        self.user as u64
            + self.system as u64
            + self.children_user as u64
            + self.children_system as u64
    }
}

/// A worker thread's status, with httpd's numeric values and `server-status` letters.
///
/// The order matters and is httpd's: the parent counts a thread as *idle* when its status is at
/// most [`Ready`](Self::Ready) and as *active* when it is between `Ready` and
/// [`Graceful`](Self::Graceful) (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum WorkerStatus {
    /// `.`: no thread in this slot (`SERVER_DEAD`).
    Dead = 0,
    /// `S`: starting up (`SERVER_STARTING`).
    Starting = 1,
    /// `_`: waiting for work (`SERVER_READY`).
    Ready = 2,
    /// `R`: reading a request (`SERVER_BUSY_READ`).
    Read = 3,
    /// `W`: running a handler or writing a response (`SERVER_BUSY_WRITE`).
    Write = 4,
    /// `K`: keep-alive wait (worker MPM) or queuing one (event) (`SERVER_BUSY_KEEPALIVE`).
    KeepAlive = 5,
    /// `L`: logging (`SERVER_BUSY_LOG`).
    Log = 6,
    /// `D`: DNS lookup (`SERVER_BUSY_DNS`).
    Dns = 7,
    /// `C`: closing the connection (`SERVER_CLOSING`).
    Closing = 8,
    /// `G`: finishing gracefully (`SERVER_GRACEFUL`).
    Graceful = 9,
    /// `I`: idle cleanup of a worker (`SERVER_IDLE_KILL`).
    IdleKill = 10,
}

impl WorkerStatus {
    /// Every status, in numeric order.
    pub const ALL: [WorkerStatus; 11] = [
        WorkerStatus::Dead,
        WorkerStatus::Starting,
        WorkerStatus::Ready,
        WorkerStatus::Read,
        WorkerStatus::Write,
        WorkerStatus::KeepAlive,
        WorkerStatus::Log,
        WorkerStatus::Dns,
        WorkerStatus::Closing,
        WorkerStatus::Graceful,
        WorkerStatus::IdleKill,
    ];

    /// The status stored as `raw`, or `None` for a value no writer produces (a corrupted record
    /// must not be trusted: the parent treats it as dead).
    pub const fn from_u8(raw: u8) -> Option<WorkerStatus> {
        if (raw as usize) < Self::ALL.len() {
            Some(Self::ALL[raw as usize])
        } else {
            None
        }
    }

    /// The `server-status` letter.
    pub const fn letter(self) -> char {
        match self {
            WorkerStatus::Dead => '.',
            WorkerStatus::Starting => 'S',
            WorkerStatus::Ready => '_',
            WorkerStatus::Read => 'R',
            WorkerStatus::Write => 'W',
            WorkerStatus::KeepAlive => 'K',
            WorkerStatus::Log => 'L',
            WorkerStatus::Dns => 'D',
            WorkerStatus::Closing => 'C',
            WorkerStatus::Graceful => 'G',
            WorkerStatus::IdleKill => 'I',
        }
    }

    /// Counts as idle capacity for the parent (`status <= SERVER_READY`).
    pub const fn is_idle(self) -> bool {
        (self as u8) <= (WorkerStatus::Ready as u8)
    }

    /// Counts as an active thread for the parent (`READY <= status < GRACEFUL`).
    pub const fn is_active(self) -> bool {
        (self as u8) >= (WorkerStatus::Ready as u8) && (self as u8) < (WorkerStatus::Graceful as u8)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, not(loom)))]
mod status_tests {
    use super::*;

    #[test]
    fn raw_values_round_trip_and_reject_garbage() {
        for s in WorkerStatus::ALL {
            assert_eq!(WorkerStatus::from_u8(s as u8), Some(s));
        }
        assert_eq!(WorkerStatus::from_u8(11), None);
        assert_eq!(WorkerStatus::from_u8(255), None);
    }

    #[test]
    fn idle_and_active_follow_httpd_thresholds() {
        let idle: heapless::Vec<char, 11> = WorkerStatus::ALL
            .iter()
            .filter(|s| s.is_idle())
            .map(|s| s.letter())
            .collect();
        let active: heapless::Vec<char, 11> = WorkerStatus::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.letter())
            .collect();
        assert_eq!(idle.as_slice(), &['.', 'S', '_']);
        assert_eq!(active.as_slice(), &['_', 'R', 'W', 'K', 'L', 'D', 'C']);
    }
}
