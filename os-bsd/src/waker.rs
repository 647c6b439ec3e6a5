//! Waking the listener's wait from other threads: an `EVFILT_USER` knote or
//! a self-pipe, plus a coalescing flag.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::slice;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::io::Errno;

use crate::kernel::{Kernel, Raw, to_raw};
use crate::kevent::{Filter, Flags, Kevent, WAKE_UDATA, ident_of};

/// The token [`Poller::wait`](crate::Poller::wait) reports for a wake-up.
///
/// Reserved: registering any fd with it is refused with
/// [`io::ErrorKind::InvalidInput`].
pub const WAKE_TOKEN: u64 = u64::MAX;

/// The `EVFILT_USER` identifier of the waker's knote. User knotes live in
/// their own namespace, so it cannot collide with an fd.
const USER_IDENT: usize = 0;

/// The most reads one drain makes of the self-pipe. The coalescing flag
/// allows one byte in flight per wake-up cycle; bytes left behind after a
/// failed read only make the level-triggered knote report again.
const MAX_DRAIN_READS: usize = 16;

/// How a poller is woken.
// Each system constructs one mode outside the tests, and NetBSD and OpenBSD
// only the pipe in them.
#[cfg_attr(
    any(not(test), target_os = "netbsd", target_os = "openbsd"),
    allow(dead_code)
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WakeMode {
    /// An `EVFILT_USER` knote with `EV_CLEAR`, fired by `NOTE_TRIGGER`
    /// (FreeBSD, DragonFly, macOS).
    User,
    /// A non-blocking pipe whose read end is a level-triggered
    /// `EVFILT_READ` knote (NetBSD, OpenBSD: rustix offers no
    /// `EVFILT_USER` there, and NetBSD before 10 has none).
    Pipe,
}

/// A handle that wakes the [`Poller`](crate::Poller) it came from.
///
/// Cheap to clone (one reference count), `Send` and `Sync`. Wake-ups
/// coalesce: any number of [`wake`](Waker::wake) calls between two waits cost
/// one system call and produce one [`WAKE_TOKEN`] event. The pattern is:
/// push work onto a queue the listener reads, then `wake()`; the listener,
/// after every wait that reports [`WAKE_TOKEN`], empties that queue.
#[derive(Debug, Clone)]
#[doc(alias = "EVFILT_USER")]
#[doc(alias = "NOTE_TRIGGER")]
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
    /// handles that event. A full pipe is no error (it is readable then: the
    /// wait returns anyway). An error (none is expected: the trigger is a
    /// `kevent` call that never waits, the pipe write never blocks) means
    /// this wake-up reached nobody and the listener may sleep through it and
    /// every later one: fatal for the process, which must reach the listener
    /// some other way and stop (eventmpm's worker stops its child gracefully,
    /// waking the listener through the signal pipe).
    #[doc(alias = "apr_pollset_wakeup")]
    pub fn wake(&self) -> io::Result<()> {
        self.state.wake()
    }
}

/// The waker's knote, how to fire it, and its "a wake-up is outstanding"
/// flag, shared by the poller and its wakers.
pub(crate) struct WakeState {
    pending: AtomicBool,
    bell: Bell,
}

enum Bell {
    User {
        kernel: Arc<dyn Kernel>,
        /// The `NOTE_TRIGGER` change, converted once.
        trigger: Raw,
    },
    Pipe {
        read: OwnedFd,
        write: OwnedFd,
    },
}

impl fmt::Debug for WakeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bell = match &self.bell {
            Bell::User { .. } => "EVFILT_USER",
            Bell::Pipe { .. } => "pipe",
        };
        f.debug_struct("WakeState")
            .field("bell", &bell)
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

impl WakeState {
    /// The bell of `mode` for the kqueue `kernel`; not yet registered (see
    /// [`WakeState::registration`]).
    pub(crate) fn new(mode: WakeMode, kernel: &Arc<dyn Kernel>) -> io::Result<Self> {
        let bell = match mode {
            WakeMode::User => Bell::User {
                kernel: kernel.clone(),
                // No EV_ADD: if the knote were gone, re-adding it here would
                // drop its EV_CLEAR; the ENOENT is better reported.
                trigger: to_raw(&Kevent::user(USER_IDENT, Flags::empty(), true, WAKE_UDATA))?,
            },
            WakeMode::Pipe => {
                let (read, write) = nonblocking_pipe()?;
                Bell::Pipe { read, write }
            }
        };
        Ok(WakeState {
            pending: AtomicBool::new(false),
            bell,
        })
    }

