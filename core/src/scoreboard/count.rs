//! mod_status's counting rules (httpd 2.4.58 and later), as functions over the records.
//!
//! - A thread counts only if its process is live (`pid != 0`) and not stopping (any non-zero
//!   `quiescing`).
//! - [`Ready`](WorkerStatus::Ready) is idle; in the server's `IdleWorkers` only if the process runs
//!   the current MPM generation, in the per-process row whatever its generation.
//! - [`Graceful`](WorkerStatus::Graceful) is graceful.
//! - Anything else but `Dead`, `Starting` and `IdleKill` is busy (so `K`, `C`, `L`, `R` are busy).
//! - A slot beyond the active limits (`slot >= max_servers` or `thread >= threads_per_child`)
//!   whose thread is dead is *disabled*: it has no letter in the scoreboard string.
//!
//! A status byte no writer produces counts as dead, as the parent treats it.

use super::{ProcessSnapshot, Scoreboard, WorkerStatus};

/// What the status page knows of the configuration (mod_status's `post_config` captures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CountRules {
    /// The MPM generation the parent runs.
    pub mpm_generation: u32,
    /// The active daemons limit (`MaxRequestWorkers / ThreadsPerChild`, httpd's `MAX_DAEMONS`).
    pub max_servers: u32,
    /// `ThreadsPerChild` (0 is read as 1, as mod_status does).
    pub threads_per_child: u32,
}

/// How mod_status classifies one thread of a counted process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreadClass {
    /// `Ready`.
    Idle,
    /// `Graceful`.
    Graceful,
    /// Serving or otherwise occupied.
    Busy,
    /// `Dead`, `Starting` or `IdleKill`: not counted.
    Uncounted,
}

/// The class of a thread with status `status`.
pub const fn classify(status: WorkerStatus) -> ThreadClass {
    match status {
        WorkerStatus::Ready => ThreadClass::Idle,
        WorkerStatus::Graceful => ThreadClass::Graceful,
        WorkerStatus::Dead | WorkerStatus::Starting | WorkerStatus::IdleKill => {
            ThreadClass::Uncounted
        }
        _ => ThreadClass::Busy,
    }
}

/// Threads by class: one process's row, or the whole server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ThreadCounts {
    /// `BusyWorkers`.
    pub busy: u32,
    /// `GracefulWorkers`.
    pub graceful: u32,
    /// `IdleWorkers`.
    pub idle: u32,
}

impl ThreadCounts {
    /// Counts a thread for a process's row (idle of any generation).
    pub fn count(&mut self, status: WorkerStatus) {
        self.count_class(classify(status), true);
    }

    /// Counts a thread for the server's totals: idle only if `current_generation`.
    pub fn count_for_server(&mut self, status: WorkerStatus, current_generation: bool) {
        self.count_class(classify(status), current_generation);
    }

    fn count_class(&mut self, class: ThreadClass, idle_counts: bool) {
        let field = match class {
            ThreadClass::Idle if idle_counts => &mut self.idle,
            ThreadClass::Graceful => &mut self.graceful,
            ThreadClass::Busy => &mut self.busy,
            ThreadClass::Idle | ThreadClass::Uncounted => return,
        };
        *field = field.saturating_add(1);
    }

    /// Adds another count, saturating.
    pub fn add(&mut self, other: ThreadCounts) {
        self.busy = self.busy.saturating_add(other.busy);
        self.graceful = self.graceful.saturating_add(other.graceful);
        self.idle = self.idle.saturating_add(other.idle);
    }
}

impl CountRules {
    /// Whether mod_status counts this process's threads at all.
    pub const fn counts_threads(&self, process: &ProcessSnapshot) -> bool {
        process.is_live() && !process.is_stopping()
    }

    /// Whether slot `(slot, thread)` is disabled: out of the active limits and dead. Disabled
    /// slots have no letter in the scoreboard string.
    pub const fn is_disabled(
        &self,
        slot: usize,
        thread: usize,
        status: Option<WorkerStatus>,
    ) -> bool {
        let threads_per_child = if self.threads_per_child == 0 {
            1
        } else {
            self.threads_per_child
        };
        let out_of_range =
            slot >= self.max_servers as usize || thread >= threads_per_child as usize;
        out_of_range && matches!(status, None | Some(WorkerStatus::Dead))
    }

    /// The scoreboard letter of slot `(slot, thread)`, or `None` if it is disabled.
    pub const fn letter(
        &self,
        slot: usize,
        thread: usize,
        status: Option<WorkerStatus>,
    ) -> Option<char> {
        if self.is_disabled(slot, thread, status) {
            None
        } else {
            Some(match status {
                Some(status) => status.letter(),
                None => WorkerStatus::Dead.letter(),
            })
        }
    }
}

