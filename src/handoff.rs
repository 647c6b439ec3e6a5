//! The two queues between a child's listener thread and its workers.
//!
//! * [`Dispatch`]: listener → workers. Connections with a complete request head, taken by
//!   whichever worker is idle. (The listener counts idle workers itself — worker threads minus
//!   jobs it has pushed and not yet taken back — which no race between a worker's wait and the
//!   listener's check can make wrong.)
//! * [`Completions`]: workers → listener. Connections handed back, with what the worker did; the
//!   worker then wakes the listener's poller.
//!
//! Both are bounded by the connection table's capacity, fixed at child start: a connection is in
//! at most one place at a time, so neither can overflow, and neither allocates after start.

use std::collections::VecDeque;

use eventmpm_core::time::Instant;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant as StdInstant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The queues' state is a VecDeque/Vec and plain flags, left consistent by every operation
    // even if a holder panicked; keep serving rather than cascading the panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A worker's wait for work on `ready`, which goes with `mutex`: `take` says what the wait ends with
/// (`Some`) or that there is nothing yet (`None`). Before the first wait, and again after each
/// wait that ran out its limit, `on_idle` runs outside the lock and gives the next wait's limit
/// (`None`: until woken).
///
/// Bounded: each round ends the wait, runs `on_idle`, or waits once; `on_idle` runs again only
/// after the limit it gave has passed. The state counts the threads asleep in the wait
/// ([`Sleepers`]), so a producer notifies only when one is.
/// A queue state that counts the threads asleep on its condvar: a notification is a `futex`
/// system call even when nobody sleeps, so producers skip it when the count is zero. A thread
/// not counted looks at the queue under the lock before it sleeps, so it cannot miss an item.
pub(crate) trait Sleepers {
    /// Threads blocked in [`idle_wait`] on this state's condvar.
    fn sleepers(&mut self) -> &mut u32;
}

