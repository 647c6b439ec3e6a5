//! Accept turns between children, the runtime half: how many CPUs serve the children, and the
//! bell that tells every child to look at the turns again. The rule itself is the core's
//! ([`eventmpm_core::accept_turns`]): with more children than CPUs, only the first children by
//! slot that would accept poll the listening sockets.
//!
//! The bell is an eventfd the parent creates before it forks any child. Each child registers it
//! with its poller, edge-triggered, and nobody ever reads it: each ring (an 8-byte write) is an
//! edge that wakes every child's poller once, whoever else has seen it, and the counter would
//! need 2^64 rings to fill. A child rings when its own flag changes (admission, an accept pause,
//! a stop) or at its start; the parent when it empties a slot. Only Linux has it: on the other
//! systems every child accepts, as in httpd (a pipe there would have to be read, and a read by
//! one child would hide the ring from the others).
//!
//! The bell is only created when children can outnumber the CPUs (ServerLimit above the CPU
//! count), for the event MPM (the worker MPM's accept mutex already lets one child at a time
//! accept).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The CPUs the server may run on: the affinity mask and the cgroup's CPU quota, as
/// [`std::thread::available_parallelism`] counts them (at least 1).
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What a child needs to take turns: the bell and the CPU count.
#[derive(Debug)]
pub struct Turns {
    bell: OwnedFd,
    cpus: usize,
}

impl Turns {
    /// Turns for `server_limit` children on `cpus` CPUs; `None` when every child may always
    /// accept (no more children than CPUs) or this system has no bell.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn new(server_limit: usize, cpus: usize) -> io::Result<Option<Turns>> {
        use rustix::event::{EventfdFlags, eventfd};
        if server_limit <= cpus {
            return Ok(None);
        }
        // Close-on-exec: CGI scripts must not inherit it (children are forked, not exec'd).
        let bell = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Some(Turns { bell, cpus }))
    }

    /// Turns for `server_limit` children on `cpus` CPUs: never on this system.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn new(_server_limit: usize, _cpus: usize) -> io::Result<Option<Turns>> {
        Ok(None)
    }

    /// The CPUs serving the children.
    pub fn cpus(&self) -> usize {
        self.cpus
    }

    /// The bell's descriptor, for the child's poller (edge-triggered).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.bell.as_fd()
    }

    /// Wake every child to look at the turns again. Call after the scoreboard change it
    /// announces. Never fails in a way that matters: a full counter (2^64 - 2 rings) is still
    /// readable, and the descriptor stays open for the process's life.
    pub fn ring(&self) {
        let _ = rustix::io::write(&self.bell, &1u64.to_ne_bytes());
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    #[test]
    fn no_bell_when_every_child_has_a_cpu() {
        assert!(Turns::new(4, 4).unwrap().is_none());
        assert!(Turns::new(2, 8).unwrap().is_none());
        assert_eq!(Turns::new(16, 2).unwrap().unwrap().cpus(), 2);
    }

    #[test]
    fn every_poller_sees_each_ring_though_nobody_reads() {
        use crate::sys::{Events, Poller};
        let turns = Turns::new(16, 1).unwrap().unwrap();
        let pollers = [Poller::new().unwrap(), Poller::new().unwrap()];
        for p in &pollers {
            crate::sys::add_edge(p, turns.fd(), 5).unwrap();
        }
        let mut events = Events::with_capacity(4);
        let zero = Some(std::time::Duration::ZERO);
        // Registering reports the (always writable) descriptor once.
        for p in &pollers {
            p.wait(&mut events, zero).unwrap();
            p.wait(&mut events, zero).unwrap();
            assert!(events.is_empty());
        }
        for _ in 0..3 {
            turns.ring();
            for p in &pollers {
                p.wait(&mut events, zero).unwrap();
                assert_eq!(events.iter().map(|e| e.token).collect::<Vec<_>>(), [5]);
                p.wait(&mut events, zero).unwrap();
                assert!(events.is_empty(), "one event per ring");
            }
        }
    }
}
