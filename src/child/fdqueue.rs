//! The worker MPM's hand-off from the listener to the workers, with idle-worker reservation
//! (httpd's `fd_queue_info_t` and `fd_queue_t`, `server/mpm_fdqueue.c`).
//!
//! The listener reserves an idle worker *before* it accepts ([`WorkerQueue::wait_for_idler`],
//! httpd's `ap_queue_info_wait_for_idler`): a child with no idle worker does not take
//! connections from the shared listening sockets, so they go to a child that can serve them, and
//! a connection is never accepted only to wait in a queue. Each reservation is followed by at
//! most one push, so the queue never holds more connections than there are workers.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug)]
struct State<T> {
    /// Workers waiting for a connection that the listener has not reserved.
    idle: u32,
    /// Accepted connections not yet taken by a worker.
    jobs: VecDeque<T>,
    /// The listener must stop waiting for an idle worker.
    listener_stop: bool,
    /// Workers exit once the queue is empty.
    terminated: bool,
    /// Workers asleep on `work`.
    sleeping: u32,
}

impl<T> crate::handoff::Sleepers for State<T> {
    fn sleepers(&mut self) -> &mut u32 {
        &mut self.sleeping
    }
}

/// Listener → workers, with idle-worker accounting.
#[derive(Debug)]
pub struct WorkerQueue<T> {
    state: Mutex<State<T>>,
    /// The listener waits here for an idle worker.
    idler: Condvar,
    /// Workers wait here for a connection.
    work: Condvar,
}

impl<T> WorkerQueue<T> {
    /// A queue for `workers` worker threads.
    pub fn new(workers: usize) -> WorkerQueue<T> {
        WorkerQueue {
            state: Mutex::new(State {
                idle: 0,
                jobs: VecDeque::with_capacity(workers),
                listener_stop: false,
                terminated: false,
                sleeping: 0,
            }),
            idler: Condvar::new(),
            work: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The state is counters and a VecDeque, consistent after every operation.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A worker is about to wait for a connection (httpd's `ap_queue_info_set_idle`).
    pub fn set_idle(&self) {
        self.lock().idle += 1;
        self.idler.notify_one();
    }

    /// The listener reserves one idle worker, waiting for one if none is idle. `false` once the
    /// listener must stop instead.
    pub fn wait_for_idler(&self) -> bool {
        let mut st = self.lock();
        // Bounded: each wake-up finds an idle worker, the stop flag, or was spurious.
        loop {
            if st.listener_stop {
                return false;
            }
            if st.idle > 0 {
                st.idle -= 1;
                return true;
            }
            st = self.idler.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Hand an accepted connection to the worker reserved for it. Gives it back if the queue is
    /// terminated (an immediate stop): the caller closes it.
    pub fn push(&self, job: T) -> Result<(), T> {
        let mut st = self.lock();
        if st.terminated {
            return Err(job);
        }
        st.jobs.push_back(job);
        let sleeper = st.sleeping > 0;
        drop(st);
        // A worker not asleep takes the job before it would sleep (a notification is a futex
        // call even with nobody waiting).
        if sleeper {
            self.work.notify_one();
        }
        Ok(())
    }

    /// A worker waits for a connection; `None` once the queue is terminated and empty.
    /// `on_idle` runs before it blocks and says how long it may sleep before `on_idle` runs
    /// again (as [`crate::handoff::Dispatch::pop`]).
    pub fn pop(&self, on_idle: impl FnMut() -> Option<Duration>) -> Option<T> {
        crate::handoff::idle_wait(&self.state, &self.work, on_idle, |st| {
            match st.jobs.pop_front() {
                Some(job) => Some(Some(job)),
                None if st.terminated => Some(None),
                None => None,
            }
        })
    }

    /// Workers not reserved and not serving.
    pub fn idle(&self) -> u32 {
        self.lock().idle
    }

    /// Make the listener's [`wait_for_idler`](Self::wait_for_idler) return `false`.
    pub fn stop_listener(&self) {
        self.lock().listener_stop = true;
        self.idler.notify_all();
    }

    /// Workers finish the queued connections, then [`pop`](Self::pop) returns `None`.
    pub fn terminate(&self) {
        {
            let mut st = self.lock();
            st.terminated = true;
            st.listener_stop = true;
        }
        self.idler.notify_all();
        self.work.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn the_listener_waits_for_an_idle_worker() {
        let q = Arc::new(WorkerQueue::<u32>::new(2));
        let listener = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut got = 0;
                while q.wait_for_idler() {
                    q.push(got).unwrap();
                    got += 1;
                    if got == 3 {
                        break;
                    }
                }
                got
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !listener.is_finished(),
            "no worker idle: the listener waits"
        );
        let mut served = Vec::new();
        for _ in 0..3 {
            q.set_idle();
            served.push(q.pop(|| None).unwrap());
        }
        assert_eq!(listener.join().unwrap(), 3);
        assert_eq!(served, vec![0, 1, 2]);
        assert_eq!(q.idle(), 0);
    }

    #[test]
    fn stop_and_terminate_release_every_waiter() {
        let q = Arc::new(WorkerQueue::<u32>::new(1));
        let l = {
            let q = q.clone();
            std::thread::spawn(move || q.wait_for_idler())
        };
        let w = {
            let q = q.clone();
            std::thread::spawn(move || q.pop(|| None))
        };
        std::thread::sleep(Duration::from_millis(20));
        q.stop_listener();
        assert!(!l.join().unwrap());
        q.terminate();
        assert_eq!(w.join().unwrap(), None);
        assert_eq!(q.push(1), Err(1));
    }
}
