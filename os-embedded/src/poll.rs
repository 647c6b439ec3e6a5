//! One poll of the runtime: the listener's work and up to `ThreadsPerChild` worker steps, in
//! one cooperative call with no threads. Each connection's chain of actions runs through the
//! core's driver ([`eventmpm_core::driver`]), as in the Unix server's listener; what is the
//! firmware's own is where events come from (socket readiness instead of a poller) and that
//! "dispatch to a worker" queues the connection for a worker step later in the same poll.
//!
//! An iteration, each step bounded by the number of slots:
//!
//! 1. take connections that arrived on listening sockets;
//! 2. connections whose awaited readiness has come get `Event::Ready`;
//! 3. worker steps answer dispatched requests and hand the connections back;
//! 4. expire what timed out (and close idle keep-alive connections when no slot is free);
//! 5. admission: as many sockets listen as connections would be accepted.

use core::convert::Infallible;

use eventmpm_core::conn::{Event, HeadRead, MAX_REQUESTS_PER_DISPATCH, Wrote};
use eventmpm_core::driver::{self, Interest, Io, Settled};
use eventmpm_core::listener;
use eventmpm_core::table::{ConnId, ConnTable};
use eventmpm_core::time::Instant;

use crate::runtime::Runtime;
use crate::socket::Sockets;

/// The runtime and its sockets for one poll: the core driver's [`Io`].
struct Polling<'r, 'a, S> {
    rt: &'r mut Runtime<'a>,
    sockets: &'r mut S,
}

impl<'a, S: Sockets> Io<'a> for Polling<'_, 'a, S> {
    type Error = Infallible;

    fn table(&mut self) -> &mut ConnTable<'a> {
        &mut self.rt.table
    }

    fn before_io(&mut self) {
        // As the Unix listener: nothing a client can observe (a response, server-status
        // rendered by a worker step) precedes the counters that describe it.
        self.rt.publish();
    }

    fn wait(&mut self, id: ConnId, interest: Interest) -> Result<bool, Infallible> {
        // The "poller" is the readiness scan at the next poll: nothing can refuse it.
        self.rt.wait(id, interest);
        Ok(true)
    }

    fn read_head(&mut self, id: ConnId) -> Result<HeadRead, Infallible> {
        Ok(self.rt.read_head(self.sockets, id))
    }

    fn dispatch(
        &mut self,
        id: ConnId,
        served: u32,
        _now: Instant,
    ) -> Result<Option<Event>, Infallible> {
        self.rt.dispatch(id, served);
        Ok(None)
    }

    fn write(&mut self, id: ConnId) -> Result<Wrote, Infallible> {
        Ok(self.rt.write(self.sockets, id))
    }

    fn reject(&mut self, id: ConnId, status: u16) -> Result<bool, Infallible> {
        Ok(self.rt.reject(self.sockets, id, status))
    }

    fn linger(&mut self, id: ConnId) -> Result<bool, Infallible> {
        Ok(self.rt.linger(self.sockets, id))
    }

    fn drain(&mut self, id: ConnId) -> Result<bool, Infallible> {
        Ok(self.rt.drain(self.sockets, id))
    }

    fn close(&mut self, id: ConnId) -> Result<(), Infallible> {
        self.rt.close(self.sockets, id);
        Ok(())
    }
}

/// Finish a chain the driver handed back: connections are dispatched to worker steps (never
/// served inline), so `Again` does not occur; it is driven on all the same, boundedly.
fn settle<S: Sockets>(io: &mut Polling<'_, '_, S>, id: ConnId, mut settled: Settled, now: Instant) {
    for _ in 0..MAX_REQUESTS_PER_DISPATCH {
        let Settled::Again(action) = settled else {
            return;
        };
        let Ok(next) = driver::drive(io, id, action, now);
        settled = next;
    }
}

impl Runtime<'_> {
    /// One poll at monotonic time `now` and wall-clock `unix` seconds, after the TCP stack has
    /// processed its input. Returns when the runtime next has timed work (`None`: only socket
    /// activity can give it work); the caller polls again then, or when the stack has news.
    pub fn poll<S: Sockets>(
        &mut self,
        sockets: &mut S,
        now: Instant,
        unix: i64,
    ) -> Option<Instant> {
        self.set_time(now, unix);
        // 1. New connections: at most one per socket.
        for _ in 0..sockets.len() {
            let Some((id, action)) = self.accept(sockets) else {
                break;
            };
            let io = &mut Polling { rt: self, sockets };
            let Ok(settled) = driver::drive(io, id, action, now);
            settle(io, id, settled, now);
        }
        // 2. Readiness.
        self.ready(sockets, |rt, sockets, id| {
            let io = &mut Polling { rt, sockets };
            let Ok(settled) = driver::drive_event(io, id, Event::Ready, now);
            settle(io, id, settled, now);
        });
        // 3. Worker steps.
        for step in 0..self.serving.settings.worker_steps as usize {
            let Some((id, handback)) = self.worker_step(sockets, step) else {
                break;
            };
            let io = &mut Polling { rt: self, sockets };
            let Ok(settled) = driver::drive_event(io, id, Event::Handback(handback), now);
            settle(io, id, settled, now);
        }
        // 4. Timeouts, and the keep-alive kill ordered by the last admission pass: the core's
        //    expiry step, as every listener runs it.
        let Ok(_) = listener::expire(&mut Polling { rt: self, sockets }, now);
        // 5. Admission.
        self.admit(sockets);
        if self.has_dispatched() {
            // More requests than worker steps: come back at once.
            return Some(now);
        }
        self.table.next_deadline()
    }
}
