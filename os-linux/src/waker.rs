//! Waking the listener's wait from other threads: an eventfd plus a
//! coalescing flag.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::event::{EventfdFlags, eventfd};
use rustix::io::Errno;

/// The token [`Poller::wait`](crate::Poller::wait) reports for a wake-up.
///
/// Reserved: registering any fd with it is refused with
/// [`io::ErrorKind::InvalidInput`].
pub const WAKE_TOKEN: u64 = u64::MAX;

/// A handle that wakes the [`Poller`](crate::Poller) it came from.
///
/// Cheap to clone (one reference count), `Send` and `Sync`. Wake-ups
/// coalesce: any number of [`wake`](Waker::wake) calls between two waits cost
/// one eventfd write and produce one [`WAKE_TOKEN`] event. The pattern is:
/// push work onto a queue the listener reads, then `wake()`; the listener,
/// after every wait that reports [`WAKE_TOKEN`], empties that queue.
#[derive(Debug, Clone)]
#[doc(alias = "eventfd")]
pub struct Waker {
    state: Arc<WakeState>,
}

impl Waker {
    pub(crate) fn new(state: Arc<WakeState>) -> Self {
        Waker { state }
    }

    /// Makes the poller's current or next wait return with a [`WAKE_TOKEN`]
    /// event, unless a wake-up is already pending (then this is one atomic
    /// swap and no system call).
    ///
    /// Work pushed before this call is visible to the listener when it
    /// handles that event. A full counter is no error (the eventfd is
    /// readable then: the wait returns anyway). An error (none is expected
    /// from an eventfd this handle keeps open) means this wake-up reached
    /// nobody and the listener may sleep through it and every later one:
    /// fatal for the process, which must reach the listener some other way
    /// and stop (eventmpm's worker stops its child gracefully, waking the
    /// listener through the signal pipe).
    #[doc(alias = "apr_pollset_wakeup")]
    pub fn wake(&self) -> io::Result<()> {
        self.state.wake()
    }
}

/// The eventfd and its "a write is outstanding" flag, shared by the poller
/// and its wakers.
#[derive(Debug)]
pub(crate) struct WakeState {
    fd: OwnedFd,
    pending: AtomicBool,
}

impl WakeState {
    pub(crate) fn new() -> io::Result<Self> {
        Ok(WakeState {
            fd: eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?,
            pending: AtomicBool::new(false),
        })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn wake(&self) -> io::Result<()> {
        // Release publishes the caller's queued work to whoever clears the
        // flag (the poller's acquiring swap in `drain`). A swap, never a
        // plain load-then-skip: a skipped RMW would publish nothing.
        if self.pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        match rustix::io::write(&self.fd, &1u64.to_ne_bytes()) {
            // AGAIN means the counter is at its maximum: readable already.
            Ok(_) | Err(Errno::AGAIN) => Ok(()),
            Err(error) => {
                // Let the next wake() try the write again instead of
                // trusting a flag whose write never happened.
                self.pending.store(false, Ordering::Release);
                Err(error.into())
            }
        }
    }

    /// Empties the eventfd and clears the flag, in that order. Called by the
    /// poller when a wait reported [`WAKE_TOKEN`], before the caller sees it.
    ///
    /// Why this order cannot lose a wake-up: a waker either swaps the flag
    /// before our clear or after it.
    /// - After: it sees `false` and writes the eventfd, which is then
    ///   readable for the next wait (the read below happened earlier).
    /// - Before: it sees `true` and skips its write, relying on the wake-up
    ///   being reported now. It is: the caller handles this wait's event
    ///   after our clear, and the clear is an acquiring swap that reads the
    ///   waker's releasing swap, so the work it queued is visible.
    ///
    /// The other order (clear, then read) loses: a waker that swaps between
    /// the two writes the eventfd, our read eats that write, and the flag is
    /// left `true` with nothing outstanding, so every later wake() skips its
    /// write and the listener sleeps forever.
    pub(crate) fn drain(&self) {
        let mut counter = [0u8; 8];
        // One read resets an eventfd counter to zero. AGAIN means another
        // drain got there first. Any other error leaves the eventfd readable
        // and the level-triggered registration reports it again: a spurious
        // wake-up, never a lost one.
        let _ = rustix::io::read(&self.fd, &mut counter);
        self.pending.swap(false, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(state: &WakeState) -> Option<u64> {
        let mut bytes = [0u8; 8];
        match rustix::io::read(&state.fd, &mut bytes) {
            Ok(8) => Some(u64::from_ne_bytes(bytes)),
            Ok(_) => None,
            Err(Errno::AGAIN) => None,
            Err(error) => panic!("reading the eventfd: {error}"),
        }
    }

    #[test]
    fn a_burst_of_wakes_writes_the_eventfd_once() {
        let state = Arc::new(WakeState::new().unwrap());
        let waker = Waker::new(state.clone());
        for _ in 0..100 {
            waker.wake().unwrap();
        }
        assert_eq!(counter(&state), Some(1));
    }

    #[test]
    fn drain_rearms_the_next_wake() {
        let state = Arc::new(WakeState::new().unwrap());
        let waker = Waker::new(state.clone());
        waker.wake().unwrap();
        state.drain();
        assert_eq!(counter(&state), None, "drain left the eventfd readable");
        waker.wake().unwrap();
        assert_eq!(counter(&state), Some(1), "wake after drain wrote nothing");
    }

    #[test]
    fn drain_without_a_wake_is_harmless() {
        let state = WakeState::new().unwrap();
        state.drain();
        assert_eq!(counter(&state), None);
        assert!(!state.pending.load(Ordering::Acquire));
    }

    #[test]
    fn clones_share_one_flag() {
        let state = Arc::new(WakeState::new().unwrap());
        let first = Waker::new(state.clone());
        let second = first.clone();
        first.wake().unwrap();
        second.wake().unwrap();
        assert_eq!(counter(&state), Some(1));
    }
}