pub(crate) fn idle_wait<S: Sleepers, R>(
    mutex: &Mutex<S>,
    ready: &Condvar,
    mut on_idle: impl FnMut() -> Option<Duration>,
    mut take: impl FnMut(&mut S) -> Option<R>,
) -> R {
    let mut st = lock(mutex);
    let mut idle_due = true;
    let mut until: Option<StdInstant> = None;
    loop {
        if let Some(r) = take(&mut st) {
            return r;
        }
        if idle_due {
            idle_due = false;
            drop(st);
            until = on_idle().map(|d| StdInstant::now() + d);
            st = lock(mutex);
            // Look again before waiting: work may have come meanwhile.
            continue;
        }
        match until {
            None => {
                *st.sleepers() += 1;
                st = ready.wait(st).unwrap_or_else(|e| e.into_inner());
                *st.sleepers() -= 1;
            }
            Some(t) => {
                let left = t.saturating_duration_since(StdInstant::now());
                if left.is_zero() {
                    idle_due = true;
                    continue;
                }
                *st.sleepers() += 1;
                st = ready
                    .wait_timeout(st, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                *st.sleepers() -= 1;
            }
        }
    }
}

#[derive(Debug)]
struct DispatchState<T> {
    /// Jobs and when they were queued.
    jobs: VecDeque<(Instant, T)>,
    terminated: bool,
    /// Workers asleep waiting for a job.
    waiting: u32,
}

impl<T> Sleepers for DispatchState<T> {
    fn sleepers(&mut self) -> &mut u32 {
        &mut self.waiting
    }
}

/// Listener → workers.
#[derive(Debug)]
pub struct Dispatch<T> {
    state: Mutex<DispatchState<T>>,
    ready: Condvar,
    capacity: usize,
}

impl<T> Dispatch<T> {
    /// A queue holding at most `capacity` jobs.
    pub fn new(capacity: usize) -> Dispatch<T> {
        Dispatch {
            state: Mutex::new(DispatchState {
                jobs: VecDeque::with_capacity(capacity),
                terminated: false,
                waiting: 0,
            }),
            ready: Condvar::new(),
            capacity,
        }
    }

    /// Queue a job for a worker at time `now`. Gives the job back if the queue is full or
    /// terminated.
    pub fn push(&self, job: T, now: Instant) -> Result<(), T> {
        let mut st = lock(&self.state);
        if st.terminated || st.jobs.len() >= self.capacity {
            return Err(job);
        }
        st.jobs.push_back((now, job));
        let sleeper = st.waiting > 0;
        drop(st);
        if sleeper {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Wait for a job. `None` once the queue is terminated and empty: the worker exits.
    /// `on_idle` runs (outside the lock) before the worker blocks, so it can publish its idle
    /// state (scoreboard '_') and write out buffered log lines. It returns how long the worker
    /// may sleep before `on_idle` must run again (lines still to be written within a bound), or
    /// `None` to sleep until a job comes.
    pub fn pop(&self, on_idle: impl FnMut() -> Option<Duration>) -> Option<T> {
        idle_wait(&self.state, &self.ready, on_idle, |st| {
            match st.jobs.pop_front() {
                Some((_, job)) => {
                    if st.jobs.is_empty() {
                        // Back to the start of the ring (`clear` resets its head): the next
                        // jobs reuse the slots just used, so only as many pages as the queue
                        // was ever deep are touched, not its whole capacity of connections.
                        st.jobs.clear();
                    }
                    Some(Some(job))
                }
                None if st.terminated => Some(None),
                None => None,
            }
        })
    }

    /// Workers asleep waiting for a job.
    pub fn sleeping(&self) -> u32 {
        lock(&self.state).waiting
    }

    /// Jobs waiting for a worker.
    pub fn queued(&self) -> usize {
        lock(&self.state).jobs.len()
    }

    /// When the oldest job still waiting for a worker was queued.
    pub fn oldest(&self) -> Option<Instant> {
        lock(&self.state).jobs.front().map(|(t, _)| *t)
    }

    /// Let workers finish the queued jobs, then exit.
    pub fn terminate(&self) {
        lock(&self.state).terminated = true;
        self.ready.notify_all();
    }

    /// Take back every queued job (an ungraceful stop closes them).
    pub fn drain(&self) -> Vec<T> {
        lock(&self.state)
            .jobs
            .drain(..)
            .map(|(_, job)| job)
            .collect()
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
    fn every_job_is_delivered_once_then_workers_exit() {
        let q = Arc::new(Dispatch::<u32>::new(8));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(j) = q.pop(|| None) {
                        got.push(j);
                    }
                    got
                })
            })
            .collect();
        for j in 0..5 {
            q.push(j, Instant::ZERO).unwrap();
        }
        q.terminate();
        let mut all: Vec<u32> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, vec![0, 1, 2, 3, 4], "every job delivered exactly once");
        assert_eq!(q.queued(), 0);
        assert_eq!(q.push(9, Instant::ZERO), Err(9), "terminated");
    }

    #[test]
    fn an_idle_worker_runs_on_idle_again_when_its_limit_passes() {
        let q = Arc::new(Dispatch::<u32>::new(1));
        let (third, called) = std::sync::mpsc::channel();
        let worker = {
            let q = q.clone();
            thread::spawn(move || {
                let mut calls = 0u32;
                // A short limit from the first two calls, none from the third: the worker then
                // sleeps until the job comes.
                let job = q.pop(|| {
                    calls += 1;
                    if calls == 3 {
                        let _ = third.send(());
                    }
                    (calls < 3).then_some(Duration::from_millis(5))
                });
                (job, calls)
            })
        };
        called
            .recv_timeout(Duration::from_secs(10))
            .expect("on_idle ran again after each limit");
        q.push(7, Instant::ZERO).unwrap();
        assert_eq!(worker.join().unwrap(), (Some(7), 3));
    }

    /// A push with no worker asleep does not notify (no futex call), yet a worker that comes
    /// to the queue afterwards still takes the job; one that sleeps is woken.
    #[test]
    fn a_push_wakes_only_a_sleeping_worker_and_loses_nothing() {
        let q = Arc::new(Dispatch::<u32>::new(4));
        assert_eq!(q.sleeping(), 0);
        q.push(1, Instant::ZERO).unwrap();
        assert_eq!(q.pop(|| None), Some(1));
        let worker = {
            let q = q.clone();
            thread::spawn(move || q.pop(|| None))
        };
        // Bounded wait for the worker to fall asleep (5 s of 1 ms polls).
        for _ in 0..5000 {
            if q.sleeping() == 1 {
                break;
            }
            thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(q.sleeping(), 1, "the worker never slept");
        q.push(2, Instant::ZERO).unwrap();
        assert_eq!(worker.join().unwrap(), Some(2));
        assert_eq!(q.sleeping(), 0);
    }

    #[test]
    fn an_emptied_queue_reuses_the_front_of_its_ring() {
        let q = Dispatch::<u32>::new(64);
        let front = |q: &Dispatch<u32>| lock(&q.state).jobs.as_slices().0.as_ptr();
        q.push(1, Instant::ZERO).unwrap();
        let start = front(&q);
        for j in 2..5 {
            q.push(j, Instant::ZERO).unwrap();
        }
        for _ in 1..5 {
            q.pop(|| None).unwrap();
        }
        q.push(5, Instant::ZERO).unwrap();
        assert_eq!(front(&q), start, "the ring starts over once empty");
    }

    #[test]
    fn dispatch_is_bounded() {
        let q = Dispatch::new(2);
        assert_eq!(q.oldest(), None);
        q.push(1, Instant::from_millis(5)).unwrap();
        q.push(2, Instant::from_millis(9)).unwrap();
        assert_eq!(q.push(3, Instant::from_millis(9)), Err(3));
        assert_eq!(q.queued(), 2);
        assert_eq!(q.oldest(), Some(Instant::from_millis(5)));
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
