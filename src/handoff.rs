//! The two queues between a child's listener thread and its workers.
//!
//! * [`Dispatch`]: listener → workers. Connections with a complete request head, taken by
//!   whichever worker is idle. It also counts idle workers for admission (httpd's
//!   `ap_queue_info_num_idlers`): workers waiting minus jobs not yet picked up.
//! * [`Completions`]: workers → listener. Connections handed back, with what the worker did; the
//!   worker then wakes the listener's poller.
//!
//! Both are bounded by the connection table's capacity, fixed at child start: a connection is in
//! at most one place at a time, so neither can overflow, and neither allocates after start.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The queues' state is a VecDeque/Vec and plain flags, left consistent by every operation
    // even if a holder panicked; keep serving rather than cascading the panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug)]
struct DispatchState<T> {
    jobs: VecDeque<T>,
    terminated: bool,
}

/// Listener → workers.
#[derive(Debug)]
pub struct Dispatch<T> {
    state: Mutex<DispatchState<T>>,
    ready: Condvar,
    capacity: usize,
    waiting: AtomicU32,
    queued: AtomicU32,
}

impl<T> Dispatch<T> {
    /// A queue holding at most `capacity` jobs.
    pub fn new(capacity: usize) -> Dispatch<T> {
        Dispatch {
            state: Mutex::new(DispatchState {
                jobs: VecDeque::with_capacity(capacity),
                terminated: false,
            }),
            ready: Condvar::new(),
            capacity,
            waiting: AtomicU32::new(0),
            queued: AtomicU32::new(0),
        }
    }

    /// Queue a job for a worker. Gives the job back if the queue is full or terminated.
    pub fn push(&self, job: T) -> Result<(), T> {
        let mut st = lock(&self.state);
        if st.terminated || st.jobs.len() >= self.capacity {
            return Err(job);
        }
        st.jobs.push_back(job);
        self.queued.fetch_add(1, Ordering::Relaxed);
        drop(st);
        self.ready.notify_one();
        Ok(())
    }

    /// Wait for a job. `None` once the queue is terminated and empty: the worker exits. While
    /// waiting, the worker counts as idle; `on_idle` runs (outside the lock) just before the
    /// worker blocks, so it can publish its idle state (scoreboard '_', waking the listener for
    /// admission).
    pub fn pop(&self, mut on_idle: impl FnMut()) -> Option<T> {
        let mut st = lock(&self.state);
        if st.jobs.is_empty() && !st.terminated {
            drop(st);
            on_idle();
            st = lock(&self.state);
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Bounded: each wake-up either takes a job, sees termination, or was spurious.
        let job = loop {
            if let Some(job) = st.jobs.pop_front() {
                self.queued.fetch_sub(1, Ordering::Relaxed);
                break Some(job);
            }
            if st.terminated {
                break None;
            }
            st = self.ready.wait(st).unwrap_or_else(|e| e.into_inner());
        };
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        job
    }

    /// Idle workers not spoken for: waiting workers minus queued jobs.
    pub fn idle(&self) -> u32 {
        let waiting = self.waiting.load(Ordering::Relaxed);
        waiting.saturating_sub(self.queued.load(Ordering::Relaxed))
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> u32 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Let workers finish the queued jobs, then exit.
    pub fn terminate(&self) {
        lock(&self.state).terminated = true;
        self.ready.notify_all();
    }

    /// Take back every queued job (an ungraceful stop closes them).
    pub fn drain(&self) -> Vec<T> {
        let mut st = lock(&self.state);
        let jobs: Vec<T> = st.jobs.drain(..).collect();
        self.queued.fetch_sub(jobs.len() as u32, Ordering::Relaxed);
        jobs
    }
}

/// Workers → listener.
#[derive(Debug)]
pub struct Completions<T> {
    items: Mutex<Vec<T>>,
}

impl<T> Completions<T> {
    /// A queue holding at most `capacity` items without reallocating.
    pub fn new(capacity: usize) -> Completions<T> {
        Completions {
            items: Mutex::new(Vec::with_capacity(capacity)),
        }
    }

    /// Hand an item to the listener (the caller then wakes it).
    pub fn push(&self, item: T) {
        lock(&self.items).push(item);
    }

    /// Move everything queued into `into` (which the listener keeps, empty, between calls). The
    /// two vectors are swapped, so no item is copied and nothing is allocated.
    pub fn take_all(&self, into: &mut Vec<T>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut *lock(&self.items), into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn idle_counts_waiting_workers_minus_queued_jobs() {
        let q = Arc::new(Dispatch::<u32>::new(8));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(j) = q.pop(|| {}) {
                        got.push(j);
                    }
                    got
                })
            })
            .collect();
        // Wait (bounded) until all three are parked.
        for _ in 0..2000 {
            if q.idle() == 3 {
                break;
            }
            thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(q.idle(), 3);
        for j in 0..5 {
            q.push(j).unwrap();
        }
        q.terminate();
        let mut all: Vec<u32> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4], "every job delivered exactly once");
        assert_eq!(q.idle(), 0);
        assert_eq!(q.push(9), Err(9), "terminated");
    }

    #[test]
    fn dispatch_is_bounded() {
        let q = Dispatch::new(2);
        q.push(1).unwrap();
        q.push(2).unwrap();
        assert_eq!(q.push(3), Err(3));
        assert_eq!(q.queued(), 2);
        assert_eq!(q.drain(), vec![1, 2]);
        assert_eq!(q.queued(), 0);
    }

    #[test]
    fn completions_swap_without_copying() {
        let c = Completions::new(4);
        c.push("a");
        c.push("b");
        let mut mine = Vec::with_capacity(4);
        c.take_all(&mut mine);
        assert_eq!(mine, vec!["a", "b"]);
        mine.clear();
        c.take_all(&mut mine);
        assert!(mine.is_empty());
    }
}