    /// The change that puts the bell into the kqueue, under `WAKE_UDATA`.
    ///
    /// `EVFILT_USER` gets `EV_CLEAR`: delivering the event resets the
    /// trigger, so receiving it is the drain. The pipe is level-triggered:
    /// the poller drains it before it returns the event, so it cannot fire
    /// twice for one write, and no re-arm is needed per wake-up.
    pub(crate) fn registration(&self) -> io::Result<Kevent> {
        Ok(match &self.bell {
            Bell::User { .. } => Kevent::user(
                USER_IDENT,
                Flags::ADD | Flags::CLEAR | Flags::RECEIPT,
                false,
                WAKE_UDATA,
            ),
            Bell::Pipe { read, .. } => Kevent::fd(
                ident_of(read.as_fd())?,
                Filter::Read,
                Flags::ADD | Flags::RECEIPT,
                WAKE_UDATA,
            ),
        })
    }

    fn wake(&self) -> io::Result<()> {
        // Release publishes the caller's queued work to whoever clears the
        // flag (the poller's acquiring swap in `drain`). A swap, never a
        // plain load-then-skip: a skipped RMW would publish nothing.
        if self.pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let rung = match &self.bell {
            // An empty event list: a thread that triggers with room for
            // events could receive its own trigger and consume it.
            Bell::User { kernel, trigger } => kernel
                .kevent(slice::from_ref(trigger), &mut [], Some(Duration::ZERO))
                .map(drop),
            Bell::Pipe { write, .. } => match rustix::io::write(write, &[1]) {
                // AGAIN: the pipe is full, so it is readable already.
                Ok(_) | Err(Errno::AGAIN) => Ok(()),
                Err(error) => Err(error.into()),
            },
        };
        if rung.is_err() {
            // Let the next wake() ring again instead of trusting a flag
            // whose ring never happened.
            self.pending.store(false, Ordering::Release);
        }
        rung
    }

    /// Empties the bell and clears the flag, in that order. Called by the
    /// poller when a wait reported the waker's knote, before the caller sees
    /// the event.
    ///
    /// For `EVFILT_USER` the kernel has already reset the trigger when it
    /// delivered the event (`EV_CLEAR`); for the pipe, the reads below empty
    /// it. Why this order cannot lose a wake-up: a waker either swaps the
    /// flag before our clear or after it.
    /// - After: it sees `false` and rings, which is then pending for the
    ///   next wait (the reset or read happened earlier).
    /// - Before: it sees `true` and skips its ring, relying on the wake-up
    ///   being reported now. It is: the caller handles this wait's event
    ///   after our clear, and the clear is an acquiring swap that reads the
    ///   waker's releasing swap, so the work it queued is visible.
    ///
    /// The other order (clear, then read) loses: a waker that swaps between
    /// the two rings, our read eats that ring, and the flag is left `true`
    /// with nothing outstanding, so every later wake() skips its ring and
    /// the listener sleeps forever.
    pub(crate) fn drain(&self) {
        self.drain_with(|| {});
    }

    /// [`WakeState::drain`], running `between` after emptying the bell and
    /// before clearing the flag: where a racing waker may strike.
    fn drain_with(&self, between: impl FnOnce()) {
        if let Bell::Pipe { read, .. } = &self.bell {
            let mut bytes = [0u8; 64];
            for _ in 0..MAX_DRAIN_READS {
                // AGAIN: empty. Any other error leaves bytes behind and the
                // level-triggered knote reports again: a spurious wake-up,
                // never a lost one.
                match rustix::io::read(read, &mut bytes) {
                    Ok(n) if n == bytes.len() => continue,
                    _ => break,
                }
            }
        }
        between();
        self.pending.swap(false, Ordering::AcqRel);
    }
}

/// A close-on-exec, non-blocking pipe: `pipe2` where it exists.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::pipe::{PipeFlags, pipe_with};
    Ok(pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?)
}

