//! The listener's rules around its connection table: when to wake without an event, when workers
//! count as stalled (and idle keep-alive connections are closed), what expires, and whether to
//! poll the listening sockets.
//!
//! One listener iteration, in every runtime (the event MPM's listener thread, the simulator, the
//! embedded loop):
//!
//! 1. wait for events until [`Listener::wake_at`];
//! 2. drive each ready connection ([`driver::drive_event`] with
//!    [`Event::Ready`](crate::conn::Event::Ready)); accept while
//!    [`Listener::may_accept`] says so;
//! 3. drive each hand-back from the workers;
//! 4. [`Listener::end_iteration`]: close idle keep-alive connections if a queued request has
//!    waited [`WORKERS_STALLED`] for a worker, drive what expired, switch the listening sockets
//!    on or off by admission (and by an accept pause: an `accept` that failed for lack of
//!    descriptors or memory, reported with [`Listener::accept_failed`], switches them off for
//!    [`PAUSE`](crate::accept_pause::PAUSE), see [`crate::accept_pause`]).
//!
//! Steps 1–3 are the runtime's (they are its I/O); step 4 and the answers it asks for are here,
//! once.

use crate::accept_pause::{AcceptPause, Recovered};
use crate::admission::{Admission, Switch, Verdict};
use crate::driver::{self, Io, Settled};
use crate::table::ConnTable;
use crate::time::{Duration, Instant};

/// How long a complete request may wait for a worker before the listener closes its idle
/// keep-alive connections (httpd's `workers_were_busy`: httpd closes them as soon as a request
/// finds no idle worker). Workers here never wait for a client, so a request queued for a moment
/// behind busy workers (a burst, a benchmark with more connections than workers) is served
/// within milliseconds, and closing keep-alive connections then would only break clients; a
/// request that waits this long means the workers are stuck (slow handlers, CGI), and idle
/// clients are better off reconnecting to another child.
pub const WORKERS_STALLED: Duration = Duration::from_secs(1);

/// What one [`Listener::end_iteration`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Iteration {
    /// Poll the listening sockets (else stop polling them).
    pub listen: bool,
    /// What admission did to them this time (for logs and traces).
    pub switch: Switch,
    /// Idle keep-alive connections were closed because the workers are stalled.
    pub killed: bool,
    /// Connections whose timeout expired (each driven once).
    pub expired: u32,
}

/// The answer to "accept one more connection of this burst?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accept {
    /// Accept it.
    Take,
    /// Stop the burst; the listening sockets stay as they are (no connection is known to wait).
    Pause,
    /// Stop the burst and stop polling the listening sockets: the table is full, the child is
    /// stopping, accepting is paused, or admission refused a connection that is waiting
    /// ([`Verdict`] says which, and `switched` whether this turned them off).
    Refuse {
        /// Admission's verdict (`Accept` when the table is full, the child stops or accepting
        /// is paused).
        verdict: Verdict,
        /// This refusal switched the listening sockets off (the first since they were on).
        switched: bool,
    },
}

/// The listener's state besides its table: admission, an accept pause, and whether it is
/// stopping.
#[derive(Clone, Copy, Debug)]
pub struct Listener {
    admission: Admission,
    pause: AcceptPause,
    stopping: bool,
}

impl Listener {
    /// A listener admitting connections by `admission`.
    pub const fn new(admission: Admission) -> Listener {
        Listener {
            admission,
            pause: AcceptPause::new(),
            stopping: false,
        }
    }

    /// Admission's state.
    pub const fn admission(&self) -> &Admission {
        &self.admission
    }

