//! The driving loop: turns the table's [`Action`]s into I/O through a runtime's [`Io`] and feeds
//! the results back as [`Event`]s until the connection waits, leaves for a worker or closes.
//!
//! This is the one copy of that loop. The event MPM's listener thread, the worker MPM's threads,
//! the simulator and the embedded runtime differ only in how they do I/O — a listener arms a
//! poller and queues to workers, a worker-MPM thread blocks in `poll(2)` and serves inline, the
//! simulator moves bytes between model sockets, the firmware talks to smoltcp — so each
//! implements [`Io`] and calls [`drive`]; which action follows which result is decided here and
//! in [`ConnTable`], once (quinn-proto's "one state machine, many drivers").
//!
//! The loop never blocks: for a wait it asks [`Io::wait`] to arm a poller, and a runtime that
//! blocks on its socket instead (the worker MPM) answers that it will wait itself, blocks after
//! [`drive`] returns [`Settled::Wait`], and comes back with [`Event::Ready`] — still no second
//! copy of the loop.

use crate::conn::{Action, Event, HeadRead};
use crate::table::{ConnId, ConnTable};
use crate::time::Instant;

/// The longest chain of actions one event may cause before the connection settles. The table's
/// longest chain is ReadHead → Reject → Drain → WaitReadable (4); the bound leaves room and turns
/// a table bug into [`Settled::Unsettled`] rather than a spin.
pub const MAX_STEPS: usize = 8;

/// What a socket should be waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Input (a request head, the next request, the client's FIN in lingering close).
    Readable,
    /// Room in the send buffer (write completion).
    Writable,
}

/// How a [`drive`] call ended for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// The connection waits for its socket ([`Io::wait`] armed a poller, or the caller blocks
    /// on it now) and comes back with [`Event::Ready`]; its deadline is in the table's timeout
    /// queues.
    Wait(Interest),
    /// The event did not apply to the connection's phase (a stale or spurious event, or a
    /// timeout that only moved it to a later stage): whatever it waited for, it still waits for.
    Unchanged,
    /// [`Io::dispatch`] took the connection (queued for a worker); it comes back as an
    /// [`Event::Handback`].
    Dispatched,
    /// [`Io::dispatch`] served requests inline and the connection has more to do at once
    /// (pipelined requests, a yield after [`MAX_REQUESTS_PER_DISPATCH`]): call [`drive`] again
    /// with this action — straight away (the worker MPM's thread owns the connection) or after
    /// the other connections' turns (a cooperative loop), so one client cannot hold the loop.
    ///
    /// [`MAX_REQUESTS_PER_DISPATCH`]: crate::conn::MAX_REQUESTS_PER_DISPATCH
    Again(Action),
    /// The connection is closed and its slot free.
    Closed,
    /// The chain did not settle within [`MAX_STEPS`]: a table bug, logged; the connection is left
    /// as it is.
    Unsettled,
}