/// A close-on-exec, non-blocking pipe: macOS has no `pipe2` (and uses
/// `EVFILT_USER` anyway; this is for tests of the pipe path).
#[cfg(target_vendor = "apple")]
pub(crate) fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    use rustix::io::{FdFlags, fcntl_setfd, ioctl_fionbio};
    let (read, write) = rustix::pipe::pipe()?;
    for fd in [&read, &write] {
        fcntl_setfd(fd, FdFlags::CLOEXEC)?;
        ioctl_fionbio(fd, true)?;
    }
    Ok((read, write))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn pipe_state() -> WakeState {
        let kernel: Arc<dyn Kernel> = Arc::new(Model::new());
        WakeState::new(WakeMode::Pipe, &kernel).unwrap()
    }

    fn pipe_bytes(state: &WakeState) -> usize {
        let Bell::Pipe { read, .. } = &state.bell else {
            panic!("not a pipe");
        };
        let mut bytes = [0u8; 64];
        match rustix::io::read(read, &mut bytes) {
            Ok(n) => n,
            Err(Errno::AGAIN) => 0,
            Err(error) => panic!("reading the pipe: {error}"),
        }
    }

    #[test]
    fn a_burst_of_wakes_writes_the_pipe_once() {
        let state = Arc::new(pipe_state());
        let waker = Waker::new(state.clone());
        for _ in 0..100 {
            waker.wake().unwrap();
        }
        assert_eq!(pipe_bytes(&state), 1);
    }

    #[test]
    fn drain_empties_the_pipe_and_rearms_the_next_wake() {
        let state = Arc::new(pipe_state());
        let waker = Waker::new(state.clone());
        waker.wake().unwrap();
        state.drain();
        assert_eq!(pipe_bytes(&state), 0, "drain left the pipe readable");
        waker.wake().unwrap();
        assert_eq!(pipe_bytes(&state), 1, "wake after drain wrote nothing");
    }

    #[test]
    fn a_wake_racing_the_drain_is_not_lost() {
        let state = Arc::new(pipe_state());
        let waker = Waker::new(state.clone());
        waker.wake().unwrap();
        // A waker that strikes mid-drain sees the flag still set and skips
        // its write: the event being handled covers its work.
        state.drain_with(|| waker.wake().unwrap());
        assert_eq!(pipe_bytes(&state), 0);
        // And the flag ends clear, so the next wake-up writes. Clearing
        // before reading would leave the flag set over an empty pipe here,
        // and every later wake() would skip its write.
        waker.wake().unwrap();
        assert_eq!(pipe_bytes(&state), 1, "a wake-up after the drain was lost");
    }

    #[test]
    fn drain_without_a_wake_is_harmless() {
        let state = pipe_state();
        state.drain();
        assert_eq!(pipe_bytes(&state), 0);
        assert!(!state.pending.load(Ordering::Acquire));
    }

    #[test]
    fn the_pipe_is_nonblocking_and_cloexec() {
        use rustix::fs::{OFlags, fcntl_getfl};
        use rustix::io::{FdFlags, fcntl_getfd};
        let state = pipe_state();
        let Bell::Pipe { read, write } = &state.bell else {
            panic!("not a pipe");
        };
        for fd in [read, write] {
            assert!(fcntl_getfl(fd).unwrap().contains(OFlags::NONBLOCK));
            assert!(fcntl_getfd(fd).unwrap().contains(FdFlags::CLOEXEC));
        }
    }

    #[test]
    fn registrations_carry_the_wake_udata_and_the_right_mode() {
        let kernel: Arc<dyn Kernel> = Arc::new(Model::new());
        let pipe = WakeState::new(WakeMode::Pipe, &kernel).unwrap();
        let change = pipe.registration().unwrap();
        assert_eq!(change.filter, Filter::Read);
        assert_eq!(change.udata, WAKE_UDATA);
        assert!(!change.flags.contains(Flags::CLEAR), "level-triggered");
        assert!(!change.flags.contains(Flags::DISPATCH));
        #[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
        {
            let user = WakeState::new(WakeMode::User, &kernel).unwrap();
            let change = user.registration().unwrap();
            assert_eq!(change.filter, Filter::User);
            assert_eq!(change.udata, WAKE_UDATA);
            assert!(change.flags.contains(Flags::ADD | Flags::CLEAR));
        }
    }
}