    /// Whether the child is stopping (no more accepting, ever).
    pub const fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Stop accepting for good and let `table` finish its connections (keep-alive ones get
    /// `Connection: close` on their next request, lingering is shortened).
    pub fn stop(&mut self, table: &mut ConnTable<'_>) {
        self.stopping = true;
        table.stop();
    }

    /// When idle keep-alive connections are to be closed because a request has waited
    /// [`WORKERS_STALLED`] for a worker (`oldest_queued`: when the oldest request still waiting
    /// for a worker was queued); `None` while none waits or no connection is idle.
    pub fn stall_deadline(
        &self,
        table: &ConnTable<'_>,
        oldest_queued: Option<Instant>,
    ) -> Option<Instant> {
        if table.counts().keep_alive == 0 {
            return None;
        }
        Some(oldest_queued? + WORKERS_STALLED)
    }

    /// When the listener must wake without an event: the first timeout, the moment the
    /// workers count as stalled, or the end of an accept pause. `None`: sleep until an event
    /// (an idle server makes no wake-ups).
    pub fn wake_at(
        &self,
        table: &ConnTable<'_>,
        oldest_queued: Option<Instant>,
    ) -> Option<Instant> {
        [
            table.next_deadline(),
            self.stall_deadline(table, oldest_queued),
            self.pause.deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// An `accept` failed at `now` for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM): the listening sockets go off until [`PAUSE`](crate::accept_pause::PAUSE) has
    /// passed, then accepting is tried again; the connections already open are served
    /// meanwhile. Returns whether this begins an episode (the runtime logs it then, and only
    /// then).
    pub fn accept_failed(&mut self, now: Instant) -> bool {
        self.pause.shortage(now)
    }

    /// A connection was accepted at `now`: an episode of shortage that is over is returned for
    /// the runtime to log (see [`AcceptPause::accepted`]).
    pub fn accepted(&mut self, now: Instant) -> Option<Recovered> {
        self.pause.accepted(now)
    }

    /// A listening socket reported a waiting connection: may the listener accept one more?
    /// `first`: the first of this report's burst. Only the first can switch the sockets off for
    /// admission: for the later ones no connection is known to wait (the one just accepted may
    /// have taken a worker a moment ago), and switching off for none costs two poller calls.
    pub fn may_accept(&mut self, table: &ConnTable<'_>, idle_workers: u32, first: bool) -> Accept {
        if self.stopping || table.is_full() || self.pause.paused() {
            return Accept::Refuse {
                verdict: Verdict::Accept,
                switched: false,
            };
        }
        let load = table.counts().load(idle_workers);
        if !first {
            return match self.admission.verdict(load) {
                Verdict::Accept => Accept::Take,
                _ => Accept::Pause,
            };
        }
        match self.admission.before_accept(load) {
            (Verdict::Accept, _) => Accept::Take,
            (verdict, switch) => Accept::Refuse {
                verdict,
                switched: switch == Switch::Disable,
            },
        }
    }

    /// Whether the listening sockets should be polled now.
    pub fn listening(&self, table: &ConnTable<'_>) -> bool {
        !self.stopping && !self.admission.is_disabled() && !table.is_full() && !self.pause.paused()
    }

    /// The end of an iteration, after the events and the hand-backs: close idle keep-alive
    /// connections if the workers are stalled, drive every connection whose timeout expired
    /// (at most one per connection, plus the table's end marker), and switch the listening
    /// sockets by admission. `idle_workers` and `oldest_queued` as the runtime counts them after
    /// taking its hand-backs.
    pub fn end_iteration<'t, I: Io<'t>>(
        &mut self,
        io: &mut I,
        now: Instant,
        idle_workers: u32,
        oldest_queued: Option<Instant>,
    ) -> Result<Iteration, I::Error> {
        let killed = self.kill_if_stalled(io, now, oldest_queued);
        let expired = expire(io, now)?;
        self.pause.expire(now);
        let (listen, switch) = self.switch(io.table(), idle_workers);
        Ok(Iteration {
            listen,
            switch,
            killed,
            expired,
        })
    }

    /// Step one of [`end_iteration`](Self::end_iteration): close idle keep-alive connections
    /// (through the expiry that follows) if a request has waited too long for a worker.
    pub fn kill_if_stalled<'t, I: Io<'t>>(
        &mut self,
        io: &mut I,
        now: Instant,
        oldest_queued: Option<Instant>,
    ) -> bool {
        let stalled = self.stall_deadline(io.table(), oldest_queued);
        if stalled.is_none_or(|d| d > now) {
            return false;
        }
        debug!(
            "a request has waited {} ms for a worker: closing {} idle keep-alive connections",
            WORKERS_STALLED.as_millis(),
            io.table().counts().keep_alive
        );
        io.table().kill_keep_alive();
        io.keep_alive_killed();
        true
    }

    /// Step three of [`end_iteration`](Self::end_iteration): switch the listening sockets back
    /// on once admission allows; whether to poll them, and what admission did.
    pub fn switch(&mut self, table: &ConnTable<'_>, idle_workers: u32) -> (bool, Switch) {
        let load = table.counts().load(idle_workers);
        let switch = self.admission.after_iteration(load, self.stopping);
        (self.listening(table), switch)
    }
}

/// Step two of [`Listener::end_iteration`]: drive every connection whose timeout has expired by
/// `now`. Bounded by the table's capacity plus one (a connection expires at most once per call,
/// and a head-read stage extension re-queues it with a later deadline). Returns how many.
pub fn expire<'t, I: Io<'t>>(io: &mut I, now: Instant) -> Result<u32, I::Error> {
    let bound = io.table().capacity() + 1;
    let mut n = 0;
    for _ in 0..bound {
        let Some((id, event, action)) = io.table().expire_event(now) else {
            break;
        };
        n += 1;
        io.expired(id, event, action)?;
        let mut settled = driver::drive(io, id, action, now)?;
        // An expiry never dispatches, so `Again` cannot follow; bounded all the same.
        for _ in 0..crate::conn::MAX_REQUESTS_PER_DISPATCH {
            let Settled::Again(next) = settled else {
                break;
            };
            settled = driver::drive(io, id, next, now)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accept_pause;
    use crate::admission::Factor;
    use crate::conn::{Action, Event, Handback, HeadRead, HeadTimeout, Outcome, Wrote};
    use crate::driver::Interest;
    use crate::table::{ConnId, Settings, Slot};
    use core::convert::Infallible;
    use std::vec::Vec;

    /// Sockets that always have a complete head, and a log of what expired and was killed.
    struct Conns<'t> {
        table: ConnTable<'t>,
        expired: Vec<(ConnId, Action)>,
        kills: u32,
    }

    impl<'t> Io<'t> for Conns<'t> {
        type Error = Infallible;
        fn table(&mut self) -> &mut ConnTable<'t> {
            &mut self.table
        }
        fn expired(&mut self, id: ConnId, _: Event, action: Action) -> Result<(), Infallible> {
            self.expired.push((id, action));
            Ok(())
        }
        fn keep_alive_killed(&mut self) {
            self.kills += 1;
        }
        fn wait(&mut self, _: ConnId, _: Interest) -> Result<bool, Infallible> {
            Ok(true)
        }
        fn read_head(&mut self, _: ConnId) -> Result<HeadRead, Infallible> {
            Ok(HeadRead::Complete)
        }
        fn dispatch(&mut self, _: ConnId, _: u32, _: Instant) -> Result<Option<Event>, Infallible> {
            Ok(None)
        }
        fn write(&mut self, _: ConnId) -> Result<Wrote, Infallible> {
            Ok(Wrote::Done { buffered: false })
        }
        fn reject(&mut self, _: ConnId, _: u16) -> Result<bool, Infallible> {
            Ok(true)
        }
        fn linger(&mut self, _: ConnId) -> Result<bool, Infallible> {
            Ok(false)
        }
        fn drain(&mut self, _: ConnId) -> Result<bool, Infallible> {
            Ok(false)
        }
        fn close(&mut self, _: ConnId) -> Result<(), Infallible> {
            Ok(())
        }
    }

    fn conns(slots: &mut [Slot]) -> Conns<'_> {
        let settings = Settings {
            keep_alive_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            head: HeadTimeout::DEFAULT,
            handshake: None,
        };
        Conns {
            table: ConnTable::new(slots, &settings),
            expired: Vec::new(),
            kills: 0,
        }
    }

    /// Open a connection, dispatch its request and hand it back in keep-alive.
    fn keep_alive(io: &mut Conns<'_>, now: Instant) -> ConnId {
        let (id, action) = io.table.open(now).unwrap();
        assert_eq!(driver::drive(io, id, action, now), Ok(Settled::Dispatched));
        let back = Event::Handback(Handback {
            served: 1,
            outcome: Outcome::KeepAlive,
        });
        let r = driver::drive_event(io, id, back, now);
        assert_eq!(r, Ok(Settled::Wait(Interest::Readable)));
        id
    }

    const T0: Instant = Instant::ZERO;

    #[test]
    fn stalled_workers_close_idle_keep_alive_connections_after_the_stall_time() {
        let mut slots = [Slot::EMPTY; 4];
        let mut io = conns(&mut slots);
        let mut l = Listener::new(Admission::new(1, Factor::DEFAULT));
        let idle = keep_alive(&mut io, T0);
        // A request queued at T0 with no worker free.
        let (busy, action) = io.table.open(T0).unwrap();
        assert_eq!(
            driver::drive(&mut io, busy, action, T0),
            Ok(Settled::Dispatched)
        );
        let queued = Some(T0);
        assert_eq!(l.wake_at(&io.table, queued), Some(T0 + WORKERS_STALLED));
        // A moment later: a burst, not a stall.
        let soon = T0 + Duration::from_millis(999);
        let it = l.end_iteration(&mut io, soon, 0, queued).unwrap();
        assert!(!it.killed && io.expired.is_empty(), "{it:?}");
        // At the stall time, the idle keep-alive connection goes.
        let stalled = T0 + WORKERS_STALLED;
        let it = l.end_iteration(&mut io, stalled, 0, queued).unwrap();
        assert!(it.killed, "{it:?}");
        assert_eq!(io.kills, 1);
        assert_eq!(io.expired, [(idle, Action::Linger)]);
        assert_eq!(io.table.counts().keep_alive, 0);
        // Nothing idle is left: no stall deadline, whatever waits.
        assert_eq!(l.stall_deadline(&io.table, queued), None);
    }

    #[test]
    fn the_listener_sleeps_until_the_first_timeout_and_no_longer() {
        let mut slots = [Slot::EMPTY; 2];
        let mut io = conns(&mut slots);
        let l = Listener::new(Admission::new(2, Factor::DEFAULT));
        assert_eq!(
            l.wake_at(&io.table, None),
            None,
            "an idle server never wakes"
        );
        keep_alive(&mut io, T0);
        assert_eq!(
            l.wake_at(&io.table, None),
            Some(T0 + Duration::from_secs(5))
        );
        // A queued request whose stall comes first.
        assert_eq!(l.wake_at(&io.table, Some(T0)), Some(T0 + WORKERS_STALLED));
    }

    #[test]
    fn a_burst_stops_at_the_bound_and_only_its_first_refusal_switches_off() {
        let mut slots = [Slot::EMPTY; 8];
        let mut io = conns(&mut slots);
        // ThreadsPerChild 1, factor 1: with the one worker idle, fewer than 2 connections.
        let mut l = Listener::new(Admission::new(1, Factor::MIN));
        assert_eq!(l.may_accept(&io.table, 1, true), Accept::Take);
        keep_alive(&mut io, T0);
        assert_eq!(l.may_accept(&io.table, 1, false), Accept::Take);
        keep_alive(&mut io, T0);
        assert_eq!(l.may_accept(&io.table, 1, false), Accept::Pause);
        assert!(l.listening(&io.table));
        assert_eq!(
            l.may_accept(&io.table, 1, true),
            Accept::Refuse {
                verdict: Verdict::AboveLimit,
                switched: true
            }
        );
        assert!(!l.listening(&io.table));
        // One connection fewer and the sockets come back on at the end of the iteration.
        io.table.kill_keep_alive();
        expire(&mut io, T0).unwrap();
        let it = l.end_iteration(&mut io, T0, 1, None).unwrap();
        assert!(it.listen && it.switch == Switch::Enable, "{it:?}");
    }

    #[test]
    fn a_full_or_stopping_table_refuses_without_admission() {
        let mut slots = [Slot::EMPTY; 1];
        let mut io = conns(&mut slots);
        let mut l = Listener::new(Admission::new(8, Factor::DEFAULT));
        keep_alive(&mut io, T0);
        assert!(matches!(
            l.may_accept(&io.table, 8, true),
            Accept::Refuse {
                switched: false,
                ..
            }
        ));
        assert!(!l.listening(&io.table));
        let mut slots = [Slot::EMPTY; 2];
        let mut io = conns(&mut slots);
        l.stop(&mut io.table);
        assert!(matches!(
            l.may_accept(&io.table, 8, true),
            Accept::Refuse { .. }
        ));
        let it = l.end_iteration(&mut io, T0, 8, None).unwrap();
        assert!(!it.listen);
    }

    #[test]
    fn an_accept_shortage_switches_off_until_the_pause_ends_and_wakes_for_it() {
        let mut slots = [Slot::EMPTY; 4];
        let mut io = conns(&mut slots);
        let mut l = Listener::new(Admission::new(2, Factor::DEFAULT));
        assert_eq!(l.wake_at(&io.table, None), None);
        assert!(l.accept_failed(T0), "the first shortage begins an episode");
        let end = T0 + accept_pause::PAUSE;
        // Off, refusing without admission, and the wait is bounded by the pause (no ticks
        // otherwise: an idle child sleeps until then, not forever and not less).
        assert!(!l.listening(&io.table));
        assert!(matches!(
            l.may_accept(&io.table, 2, true),
            Accept::Refuse {
                verdict: Verdict::Accept,
                switched: false
            }
        ));
        assert_eq!(l.wake_at(&io.table, None), Some(end));
        let it = l
            .end_iteration(&mut io, Instant::from_millis(end.as_millis() - 1), 2, None)
            .unwrap();
        assert!(!it.listen);
        // The open connections are not touched by it.
        let open = keep_alive(&mut io, T0);
        assert!(io.table.conn(open).is_some());
        let it = l.end_iteration(&mut io, end, 2, None).unwrap();
        assert!(it.listen, "back on at the deadline");
        assert_eq!(l.may_accept(&io.table, 2, true), Accept::Take);
        assert_eq!(
            l.wake_at(&io.table, None),
            Some(T0 + Duration::from_secs(5))
        );
        // Refused again at once: the same episode, not logged again.
        assert!(!l.accept_failed(end));
        assert_eq!(
            l.accepted(end + accept_pause::QUIET),
            Some(Recovered {
                lasted: accept_pause::PAUSE,
                refused: 2,
            })
        );
    }
}
