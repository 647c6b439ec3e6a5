//! An independent reference model of one connection, written from `eventmpm_core::conn`'s
//! documentation: which action each event must produce and which timeout class the connection
//! waits in since when. The checker steps it beside the real table and compares.

use eventmpm_core::conn::{Action, Event, Handback, HeadRead, HeadTimeout, Outcome, Phase, Wrote};
use eventmpm_core::table::ConnId;
use eventmpm_core::time::{Duration, Instant};
use eventmpm_core::timeouts::Class;

/// What happens to the connection's timeout entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queue {
    Keep,
    Enqueue(Class),
    Dequeue,
}

/// The model's view of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shadow {
    pub id: ConnId,
    pub phase: Phase,
    /// The timeout class it waits in, since when, and its place in that FIFO.
    pub class: Option<Class>,
    pub since: Instant,
    pub seq: u64,
    /// When the current head read (or the handshake, from the accept) started, across
    /// extensions.
    pub head_start: Instant,
    pub head_bytes: u32,
    pub stage_bytes: u32,
    pub served: u32,
    pub keep_alive_after_write: bool,
}

/// The settings the model needs, already clamped like the table's (1 ms at least).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rules {
    pub head: HeadTimeout,
    /// `handshake=`; `None`: Timeout bounds each wait for handshake bytes.
    pub handshake: Option<HeadTimeout>,
    pub stopping: bool,
}

impl Rules {
    /// The length of a head or handshake stage (a handshake's without a stage is Timeout's,
    /// which the checker knows; here it is the head's, unused).
    pub fn stage(&self, class: Class) -> Duration {
        let (t, initial) = match class {
            Class::HeadInitial => (self.head, true),
            Class::HandshakeInitial => (self.handshake.unwrap_or(self.head), true),
            Class::HandshakeExtended => (self.handshake.unwrap_or(self.head), false),
            _ => (self.head, false),
        };
        if initial {
            t.initial
        } else {
            t.extended.unwrap_or(t.initial)
        }
    }

    /// MinRate met: at least `min_rate` bytes per second over the stage (never with MinRate 0).
    fn rate_met(t: &HeadTimeout, bytes: u32, stage: Duration) -> bool {
        t.min_rate > 0 && u64::from(bytes) * 1000 >= u64::from(t.min_rate) * stage.as_millis()
    }
}

impl Shadow {
    pub fn new(id: ConnId, now: Instant) -> Shadow {
        Shadow {
            id,
            phase: Phase::ReadHead,
            class: None,
            since: now,
            seq: 0,
            head_start: now,
            head_bytes: 0,
            stage_bytes: 0,
            served: 0,
            keep_alive_after_write: false,
        }
    }

    fn begin_head(&mut self, now: Instant, buffered: u32) {
        self.phase = Phase::ReadHead;
        self.head_start = now;
        self.head_bytes = buffered;
        // Bytes already buffered do not count toward the new stage's MinRate.
        self.stage_bytes = 0;
    }

