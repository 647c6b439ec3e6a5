//! Waking the listener's wait from other threads: `port_send` plus a
//! coalescing flag.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bits::POLLIN;
use crate::port::Port;
use crate::token::WAKE_USER;

/// What a poller shares with its wakers: the port, and whether a wake-up
/// event is outstanding (sent and not yet received by a wait).
#[derive(Debug)]
pub(crate) struct Shared<P> {
    pub(crate) port: P,
    pending: AtomicBool,
}

impl<P: Port> Shared<P> {
    pub(crate) fn new(port: P) -> Self {
        Shared {
            port,
            pending: AtomicBool::new(false),
        }
    }

    /// Makes the current or next wait return a wake-up event, unless one is
    /// outstanding already (then this is one atomic swap and no system call).
    ///
    /// At most one wake-up event is ever queued, so `port_send` cannot run
    /// the port into its `process.max-port-events` limit however many
    /// threads wake it.
    pub(crate) fn wake(&self) -> io::Result<()> {
        // Release publishes the caller's queued work to whoever clears the
        // flag (the acquiring swap in `received`). A swap, never a plain
        // load-then-skip: a skipped RMW would publish nothing.
        if self.pending.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // POLLIN so the event decodes as readable, like Linux's eventfd.
        match self.port.send(POLLIN, WAKE_USER) {
            Ok(()) => Ok(()),
            Err(error) => {
                // EAGAIN here means the port is full and no event was queued:
                // let the next wake() send again instead of trusting a flag
                // whose event never existed.
                self.pending.store(false, Ordering::Release);
                Err(error.into())
            }
        }
    }

    /// Clears the flag. Called by the wait whose batch held the wake-up
    /// event, after `port_getn` returned and before the caller sees the
    /// batch: retrieving the event is the drain.
    ///
    /// Why this cannot lose a wake-up: a waker swaps the flag either before
    /// this clear or after it.
    /// - After: it sees `false` and sends a new event, which the next wait
    ///   retrieves (the one just retrieved is gone from the port).
    /// - Before: it sees `true` and sends nothing, relying on the event
    ///   already retrieved. That holds: the caller handles this batch after
    ///   the clear, and the clear is an acquiring swap that reads the
    ///   waker's releasing swap, so the work it queued is visible.
    ///
    /// Clearing at any other moment loses wake-ups. Say each wait cleared
    /// the flag before calling `port_getn`: a wait that retrieves and handles
    /// the event leaves the flag `true` until the next wait begins; a waker
    /// that swaps in that window sends nothing, the next wait clears the flag
    /// and blocks on an empty port, and that waker's work sits unnoticed.
    pub(crate) fn received(&self) {
        self.pending.swap(false, Ordering::AcqRel);
    }

    /// Whether a wake-up event is outstanding.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }
}