impl Scoreboard<'_> {
    /// Slot `slot`'s row of the async table (idle of any generation; all zero for an empty or
    /// stopping process).
    pub fn thread_counts(&self, slot: usize, rules: &CountRules) -> ThreadCounts {
        let mut row = ThreadCounts::default();
        let Some(process) = self.process(slot) else {
            return row;
        };
        if rules.counts_threads(&process.read()) {
            for worker in self.workers(slot) {
                row.count(worker.status().unwrap_or(WorkerStatus::Dead));
            }
        }
        row
    }

    /// The server's `BusyWorkers`, `GracefulWorkers` and `IdleWorkers`.
    pub fn worker_counts(&self, rules: &CountRules) -> ThreadCounts {
        let mut total = ThreadCounts::default();
        for (slot, process) in self.processes().iter().enumerate() {
            let process = process.read();
            if !rules.counts_threads(&process) {
                continue;
            }
            let current = process.generation == rules.mpm_generation;
            for worker in self.workers(slot) {
                total.count_for_server(worker.status().unwrap_or(WorkerStatus::Dead), current);
            }
        }
        total
    }

    /// The length of the `Scoreboard:` line: the slots that are not disabled.
    pub fn scoreboard_len(&self, rules: &CountRules) -> usize {
        let mut len = 0usize;
        for slot in 0..self.processes().len() {
            for (thread, worker) in self.workers(slot).iter().enumerate() {
                if !rules.is_disabled(slot, thread, worker.status()) {
                    len += 1;
                }
            }
        }
        len
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    extern crate std;
    use super::*;
    use crate::scoreboard::{GlobalScore, ProcessScore, WorkerScore};
    use crate::time::Instant;
    use std::vec::Vec;

    const RULES: CountRules = CountRules {
        mpm_generation: 2,
        max_servers: 2,
        threads_per_child: 3,
    };

    struct Board {
        global: GlobalScore,
        processes: Vec<ProcessScore>,
        workers: Vec<WorkerScore>,
    }

    impl Board {
        fn new(servers: usize, threads: usize) -> Board {
            Board {
                global: GlobalScore::new(),
                processes: (0..servers).map(|_| ProcessScore::new()).collect(),
                workers: (0..servers * threads).map(|_| WorkerScore::new()).collect(),
            }
        }
        fn view(&self) -> Scoreboard<'_> {
            Scoreboard::new(&self.global, &self.processes, &self.workers).unwrap()
        }
    }

    fn set(board: &Scoreboard<'_>, slot: usize, statuses: &[WorkerStatus]) {
        for (thread, status) in statuses.iter().enumerate() {
            board
                .worker(slot, thread)
                .unwrap()
                .set_status(*status, Instant::ZERO);
        }
    }

    #[test]
    fn classes_follow_mod_status() {
        use WorkerStatus::*;
        let busy: Vec<_> = WorkerStatus::ALL
            .iter()
            .filter(|s| classify(**s) == ThreadClass::Busy)
            .map(|s| s.letter())
            .collect();
        assert_eq!(busy, ['R', 'W', 'K', 'L', 'D', 'C']);
        assert_eq!(classify(Ready), ThreadClass::Idle);
        assert_eq!(classify(Graceful), ThreadClass::Graceful);
        for s in [Dead, Starting, IdleKill] {
            assert_eq!(classify(s), ThreadClass::Uncounted);
        }
    }

    #[test]
    fn counts_skip_stopping_and_old_generation_idle() {
        use WorkerStatus::*;
        let owned = Board::new(4, 4);
        let board = owned.view();
        // Slot 0: current generation. Slot 1: old generation. Slot 2: stopping. Slot 3: empty.
        for (slot, generation) in [(0, 2), (1, 1), (2, 2)] {
            let p = board.process(slot).unwrap();
            p.prepare(generation);
            p.set_pid(100 + slot as i32);
        }
        board.process(2).unwrap().set_stopping();
        set(&board, 0, &[Ready, Write, Graceful, Starting]);
        set(&board, 1, &[Ready, KeepAlive, Dead, Ready]);
        set(&board, 2, &[Write, Write, Ready, Ready]);
        set(&board, 3, &[Write, Ready, Dead, Dead]);

        assert_eq!(
            board.thread_counts(0, &RULES),
            ThreadCounts {
                busy: 1,
                graceful: 1,
                idle: 1
            }
        );
        assert_eq!(
            board.thread_counts(1, &RULES),
            ThreadCounts {
                busy: 1,
                graceful: 0,
                idle: 2
            }
        );
        assert_eq!(board.thread_counts(2, &RULES), ThreadCounts::default());
        assert_eq!(board.thread_counts(3, &RULES), ThreadCounts::default());
        assert_eq!(board.thread_counts(99, &RULES), ThreadCounts::default());
        // Old-generation idle threads are not server capacity.
        assert_eq!(
            board.worker_counts(&RULES),
            ThreadCounts {
                busy: 2,
                graceful: 1,
                idle: 1
            }
        );
    }

    #[test]
    fn disabled_slots_are_dead_slots_beyond_the_active_limits() {
        use WorkerStatus::*;
        let owned = Board::new(3, 4);
        let board = owned.view();
        // In range: 2 slots x 3 threads = 6 letters. Out of range but alive: 2 more.
        set(&board, 0, &[Dead, Dead, Dead, Write]);
        set(&board, 2, &[Graceful, Dead, Dead, Dead]);
        assert_eq!(board.scoreboard_len(&RULES), 8);
        assert_eq!(RULES.letter(0, 3, Some(Write)), Some('W'));
        assert_eq!(RULES.letter(0, 3, Some(Dead)), None);
        assert_eq!(RULES.letter(0, 2, None), Some('.'));
        assert_eq!(RULES.letter(5, 0, None), None);
        // ThreadsPerChild 0 is read as 1.
        let odd = CountRules {
            threads_per_child: 0,
            ..RULES
        };
        assert!(!odd.is_disabled(0, 0, Some(Dead)));
        assert!(odd.is_disabled(0, 1, Some(Dead)));
    }
}