/// The I/O half of the loop, one method per [`Action`] that needs a socket. Each method acts on
/// the connection `id` and reports what happened; none may block except where a runtime's design
/// says so ([`Io::dispatch`] serving inline in the worker MPM).
///
/// `Error` lets a runtime that checks itself (the simulator) stop the loop with a failure; the
/// servers use [`core::convert::Infallible`].
pub trait Io<'t> {
    /// A failure that ends the driving (never produced by the servers).
    type Error;

    /// The connections' state machines.
    fn table(&mut self) -> &mut ConnTable<'t>;

    /// Called before each action that does I/O, with the table as that action left it: a listener
    /// publishes the counters here, so nothing a client can observe precedes the counters that
    /// describe it.
    fn before_io(&mut self) {}

    /// Called after each event was fed to the table, with the action it produced (tracing,
    /// checking).
    fn fed(&mut self, _id: ConnId, _event: Event, _action: Action) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The listener's expiry fed `event` to `id` ([`Event::TimedOut`] with the class whose time
    /// was up, or [`Event::KeepAliveKilled`]) and got `action`; called before the action is
    /// driven (logging, tracing, checking).
    fn expired(&mut self, _id: ConnId, _event: Event, _action: Action) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The listener is closing idle keep-alive connections because its workers are stalled
    /// (they come back through [`Io::expired`]).
    fn keep_alive_killed(&mut self) {}

    /// [`Action::WaitReadable`], [`Action::WaitWritable`]: arm a poller for `interest` (a
    /// oneshot registration, reported with [`ConnId::token`]), or do nothing when the caller
    /// blocks on the socket itself after [`drive`] returns. `false` when the socket cannot be
    /// waited for (the poller refused it): the connection then ends as if its client had gone.
    fn wait(&mut self, id: ConnId, interest: Interest) -> Result<bool, Self::Error>;

    /// [`Action::ReadHead`]: scan what is buffered, read what the socket has (non-blocking),
    /// scan again.
    fn read_head(&mut self, id: ConnId) -> Result<HeadRead, Self::Error>;

    /// [`Action::Dispatch`]: a complete head is buffered, `served` responses were sent before;
    /// `now` is when the dispatch happens (a queue's age, for the stalled-workers rule).
    /// `None` when the connection was handed to a worker (it comes back as a hand-back); `Some`
    /// with the event to go on with when it was served inline ([`Event::Handback`]) or could not
    /// be handed over.
    fn dispatch(
        &mut self,
        id: ConnId,
        served: u32,
        now: Instant,
    ) -> Result<Option<Event>, Self::Error>;

    /// [`Action::Write`]: write more of the pending response (non-blocking).
    fn write(&mut self, id: ConnId) -> Result<crate::conn::Wrote, Self::Error>;

    /// [`Action::Reject`]: send a short error page with `status` (best effort, non-blocking),
    /// shut down the sending side and drain; `true` once the client's side has ended.
    fn reject(&mut self, id: ConnId, status: u16) -> Result<bool, Self::Error>;

    /// [`Action::Linger`]: release the connection's buffers, shut down the sending side and
    /// drain; `true` once the client's side has ended (or the shutdown failed).
    fn linger(&mut self, id: ConnId) -> Result<bool, Self::Error>;

    /// [`Action::Drain`]: read and discard input; `true` once the client's side has ended.
    fn drain(&mut self, id: ConnId) -> Result<bool, Self::Error>;

    /// [`Action::Close`]: stop waiting on the socket, close it, release what it held.
    fn close(&mut self, id: ConnId) -> Result<(), Self::Error>;
}

/// Feed `event` to the table for `id`, then [`drive`] the action it produces.
pub fn drive_event<'t, I: Io<'t>>(
    io: &mut I,
    id: ConnId,
    event: Event,
    now: Instant,
) -> Result<Settled, I::Error> {
    let action = io.table().event(id, event, now);
    io.fed(id, event, action)?;
    drive(io, id, action, now)
}

