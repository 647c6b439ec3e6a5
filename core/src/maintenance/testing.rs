//! Test helpers: a scoreboard in plain arrays, and a parent that forks into it.

extern crate std;
use std::vec;
use std::vec::Vec;

use crate::scoreboard::WorkerStatus;

use super::{Board, ChildSlot, Decision, Params, ProcessView, Retained};

/// A scoreboard in plain arrays.
#[derive(Debug, Clone)]
pub struct ArrayBoard {
    pub procs: Vec<ProcessView>,
    pub threads: Vec<Vec<WorkerStatus>>,
}

impl ArrayBoard {
    pub fn new(server_limit: usize, thread_limit: usize) -> ArrayBoard {
        ArrayBoard {
            procs: vec![ProcessView::default(); server_limit],
            threads: vec![vec![WorkerStatus::Dead; thread_limit]; server_limit],
        }
    }

    /// What the parent writes at fork.
    pub fn started(&mut self, slot: u16, pid: i32, generation: u32) {
        let s = usize::from(slot);
        self.procs[s] = ProcessView {
            pid,
            generation,
            quiescing: 0,
            not_accepting: false,
        };
    }

    /// What the parent writes when a child is reaped.
    pub fn cleared(&mut self, slot: u16) {
        let s = usize::from(slot);
        self.procs[s] = ProcessView::default();
        self.threads[s].fill(WorkerStatus::Dead);
    }

    /// `ready` idle threads then `busy` busy ones, the rest dead.
    pub fn load(&mut self, slot: u16, ready: usize, busy: usize) {
        let t = &mut self.threads[usize::from(slot)];
        t.fill(WorkerStatus::Dead);
        for (j, st) in t.iter_mut().enumerate() {
            if j < ready {
                *st = WorkerStatus::Ready;
            } else if j < ready + busy {
                *st = WorkerStatus::Write;
            }
        }
    }

    pub fn quiesce(&mut self, slot: u16) {
        self.procs[usize::from(slot)].quiescing = 1;
    }
}

impl Board for ArrayBoard {
    fn process_slots(&self) -> usize {
        self.procs.len()
    }
    fn thread_slots(&self) -> usize {
        self.threads.first().map_or(0, Vec::len)
    }
    fn process(&self, slot: usize) -> ProcessView {
        self.procs.get(slot).copied().unwrap_or_default()
    }
    fn worker_status(&self, slot: usize, thread: usize) -> WorkerStatus {
        self.threads
            .get(slot)
            .and_then(|t| t.get(thread))
            .copied()
            .unwrap_or(WorkerStatus::Dead)
    }
}

/// A parent: params, retained state, board and a pid counter.
#[derive(Debug)]
pub struct Parent {
    pub params: Params,
    pub retained: Retained<Vec<ChildSlot>>,
    pub board: ArrayBoard,
    pub next_pid: i32,
}

impl Parent {
    pub fn new(params: Params) -> Parent {
        let slots = params.server_limit as usize;
        Parent {
            params,
            retained: Retained::new(vec![ChildSlot::EMPTY; slots]),
            board: ArrayBoard::new(slots, params.thread_limit as usize),
            next_pid: 100,
        }
    }

    /// Forks into `slot`; the new child's threads are all dead until `load`.
    pub fn fork(&mut self, slot: u16) -> i32 {
        let pid = self.next_pid;
        self.next_pid += 1;
        self.retained
            .child_started(&self.params, slot, pid)
            .expect("maintenance named a usable slot");
        self.board.started(slot, pid, self.retained.generation());
        pid
    }

    pub fn fork_all(&mut self, slots: &[u16]) -> Vec<i32> {
        slots.iter().map(|&s| self.fork(s)).collect()
    }

    /// Cold start, every batch.
    pub fn start(&mut self) -> Vec<u16> {
        let mut all = Vec::new();
        for _ in 0..100 {
            let batch = self.retained.startup(&self.params);
            if batch.is_empty() {
                break;
            }
            self.fork_all(&batch);
            all.extend_from_slice(&batch);
        }
        all
    }

    pub fn tick(&mut self) -> Decision {
        self.retained.tick(&self.params, &self.board)
    }

    /// Ticks, then forks what it asked for.
    pub fn tick_and_fork(&mut self) -> Decision {
        let d = self.tick();
        self.fork_all(&d.spawn);
        d
    }

    pub fn pid_in(&self, slot: u16) -> i32 {
        self.retained
            .slot(usize::from(slot))
            .and_then(|s| s.current())
            .map_or(0, |c| c.pid)
    }
}

/// Event params with the given limits and spare thresholds, 10 threads per child.
pub fn event(server_limit: u32, daemons_limit: u32, min: u32, max: u32) -> Params {
    Params {
        mpm: super::Mpm::Event,
        server_limit,
        thread_limit: 10,
        threads_per_child: 10,
        max_workers: daemons_limit * 10,
        daemons_limit,
        min_spare_threads: min,
        max_spare_threads: max,
        start_servers: 1,
        num_buckets: 1,
    }
}

/// The same for worker.
pub fn worker(server_limit: u32, daemons_limit: u32, min: u32, max: u32) -> Params {
    Params {
        mpm: super::Mpm::Worker,
        ..event(server_limit, daemons_limit, min, max)
    }
}