    /// The expected answer to `event`, and the queue change; updates the model.
    pub fn step(&mut self, event: Event, now: Instant, rules: &Rules) -> (Action, Queue) {
        use Action as A;
        use Phase as P;
        use Queue as Q;
        match (self.phase, event) {
            (P::ReadHead, Event::Opened) => {
                self.begin_head(now, 0);
                (A::ReadHead, Q::Enqueue(Class::HeadInitial))
            }
            (P::ReadHead, Event::Ready) => (A::ReadHead, Q::Keep),
            (P::ReadHead, Event::HeadRead(HeadRead::Partial { new_bytes })) => {
                self.head_bytes = self.head_bytes.saturating_add(new_bytes);
                self.stage_bytes = self.stage_bytes.saturating_add(new_bytes);
                (A::WaitReadable, Q::Keep)
            }
            (P::ReadHead, Event::HeadRead(HeadRead::Complete)) => {
                self.phase = P::Worker;
                (
                    A::Dispatch {
                        served: self.served,
                    },
                    Q::Dequeue,
                )
            }
            (P::ReadHead, Event::HeadRead(HeadRead::Invalid { status })) => {
                self.phase = P::Linger;
                (A::Reject { status }, Q::Enqueue(Class::Linger))
            }
            (P::ReadHead, Event::HeadRead(HeadRead::Closed)) => self.close(),
            (P::ReadHead, Event::OpenedTls) => {
                self.phase = P::Handshake;
                self.stage_bytes = 0;
                (A::ReadHead, Q::Enqueue(Class::HandshakeInitial))
            }
            (P::Handshake, Event::Ready) => (A::ReadHead, Q::Keep),
            (P::Handshake, Event::HeadRead(HeadRead::Handshaking { new_bytes })) => {
                self.stage_bytes = self.stage_bytes.saturating_add(new_bytes);
                if rules.handshake.is_none() && new_bytes > 0 {
                    (A::WaitReadable, Q::Enqueue(Class::HandshakeInitial))
                } else {
                    (A::WaitReadable, Q::Keep)
                }
            }
            (P::Handshake, Event::HeadRead(r)) => {
                // The handshake is over: the header stage starts now, whatever the read
                // brought; the head's own answer follows.
                self.begin_head(now, 0);
                let (action, queue) = self.step(Event::HeadRead(r), now, rules);
                let queue = match queue {
                    Q::Keep => Q::Enqueue(Class::HeadInitial),
                    q => q,
                };
                (action, queue)
            }
            (
                P::Handshake,
                Event::TimedOut(c @ (Class::HandshakeInitial | Class::HandshakeExtended)),
            ) => {
                if let Some(h) = rules.handshake {
                    let extend = Rules::rate_met(&h, self.stage_bytes, rules.stage(c))
                        && (c == Class::HandshakeInitial || h.extended.is_none())
                        && !rules.stopping;
                    if extend {
                        self.stage_bytes = 0;
                        return (A::Nothing, Q::Enqueue(Class::HandshakeExtended));
                    }
                }
                self.phase = P::Linger;
                (A::Linger, Q::Enqueue(Class::ShortLinger))
            }
            (P::ReadHead, Event::HeadRead(HeadRead::Handshaking { .. })) => {
                (A::WaitReadable, Q::Keep)
            }
            (P::ReadHead, Event::TimedOut(c @ (Class::HeadInitial | Class::HeadExtended))) => {
                let extend = Rules::rate_met(&rules.head, self.stage_bytes, rules.stage(c))
                    && (c == Class::HeadInitial || rules.head.extended.is_none())
                    && !rules.stopping;
                if extend {
                    self.stage_bytes = 0;
                    return (A::Nothing, Q::Enqueue(Class::HeadExtended));
                }
                self.phase = P::Linger;
                let action = if self.head_bytes == 0 {
                    A::Linger
                } else {
                    A::Reject { status: 408 }
                };
                (action, Q::Enqueue(Class::ShortLinger))
            }
            (P::KeepAlive, Event::Ready) => {
                self.begin_head(now, 0);
                (A::ReadHead, Q::Enqueue(Class::HeadInitial))
            }
            (P::KeepAlive, Event::TimedOut(Class::KeepAlive) | Event::KeepAliveKilled) => {
                self.phase = P::Linger;
                (A::Linger, Q::Enqueue(Class::ShortLinger))
            }
            (P::Worker, Event::Handback(h)) => self.handback(h, now),
            (P::WriteCompletion, Event::Ready) => (A::Write, Q::Keep),
            (P::WriteCompletion, Event::Wrote(w)) => self.wrote(w, now),
            (P::WriteCompletion, Event::TimedOut(Class::WriteCompletion)) => self.close(),
            (P::Linger, Event::Ready) => (A::Drain, Q::Keep),
            (P::Linger, Event::Drained { eof: false }) => (A::WaitReadable, Q::Keep),
            (P::Linger, Event::Drained { eof: true }) => self.close(),
            (P::Linger, Event::TimedOut(Class::Linger | Class::ShortLinger)) => self.close(),
            _ => (A::Nothing, Q::Keep),
        }
    }

    fn close(&mut self) -> (Action, Queue) {
        self.phase = Phase::Closed;
        (Action::Close, Queue::Dequeue)
    }

    fn handback(&mut self, h: Handback, now: Instant) -> (Action, Queue) {
        self.served = self.served.saturating_add(h.served);
        match h.outcome {
            Outcome::KeepAlive => {
                self.phase = Phase::KeepAlive;
                (Action::WaitReadable, Queue::Enqueue(Class::KeepAlive))
            }
            Outcome::PartialHead { bytes } => {
                self.begin_head(now, bytes);
                (Action::WaitReadable, Queue::Enqueue(Class::HeadInitial))
            }
            Outcome::Yield => {
                self.begin_head(now, 0);
                (Action::ReadHead, Queue::Enqueue(Class::HeadInitial))
            }
            Outcome::WriteCompletion { keep_alive } => {
                self.phase = Phase::WriteCompletion;
                self.keep_alive_after_write = keep_alive;
                (Action::WaitWritable, Queue::Enqueue(Class::WriteCompletion))
            }
            Outcome::Linger => {
                self.phase = Phase::Linger;
                (Action::Linger, Queue::Enqueue(Class::Linger))
            }
            Outcome::Close => self.close(),
        }
    }

    fn wrote(&mut self, w: Wrote, now: Instant) -> (Action, Queue) {
        match w {
            Wrote::Progress => (Action::WaitWritable, Queue::Enqueue(Class::WriteCompletion)),
            Wrote::Blocked => (Action::WaitWritable, Queue::Keep),
            Wrote::Done { buffered } => {
                self.served = self.served.saturating_add(1);
                if !self.keep_alive_after_write {
                    self.phase = Phase::Linger;
                    (Action::Linger, Queue::Enqueue(Class::Linger))
                } else if buffered {
                    self.begin_head(now, 0);
                    (Action::ReadHead, Queue::Enqueue(Class::HeadInitial))
                } else {
                    self.phase = Phase::KeepAlive;
                    (Action::WaitReadable, Queue::Enqueue(Class::KeepAlive))
                }
            }
            Wrote::Failed => self.close(),
        }
    }
}