/// Carry out `action` for `id`, feeding each result back into the table, until the connection
/// waits, is dispatched or closes, or has been served inline and has more to do; at most
/// [`MAX_STEPS`] actions.
pub fn drive<'t, I: Io<'t>>(
    io: &mut I,
    id: ConnId,
    mut action: Action,
    now: Instant,
) -> Result<Settled, I::Error> {
    for _ in 0..MAX_STEPS {
        let waits = matches!(
            action,
            Action::Nothing | Action::WaitReadable | Action::WaitWritable
        );
        if !waits {
            io.before_io();
        }
        let mut inline = false;
        let event = match action {
            Action::Nothing => return Ok(Settled::Unchanged),
            Action::WaitReadable | Action::WaitWritable => {
                let interest = if action == Action::WaitReadable {
                    Interest::Readable
                } else {
                    Interest::Writable
                };
                if io.wait(id, interest)? {
                    return Ok(Settled::Wait(interest));
                }
                Event::HeadRead(HeadRead::Closed)
            }
            Action::ReadHead => Event::HeadRead(io.read_head(id)?),
            Action::Dispatch { served } => match io.dispatch(id, served, now)? {
                None => return Ok(Settled::Dispatched),
                Some(event) => {
                    inline = matches!(event, Event::Handback(_));
                    event
                }
            },
            Action::Write => Event::Wrote(io.write(id)?),
            Action::Reject { status } => Event::Drained {
                eof: io.reject(id, status)?,
            },
            Action::Linger => Event::Drained {
                eof: io.linger(id)?,
            },
            Action::Drain => Event::Drained { eof: io.drain(id)? },
            Action::Close => {
                io.close(id)?;
                return Ok(Settled::Closed);
            }
        };
        action = io.table().event(id, event, now);
        io.fed(id, event, action)?;
        if inline && matches!(action, Action::ReadHead | Action::Dispatch { .. }) {
            return Ok(Settled::Again(action));
        }
    }
    warn!("a connection did not settle after {} steps", MAX_STEPS);
    Ok(Settled::Unsettled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{Handback, HeadTimeout, Outcome, Wrote};
    use crate::table::{Settings, Slot};
    use crate::time::Duration;
    use core::convert::Infallible;
    use std::vec::Vec;

    /// A scripted socket: what each method answers, and a log of the calls.
    struct Script<'t> {
        table: ConnTable<'t>,
        heads: Vec<HeadRead>,
        inline: Option<Handback>,
        drained_eof: bool,
        armable: bool,
        calls: Vec<&'static str>,
    }

    impl<'t> Script<'t> {
        fn new(slots: &'t mut [Slot]) -> Script<'t> {
            let settings = Settings {
                keep_alive_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(60),
                head: HeadTimeout::DEFAULT,
                handshake: None,
            };
            Script {
                table: ConnTable::new(slots, &settings),
                heads: Vec::new(),
                inline: None,
                drained_eof: false,
                armable: true,
                calls: Vec::new(),
            }
        }

        fn open(&mut self) -> (ConnId, Action) {
            self.calls.clear();
            self.table.open(Instant::ZERO).unwrap()
        }
    }

    impl<'t> Io<'t> for Script<'t> {
        type Error = Infallible;
        fn table(&mut self) -> &mut ConnTable<'t> {
            &mut self.table
        }
        fn wait(&mut self, _: ConnId, _: Interest) -> Result<bool, Infallible> {
            self.calls.push("wait");
            Ok(self.armable)
        }
        fn read_head(&mut self, _: ConnId) -> Result<HeadRead, Infallible> {
            self.calls.push("read_head");
            Ok(if self.heads.is_empty() {
                HeadRead::Partial { new_bytes: 0 }
            } else {
                self.heads.remove(0)
            })
        }
        fn dispatch(&mut self, _: ConnId, _: u32, _: Instant) -> Result<Option<Event>, Infallible> {
            self.calls.push("dispatch");
            Ok(self.inline.take().map(Event::Handback))
        }
        fn write(&mut self, _: ConnId) -> Result<Wrote, Infallible> {
            self.calls.push("write");
            Ok(Wrote::Done { buffered: false })
        }
        fn reject(&mut self, _: ConnId, _: u16) -> Result<bool, Infallible> {
            self.calls.push("reject");
            Ok(self.drained_eof)
        }
        fn linger(&mut self, _: ConnId) -> Result<bool, Infallible> {
            self.calls.push("linger");
            Ok(self.drained_eof)
        }
        fn drain(&mut self, _: ConnId) -> Result<bool, Infallible> {
            self.calls.push("drain");
            Ok(self.drained_eof)
        }
        fn close(&mut self, _: ConnId) -> Result<(), Infallible> {
            self.calls.push("close");
            Ok(())
        }
    }

    const NOW: Instant = Instant::ZERO;

    #[test]
    fn a_partial_head_waits_for_input() {
        let mut slots = [Slot::EMPTY; 2];
        let mut io = Script::new(&mut slots);
        let (id, action) = io.open();
        let r = drive(&mut io, id, action, NOW);
        assert_eq!(r, Ok(Settled::Wait(Interest::Readable)));
        assert_eq!(io.calls, ["read_head", "wait"]);
    }

    #[test]
    fn a_socket_that_cannot_be_waited_for_ends_the_connection() {
        let mut slots = [Slot::EMPTY; 1];
        let mut io = Script::new(&mut slots);
        io.armable = false;
        let (id, action) = io.open();
        assert_eq!(drive(&mut io, id, action, NOW), Ok(Settled::Closed));
        assert_eq!(io.calls, ["read_head", "wait", "close"]);
        assert_eq!(io.table.counts().connections, 0);
    }

    #[test]
    fn a_complete_head_is_dispatched_and_an_inline_answer_goes_on() {
        let mut slots = [Slot::EMPTY; 2];
        let mut io = Script::new(&mut slots);
        io.heads = [HeadRead::Complete, HeadRead::Complete].into();
        let (id, action) = io.open();
        assert_eq!(drive(&mut io, id, action, NOW), Ok(Settled::Dispatched));
        // Served inline (the worker MPM, the firmware): keep-alive, then wait for the next head.
        io.inline = Some(Handback {
            served: 1,
            outcome: Outcome::KeepAlive,
        });
        let (id, action) = io.open();
        let r = drive(&mut io, id, action, NOW);
        assert_eq!(r, Ok(Settled::Wait(Interest::Readable)));
        // No read after the hand-back: the worker said nothing was left buffered.
        assert_eq!(io.calls, ["read_head", "dispatch", "wait"]);
        assert_eq!(io.table.counts().keep_alive, 1);
    }

    /// Pipelined requests served inline: each drive ends after one dispatch, so a client that
    /// keeps sending never runs a chain into [`MAX_STEPS`] (which would drop its connection) and
    /// a cooperative loop gets its turn back.
    #[test]
    fn an_inline_dispatch_with_more_to_do_hands_the_turn_back() {
        let mut slots = [Slot::EMPTY; 1];
        let mut io = Script::new(&mut slots);
        let (id, mut action) = io.open();
        for round in 0..3 * MAX_STEPS {
            io.heads = [HeadRead::Complete].into();
            io.inline = Some(Handback {
                served: 1,
                outcome: Outcome::Yield,
            });
            io.calls.clear();
            match drive(&mut io, id, action, NOW) {
                Ok(Settled::Again(next)) => action = next,
                other => panic!("round {round}: {other:?}"),
            }
            assert_eq!(action, Action::ReadHead);
            assert!(io.calls.len() <= 2, "{:?}", io.calls);
        }
    }

    #[test]
    fn an_invalid_head_is_rejected_and_closed_once_drained() {
        let mut slots = [Slot::EMPTY; 1];
        let mut io = Script::new(&mut slots);
        io.heads = [HeadRead::Invalid { status: 400 }].into();
        io.drained_eof = true;
        let (id, action) = io.open();
        assert_eq!(drive(&mut io, id, action, NOW), Ok(Settled::Closed));
        assert_eq!(io.calls, ["read_head", "reject", "close"]);
        assert_eq!(io.table.counts().connections, 0);
    }

    #[test]
    fn a_stale_event_changes_nothing() {
        let mut slots = [Slot::EMPTY; 1];
        let mut io = Script::new(&mut slots);
        io.heads = [HeadRead::Closed].into();
        let (id, action) = io.open();
        assert_eq!(drive(&mut io, id, action, NOW), Ok(Settled::Closed));
        // The slot is free: an event for the old id is stale.
        io.calls.clear();
        let r = drive_event(&mut io, id, Event::Ready, NOW);
        assert_eq!(r, Ok(Settled::Unchanged));
        assert!(io.calls.is_empty());
    }

    /// The error type stops the loop at once (the simulator's checks).
    #[test]
    fn an_io_error_ends_the_drive() {
        struct Failing<'t>(ConnTable<'t>);
        impl<'t> Io<'t> for Failing<'t> {
            type Error = &'static str;
            fn table(&mut self) -> &mut ConnTable<'t> {
                &mut self.0
            }
            fn wait(&mut self, _: ConnId, _: Interest) -> Result<bool, &'static str> {
                Err("not reached")
            }
            fn read_head(&mut self, _: ConnId) -> Result<HeadRead, &'static str> {
                Err("model broken")
            }
            fn dispatch(
                &mut self,
                _: ConnId,
                _: u32,
                _: Instant,
            ) -> Result<Option<Event>, &'static str> {
                Err("not reached")
            }
            fn write(&mut self, _: ConnId) -> Result<Wrote, &'static str> {
                Err("not reached")
            }
            fn reject(&mut self, _: ConnId, _: u16) -> Result<bool, &'static str> {
                Err("not reached")
            }
            fn linger(&mut self, _: ConnId) -> Result<bool, &'static str> {
                Err("not reached")
            }
            fn drain(&mut self, _: ConnId) -> Result<bool, &'static str> {
                Err("not reached")
            }
            fn close(&mut self, _: ConnId) -> Result<(), &'static str> {
                Err("not reached")
            }
        }
        let mut slots = [Slot::EMPTY; 1];
        let mut io = Failing(Script::new(&mut slots).table);
        let (id, action) = io.0.open(NOW).unwrap();
        assert_eq!(drive(&mut io, id, action, NOW), Err("model broken"));
    }
}
