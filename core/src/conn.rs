//! One connection's life, as a pure state machine.
//!
//! ```text
//!   accept (TLS)
//!        │
//!        ▼         handshake done
//!    Handshake ─────────────────┐
//!  (listener reads;             │
//!   HandshakeInitial /          │
//!   HandshakeExtended queue)    │
//!                               │   accept (plain)
//!              ┌────────────────┘   │
//!              ▼           head complete          response written,
//!  ┌──────► ReadHead ───────────────────► Worker ───── keep-alive ─────► KeepAlive
//!  │  (listener reads;                    │   │                          │
//!  │   HeadInitial /                      │   └─ socket full ─► WriteCompletion
//!  │   HeadExtended queue)                │                     (WriteCompletion queue)
//!  │                                      │                          │ drained
//!  │                                      └─ close ─► Linger ◄───────┘ (no keep-alive)
//!  └───────────── readable ───────────────────────────────────── KeepAlive (queue)
//! ```
//!
//! The phases are httpd's connection states (`CONN_STATE_*`) with one addition: a request head is
//! read *without a worker*. httpd's event MPM hands a readable keep-alive connection to a worker,
//! which then blocks reading the head under `mod_reqtimeout`; a few hundred slow clients
//! (slowloris) thereby occupy every worker. Here the listener reads head bytes as they arrive and
//! only a complete head is dispatched, so a worker never waits on a client.
//!
//! Each [`Conn::step`] takes an [`Event`] and returns a [`Step`]: the I/O the caller must perform
//! ([`Action`]) and what to do with the connection's timeout queue entry ([`QueueOp`]).
//! [`crate::table::ConnTable`] applies the queue operations and keeps the counters; workers use
//! [`keep_alive`] to decide a response's `Connection` header.
//!
//! ## Request-read timeouts
//!
//! `RequestReadTimeout header=20-40,MinRate=500` is applied in stages, so that each stage is a
//! fixed-interval FIFO ([`crate::timeouts`]): the head must be complete within the initial 20 s;
//! a client that sent at least MinRate bytes per second during that stage earns one extended
//! stage up to the maximum (40 s from the start); otherwise it gets `408 Request Timeout`. Without
//! a maximum (`header=20,MinRate=500`) extended stages of the initial length repeat for as long as
//! each meets the rate. mod_reqtimeout instead extends the deadline continuously by one second per
//! MinRate bytes; the stage form enforces the same two promises (a stalled or trickling client is
//! cut off at the initial timeout, a steadily sending one gets up to the maximum) with O(1)
//! bookkeeping.
//!
//! `RequestReadTimeout handshake=` is staged the same way over the bytes of TLS records the
//! client sends during the handshake. The header stage's clock starts when the handshake ends,
//! as mod_reqtimeout's does (its header stage begins with the first request's read). With the
//! handshake stage off — httpd's default — `Timeout` bounds each wait for the client's next
//! handshake bytes, as the socket timeout does in httpd, where mod_ssl's handshake read blocks
//! under it. A plain HTTP connection has no handshake stage whatever `handshake=` says.

use crate::time::Duration;
use crate::timeouts::Class;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The listener is carrying out a TLS handshake; no request byte has been decrypted yet.
    Handshake,
    /// The listener is receiving a request head (`CONN_STATE_READ_REQUEST_LINE`).
    ReadHead,
    /// A worker owns the connection: running a handler, possibly several pipelined requests.
    Worker,
    /// The socket could not take the whole response; the listener waits for it to drain
    /// (`CONN_STATE_WRITE_COMPLETION`).
    WriteCompletion,
    /// Idle between requests (`CONN_STATE_KEEPALIVE`).
    KeepAlive,
    /// Lingering close: our side is shut down, the client's remaining input is drained
    /// (`CONN_STATE_LINGER_NORMAL` / `_SHORT`).
    Linger,
    /// Gone; the slot is free.
    Closed,
}

/// What the last read of a request head found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadRead {
    /// The head is not complete; `new_bytes` arrived in this read (0 for a spurious wake-up).
    Partial {
        /// Bytes received by this read.
        new_bytes: u32,
    },
    /// A complete head is buffered.
    Complete,
    /// The head is malformed or over a limit: answer with this status and close.
    Invalid {
        /// The HTTP status to answer with (400, 414, 431, 505, …).
        status: u16,
    },
    /// The client closed or reset the connection.
    Closed,
    /// The TLS handshake is not finished; `new_bytes` of the client's handshake records arrived
    /// in this read. Any other answer from a connection in [`Phase::Handshake`] means the
    /// handshake is over (done, or failed as that answer says).
    Handshaking {
        /// Raw (encrypted) bytes received by this read.
        new_bytes: u32,
    },
}

/// What the last attempt to write pending output achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrote {
    /// Some bytes went out and more remain.
    Progress,
    /// Nothing could be written (a spurious wake-up); more remains.
    Blocked,
    /// Everything is written. `buffered` tells whether bytes of a further (pipelined) request
    /// are already in the connection's input buffer.
    Done {
        /// Input for a further request is already buffered.
        buffered: bool,
    },
    /// The write failed (reset, broken pipe).
    Failed,
}

/// How a worker returns a connection to the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every response is written; the connection stays open and no further input is buffered.
    KeepAlive,
    /// Every response is written and part of the next request head is buffered.
    PartialHead {
        /// Bytes of the next head already buffered.
        bytes: u32,
    },
    /// A complete next head is buffered but the worker yields the connection (it has served its
    /// bound of consecutive requests; see [`MAX_REQUESTS_PER_DISPATCH`]).
    Yield,
    /// The socket could not take the whole response; the rest is pending.
    WriteCompletion {
        /// Whether the connection stays open once the response is out.
        keep_alive: bool,
    },
    /// The last response is written and the connection must close: linger.
    Linger,
    /// Close without lingering: the connection is dead (reset, write error), or its last
    /// response is written, the client asked for the close itself and nothing more can come
    /// from it that a close could make the kernel answer with a reset (nothing unread,
    /// nothing more announced: nginx's `lingering_close on`).
    Close,
}

/// A worker's report when it gives a connection back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handback {
    /// Responses completely written during this dispatch. A response left to write completion
    /// is counted when it completes ([`Wrote::Done`]).
    pub served: u32,
    /// What state the connection is in.
    pub outcome: Outcome,
}

/// A worker serves at most this many pipelined requests on one connection per dispatch before
/// handing it back, so one client cannot monopolise a thread (httpd's FlushMaxPipelined plays a
/// similar role for buffered responses).
pub const MAX_REQUESTS_PER_DISPATCH: u32 = 32;

/// Something that happened to a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The connection was just accepted.
    Opened,
    /// The connection was just accepted on a TLS port: it starts with the handshake.
    OpenedTls,
    /// The socket is ready for what the connection waits for (its oneshot registration fired).
    Ready,
    /// The result of an [`Action::ReadHead`].
    HeadRead(HeadRead),
    /// The result of an [`Action::Write`].
    Wrote(Wrote),
    /// The result of an [`Action::Drain`] or [`Action::Linger`]: `eof` once the client has
    /// closed its side (or the connection failed), else the socket has nothing more for now.
    Drained {
        /// The client finished sending, or the socket failed.
        eof: bool,
    },
    /// A worker gave the connection back.
    Handback(Handback),
    /// The connection's timeout queue expired it.
    TimedOut(Class),
    /// No worker is idle: idle keep-alive connections are closed so their clients reconnect to a
    /// child that can serve them (httpd's "kill keep-alive" when `workers_were_busy`).
    KeepAliveKilled,
}

/// The I/O the caller must perform next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Receive request-head bytes: scan what is already buffered, read what the socket has
    /// (non-blocking), and report [`Event::HeadRead`].
    ReadHead,
    /// Re-arm the socket for readability; the queue entry says how long to wait.
    WaitReadable,
    /// Re-arm the socket for writability.
    WaitWritable,
    /// Hand the connection to a worker: a complete head is buffered. `served` responses were
    /// already sent on this connection (for `MaxKeepAliveRequests`).
    Dispatch {
        /// Responses already completed on this connection.
        served: u32,
    },
    /// Write more of the pending response (non-blocking) and report [`Event::Wrote`].
    Write,
    /// Send a short error response with this status (best effort, non-blocking), then start
    /// lingering close as for [`Action::Linger`].
    Reject {
        /// The HTTP status.
        status: u16,
    },
    /// Start lingering close: `shutdown(SHUT_WR)`, then drain and report [`Event::Drained`].
    Linger,
    /// Read and discard the client's input, report [`Event::Drained`].
    Drain,
    /// Close the socket. The connection is finished.
    Close,
    /// Nothing to do: the event did not apply to the connection's phase (a stale or spurious
    /// event).
    Nothing,
}

/// What to do with the connection's timeout queue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOp {
    /// Leave it where it is (stay in the same queue with the same timestamp, or stay unqueued).
    Keep,
    /// (Re-)append to this class's queue, stamped now.
    Enqueue(Class),
    /// Take it out of any queue.
    Dequeue,
}

/// The answer of [`Conn::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The I/O to perform.
    pub action: Action,
    /// The timeout queue change.
    pub queue: QueueOp,
}

impl Step {
    const fn new(action: Action, queue: QueueOp) -> Step {
        Step { action, queue }
    }
}

/// `RequestReadTimeout header=…` as the state machine applies it.
#[doc(alias = "RequestReadTimeout")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadTimeout {
    /// The initial stage (`header=20`); the queue interval of [`Class::HeadInitial`].
    pub initial: Duration,
    /// The extended stage's length (`header=20-40` gives 20), or `None` for no extension.
    /// Without a maximum but with a MinRate, extended stages of `initial` repeat.
    pub extended: Option<Duration>,
    /// The minimum rate in bytes per second that earns an extension (`MinRate=500`); 0 = none.
    pub min_rate: u32,
}

impl HeadTimeout {
    /// httpd's (Debian's) `header=20-40,MinRate=500`.
    pub const DEFAULT: HeadTimeout = HeadTimeout {
        initial: Duration::from_secs(20),
        extended: Some(Duration::from_secs(20)),
        min_rate: 500,
    };

    /// Whether `stage_bytes` received during a stage of length `stage` meet the minimum rate.
    const fn rate_met(&self, stage_bytes: u32, stage: Duration) -> bool {
        self.min_rate > 0 && stage_bytes as u64 * 1000 >= self.min_rate as u64 * stage.as_millis()
    }
}

/// What the state machine needs from the configuration and the child's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Context {
    /// Request-head timeouts.
    pub head: HeadTimeout,
    /// `RequestReadTimeout handshake=…`, or `None` when that stage is off: `Timeout` (the
    /// [`Class::HandshakeInitial`] interval then) bounds each wait for handshake bytes.
    pub handshake: Option<HeadTimeout>,
    /// The child is stopping gracefully: nothing new is started.
    pub stopping: bool,
}

/// The state of one connection. Small and `Copy`: it travels with the connection between the
/// listener and a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conn {
    phase: Phase,
    served: u32,
    head_bytes: u32,
    stage_bytes: u32,
    keep_alive_after_write: bool,
}

impl Conn {
    /// A connection that has just been accepted; feed it [`Event::Opened`].
    pub const NEW: Conn = Conn {
        phase: Phase::ReadHead,
        served: 0,
        head_bytes: 0,
        stage_bytes: 0,
        keep_alive_after_write: false,
    };

    /// The current phase.
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// Responses completed on this connection so far.
    pub const fn served(&self) -> u32 {
        self.served
    }

    /// Bytes of the current request head received so far.
    pub const fn head_bytes(&self) -> u32 {
        self.head_bytes
    }

    /// Advance the machine by one event.
    pub fn step(&mut self, event: Event, ctx: &Context) -> Step {
        use Action as A;
        use Phase as P;
        use QueueOp as Q;
        match (self.phase, event) {
            (P::ReadHead, Event::Opened) => {
                self.begin_head(0);
                Step::new(A::ReadHead, Q::Enqueue(Class::HeadInitial))
            }
            (P::ReadHead, Event::OpenedTls) => {
                self.phase = P::Handshake;
                self.begin_head(0);
                Step::new(A::ReadHead, Q::Enqueue(Class::HandshakeInitial))
            }
            (P::ReadHead, Event::Ready) => Step::new(A::ReadHead, Q::Keep),
            (P::ReadHead, Event::HeadRead(r)) => self.head_read(r),
            (P::ReadHead, Event::TimedOut(c @ (Class::HeadInitial | Class::HeadExtended))) => {
                self.head_timed_out(c, ctx)
            }

            (P::Handshake, Event::Ready) => Step::new(A::ReadHead, Q::Keep),
            (P::Handshake, Event::HeadRead(r)) => self.handshake_read(r, ctx),
            (
                P::Handshake,
                Event::TimedOut(c @ (Class::HandshakeInitial | Class::HandshakeExtended)),
            ) => self.handshake_timed_out(c, ctx),

            (P::KeepAlive, Event::Ready) => {
                // The KeepAliveTimeout wait is over; the request-read timeout starts now.
                self.phase = P::ReadHead;
                self.begin_head(0);
                Step::new(A::ReadHead, Q::Enqueue(Class::HeadInitial))
            }
            (P::KeepAlive, Event::TimedOut(Class::KeepAlive) | Event::KeepAliveKilled) => {
                // httpd's shutdown_connection: a short lingering close, so a request racing our
                // FIN is read and discarded instead of answered with a reset.
                self.phase = P::Linger;
                Step::new(A::Linger, Q::Enqueue(Class::ShortLinger))
            }

            (P::Worker, Event::Handback(h)) => self.handback(h),

            (P::WriteCompletion, Event::Ready) => Step::new(A::Write, Q::Keep),
            (P::WriteCompletion, Event::Wrote(w)) => self.wrote(w),
            (P::WriteCompletion, Event::TimedOut(Class::WriteCompletion)) => {
                // The client stopped reading for a whole Timeout. Lingering would only queue a
                // FIN behind data it will not read; close.
                self.close()
            }

            (P::Linger, Event::Ready) => Step::new(A::Drain, Q::Keep),
            (P::Linger, Event::Drained { eof: false }) => Step::new(A::WaitReadable, Q::Keep),
            (P::Linger, Event::Drained { eof: true }) => self.close(),
            (P::Linger, Event::TimedOut(Class::Linger | Class::ShortLinger)) => self.close(),

            // Anything else is an event for a phase the connection has left (a stale poller
            // event, a timeout raced by a state change): ignore it.
            _ => Step::new(A::Nothing, Q::Keep),
        }
    }

    /// Start reading a head with `buffered` bytes of it already received. Those bytes count
    /// toward the head (and its 408) but not toward the first stage's MinRate, which judges what
    /// the client sends *during* the stage.
    fn begin_head(&mut self, buffered: u32) {
        self.head_bytes = buffered;
        self.stage_bytes = 0;
    }

    fn close(&mut self) -> Step {
        self.phase = Phase::Closed;
        Step::new(Action::Close, QueueOp::Dequeue)
    }

    fn linger(&mut self, class: Class, action: Action) -> Step {
        self.phase = Phase::Linger;
        Step::new(action, QueueOp::Enqueue(class))
    }

    fn head_read(&mut self, r: HeadRead) -> Step {
        match r {
            HeadRead::Partial { new_bytes } => {
                self.head_bytes = self.head_bytes.saturating_add(new_bytes);
                self.stage_bytes = self.stage_bytes.saturating_add(new_bytes);
                // Stay in the queue with the original timestamp: progress does not restart the
                // stage's clock (that is what makes a trickling client time out).
                Step::new(Action::WaitReadable, QueueOp::Keep)
            }
            // No handshake runs after the first (rustls renegotiates nothing): nothing came that
            // the head could use.
            HeadRead::Handshaking { .. } => Step::new(Action::WaitReadable, QueueOp::Keep),
            HeadRead::Complete => {
                self.phase = Phase::Worker;
                Step::new(
                    Action::Dispatch {
                        served: self.served,
                    },
                    QueueOp::Dequeue,
                )
            }
            // A malformed request may be followed by a body the client is still sending: a
            // normal (30 s) linger lets it read our answer instead of getting a reset.
            HeadRead::Invalid { status } => {
                debug!("client error: request head refused with {}", status);
                self.linger(Class::Linger, Action::Reject { status })
            }
            HeadRead::Closed => self.close(),
        }
    }

    fn handshake_read(&mut self, r: HeadRead, ctx: &Context) -> Step {
        if let HeadRead::Handshaking { new_bytes } = r {
            self.stage_bytes = self.stage_bytes.saturating_add(new_bytes);
            // Without a handshake stage, Timeout is a wait between reads, as a socket timeout
            // is: bytes restart its clock. A stage's clock runs on, as the header stage's does.
            let queue = if ctx.handshake.is_none() && new_bytes > 0 {
                QueueOp::Enqueue(Class::HandshakeInitial)
            } else {
                QueueOp::Keep
            };
            return Step::new(Action::WaitReadable, queue);
        }
        // The handshake is over; the same read may have brought (part of) the first head. The
        // header stage starts now, with its own clock.
        self.phase = Phase::ReadHead;
        self.begin_head(0);
        let mut step = self.head_read(r);
        if step.queue == QueueOp::Keep {
            step.queue = QueueOp::Enqueue(Class::HeadInitial);
        }
        step
    }

    fn handshake_timed_out(&mut self, stage: Class, ctx: &Context) -> Step {
        if let Some(t) = ctx.handshake
            && self.may_extend(&t, stage == Class::HandshakeInitial, ctx)
        {
            return Step::new(Action::Nothing, QueueOp::Enqueue(Class::HandshakeExtended));
        }
        // mod_reqtimeout's short linger: no request was read, so there is no one to answer.
        debug!("TLS handshake timed out");
        self.linger(Class::ShortLinger, Action::Linger)
    }

    /// Whether a stage that just ended earns the client an extended stage: only with a MinRate,
    /// only if this stage met it, and only into an extended stage that exists (with a maximum
    /// there is exactly one extension; without one, extensions repeat). Starts the extended
    /// stage's byte count when it does.
    fn may_extend(&mut self, t: &HeadTimeout, initial: bool, ctx: &Context) -> bool {
        let stage_len = if initial {
            t.initial
        } else {
            t.extended.unwrap_or(t.initial)
        };
        let extend = t.rate_met(self.stage_bytes, stage_len)
            && (initial || t.extended.is_none())
            && !ctx.stopping;
        if extend {
            self.stage_bytes = 0;
        }
        extend
    }

    fn head_timed_out(&mut self, stage: Class, ctx: &Context) -> Step {
        if self.may_extend(&ctx.head, stage == Class::HeadInitial, ctx) {
            return Step::new(Action::Nothing, QueueOp::Enqueue(Class::HeadExtended));
        }
        if self.head_bytes == 0 {
            // Nothing of a request arrived: there is no one to answer; mod_reqtimeout's short
            // linger.
            self.linger(Class::ShortLinger, Action::Linger)
        } else {
            debug!(
                "request head timed out after {} bytes: 408",
                self.head_bytes
            );
            self.linger(Class::ShortLinger, Action::Reject { status: 408 })
        }
    }

    fn handback(&mut self, h: Handback) -> Step {
        self.served = self.served.saturating_add(h.served);
        match h.outcome {
            Outcome::KeepAlive => {
                self.phase = Phase::KeepAlive;
                Step::new(Action::WaitReadable, QueueOp::Enqueue(Class::KeepAlive))
            }
            Outcome::PartialHead { bytes } => {
                self.phase = Phase::ReadHead;
                self.begin_head(bytes);
                Step::new(Action::WaitReadable, QueueOp::Enqueue(Class::HeadInitial))
            }
            Outcome::Yield => {
                self.phase = Phase::ReadHead;
                self.begin_head(0);
                Step::new(Action::ReadHead, QueueOp::Enqueue(Class::HeadInitial))
            }
            Outcome::WriteCompletion { keep_alive } => {
                self.phase = Phase::WriteCompletion;
                self.keep_alive_after_write = keep_alive;
                Step::new(
                    Action::WaitWritable,
                    QueueOp::Enqueue(Class::WriteCompletion),
                )
            }
            Outcome::Linger => self.linger(Class::Linger, Action::Linger),
            Outcome::Close => self.close(),
        }
    }

    fn wrote(&mut self, w: Wrote) -> Step {
        match w {
            // Timeout bounds the wait between two successful writes, like a socket timeout:
            // progress restarts the clock.
            Wrote::Progress => Step::new(
                Action::WaitWritable,
                QueueOp::Enqueue(Class::WriteCompletion),
            ),
            Wrote::Blocked => Step::new(Action::WaitWritable, QueueOp::Keep),
            Wrote::Done { buffered } => {
                // The response handed to write completion was a completed request.
                self.served = self.served.saturating_add(1);
                if !self.keep_alive_after_write {
                    self.linger(Class::Linger, Action::Linger)
                } else if buffered {
                    self.phase = Phase::ReadHead;
                    self.begin_head(0);
                    Step::new(Action::ReadHead, QueueOp::Enqueue(Class::HeadInitial))
                } else {
                    self.phase = Phase::KeepAlive;
                    Step::new(Action::WaitReadable, QueueOp::Enqueue(Class::KeepAlive))
                }
            }
            Wrote::Failed => self.close(),
        }
    }
}

/// How a response ends its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepAlive {
    /// `Connection: close`; linger after the response.
    Close,
    /// Keep the connection open: `Keep-Alive: timeout=…, max=remaining`.
    Open {
        /// The idle time the client may expect (`KeepAliveTimeout`).
        timeout: Duration,
        /// How many more requests this connection will serve, or `None` if unlimited
        /// (`MaxKeepAliveRequests 0`).
        remaining: Option<u32>,
    },
}

/// The keep-alive settings a worker consults for each response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeepAliveSettings {
    /// `KeepAlive On|Off`.
    pub enabled: bool,
    /// `KeepAliveTimeout`.
    pub timeout: Duration,
    /// `MaxKeepAliveRequests`; 0 = unlimited.
    pub max_requests: u32,
}

/// Whether a response keeps its connection open (httpd's `ap_set_keepalive`).
///
/// * `served_before` — responses already completed on the connection;
/// * `client_wants` — the request's keep-alive wish (HTTP/1.1 unless `close`, HTTP/1.0 only with
///   `keep-alive`);
/// * `framed` — the response's end is visible to the client (Content-Length, or chunked for 1.1);
/// * `status` — statuses after which the request stream cannot be trusted close the connection;
/// * `stopping` — the child is stopping gracefully: the response says `Connection: close`, so the
///   client learns it must reconnect *before* sending another request instead of racing a FIN.
///
/// Like httpd, the first response of a connection advertises `max=MaxKeepAliveRequests`, so a
/// connection serves at most MaxKeepAliveRequests + 1 requests.
#[doc(alias = "MaxKeepAliveRequests")]
pub const fn keep_alive(
    settings: &KeepAliveSettings,
    served_before: u32,
    client_wants: bool,
    framed: bool,
    status: u16,
    stopping: bool,
) -> KeepAlive {
    if !settings.enabled || !client_wants || !framed || stopping || drops_connection(status) {
        return KeepAlive::Close;
    }
    if settings.max_requests == 0 {
        return KeepAlive::Open {
            timeout: settings.timeout,
            remaining: None,
        };
    }
    if served_before >= settings.max_requests {
        return KeepAlive::Close;
    }
    KeepAlive::Open {
        timeout: settings.timeout,
        remaining: Some(settings.max_requests - served_before),
    }
}

/// Statuses after which httpd always closes the connection (`ap_status_drops_connection`): the
/// rest of the input stream cannot be trusted or the server is refusing service.
pub const fn drops_connection(status: u16) -> bool {
    matches!(
        status,
        400 | 408 | 411 | 413 | 414 | 417 | 431 | 500 | 501 | 503
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: Context = Context {
        head: HeadTimeout::DEFAULT,
        handshake: None,
        stopping: false,
    };

    fn step(c: &mut Conn, e: Event) -> Step {
        c.step(e, &CTX)
    }

    fn s(action: Action, queue: QueueOp) -> Step {
        Step { action, queue }
    }

    #[test]
    fn a_keep_alive_request_cycle() {
        let mut c = Conn::NEW;
        assert_eq!(
            step(&mut c, Event::Opened),
            s(Action::ReadHead, QueueOp::Enqueue(Class::HeadInitial))
        );
        let partial = Event::HeadRead(HeadRead::Partial { new_bytes: 10 });
        assert_eq!(
            step(&mut c, partial),
            s(Action::WaitReadable, QueueOp::Keep)
        );
        assert_eq!(
            step(&mut c, Event::Ready),
            s(Action::ReadHead, QueueOp::Keep)
        );
        assert_eq!(
            step(&mut c, Event::HeadRead(HeadRead::Complete)),
            s(Action::Dispatch { served: 0 }, QueueOp::Dequeue)
        );
        assert_eq!(c.phase(), Phase::Worker);
        let back = Event::Handback(Handback {
            served: 1,
            outcome: Outcome::KeepAlive,
        });
        assert_eq!(
            step(&mut c, back),
            s(Action::WaitReadable, QueueOp::Enqueue(Class::KeepAlive))
        );
        assert_eq!(
            step(&mut c, Event::Ready),
            s(Action::ReadHead, QueueOp::Enqueue(Class::HeadInitial))
        );
        assert_eq!(c.head_bytes(), 0);
        assert_eq!(
            step(&mut c, Event::HeadRead(HeadRead::Complete)),
            s(Action::Dispatch { served: 1 }, QueueOp::Dequeue)
        );
    }

    #[test]
    fn write_completion_then_keep_alive_or_pipelined_or_linger() {
        for (ka, buffered, want_phase, want) in [
            (
                true,
                false,
                Phase::KeepAlive,
                s(Action::WaitReadable, QueueOp::Enqueue(Class::KeepAlive)),
            ),
            (
                true,
                true,
                Phase::ReadHead,
                s(Action::ReadHead, QueueOp::Enqueue(Class::HeadInitial)),
            ),
            (
                false,
                false,
                Phase::Linger,
                s(Action::Linger, QueueOp::Enqueue(Class::Linger)),
            ),
        ] {
            let mut c = Conn::NEW;
            step(&mut c, Event::Opened);
            step(&mut c, Event::HeadRead(HeadRead::Complete));
            let out = Outcome::WriteCompletion { keep_alive: ka };
            assert_eq!(
                step(
                    &mut c,
                    Event::Handback(Handback {
                        served: 0,
                        outcome: out
                    })
                ),
                s(
                    Action::WaitWritable,
                    QueueOp::Enqueue(Class::WriteCompletion)
                )
            );
            assert_eq!(step(&mut c, Event::Ready), s(Action::Write, QueueOp::Keep));
            assert_eq!(
                step(&mut c, Event::Wrote(Wrote::Progress)),
                s(
                    Action::WaitWritable,
                    QueueOp::Enqueue(Class::WriteCompletion)
                )
            );
            assert_eq!(
                step(&mut c, Event::Wrote(Wrote::Blocked)),
                s(Action::WaitWritable, QueueOp::Keep)
            );
            assert_eq!(step(&mut c, Event::Wrote(Wrote::Done { buffered })), want);
            assert_eq!(c.phase(), want_phase);
            assert_eq!(c.served(), 1);
        }
    }

    #[test]
    fn stalled_head_gets_408_trickler_too_fast_sender_is_extended_once() {
        // Stalled after a few bytes: 408 at the initial timeout.
        let mut c = Conn::NEW;
        step(&mut c, Event::Opened);
        step(&mut c, Event::HeadRead(HeadRead::Partial { new_bytes: 5 }));
        assert_eq!(
            step(&mut c, Event::TimedOut(Class::HeadInitial)),
            s(
                Action::Reject { status: 408 },
                QueueOp::Enqueue(Class::ShortLinger)
            )
        );

        // Nothing at all: no answer, just a short linger.
        let mut c = Conn::NEW;
        step(&mut c, Event::Opened);
        assert_eq!(
            step(&mut c, Event::TimedOut(Class::HeadInitial)),
            s(Action::Linger, QueueOp::Enqueue(Class::ShortLinger))
        );

        // 500 B/s × 20 s = 10000 bytes earn the extension; 9999 do not.
        for (bytes, extended) in [(9_999, false), (10_000, true)] {
            let mut c = Conn::NEW;
            step(&mut c, Event::Opened);
            step(
                &mut c,
                Event::HeadRead(HeadRead::Partial { new_bytes: bytes }),
            );
            let st = step(&mut c, Event::TimedOut(Class::HeadInitial));
            if extended {
                assert_eq!(
                    st,
                    s(Action::Nothing, QueueOp::Enqueue(Class::HeadExtended))
                );
                assert_eq!(c.phase(), Phase::ReadHead);
                // The maximum is final, however fast the client is.
                step(
                    &mut c,
                    Event::HeadRead(HeadRead::Partial {
                        new_bytes: 1_000_000,
                    }),
                );
                assert_eq!(
                    step(&mut c, Event::TimedOut(Class::HeadExtended)),
                    s(
                        Action::Reject { status: 408 },
                        QueueOp::Enqueue(Class::ShortLinger)
                    )
                );
            } else {
                assert_eq!(st.action, Action::Reject { status: 408 });
            }
        }
    }

    #[test]
    fn without_a_maximum_extensions_repeat_while_the_rate_holds() {
        let ctx = Context {
            head: HeadTimeout {
                initial: Duration::from_secs(10),
                extended: None,
                min_rate: 100,
            },
            handshake: None,
            stopping: false,
        };
        let mut c = Conn::NEW;
        c.step(Event::Opened, &ctx);
        for _ in 0..5 {
            c.step(Event::HeadRead(HeadRead::Partial { new_bytes: 1000 }), &ctx);
            let st = c.step(Event::TimedOut(Class::HeadExtended), &ctx);
            assert_eq!(st.queue, QueueOp::Enqueue(Class::HeadExtended));
        }
        c.step(Event::HeadRead(HeadRead::Partial { new_bytes: 999 }), &ctx);
        assert_eq!(
            c.step(Event::TimedOut(Class::HeadExtended), &ctx).action,
            Action::Reject { status: 408 }
        );
    }

    #[test]
    fn bytes_buffered_before_a_stage_do_not_earn_its_extension() {
        // Found by the simulator: a worker hands back 1000 bytes of a pipelined head; nothing
        // arrives during the stage, so no extension is earned.
        let mut c = Conn::NEW;
        step(&mut c, Event::Opened);
        step(&mut c, Event::HeadRead(HeadRead::Complete));
        let back = Handback {
            served: 1,
            outcome: Outcome::PartialHead { bytes: 20_000 },
        };
        step(&mut c, Event::Handback(back));
        assert_eq!(c.head_bytes(), 20_000);
        assert_eq!(
            step(&mut c, Event::TimedOut(Class::HeadInitial)),
            s(
                Action::Reject { status: 408 },
                QueueOp::Enqueue(Class::ShortLinger)
            )
        );
    }

    #[test]
    fn a_handshake_ends_in_the_header_stage_or_as_its_last_read_says() {
        // Handshake bytes keep the connection in the handshake; the stage's clock runs on
        // unless the stage is off (then Timeout is restarted by bytes, as a socket timeout).
        let staged = Context {
            handshake: Some(HeadTimeout {
                initial: Duration::from_secs(2),
                extended: None,
                min_rate: 0,
            }),
            ..CTX
        };
        for (ctx, requeue) in [
            (staged, QueueOp::Keep),
            (CTX, QueueOp::Enqueue(Class::HandshakeInitial)),
        ] {
            let mut c = Conn::NEW;
            assert_eq!(
                c.step(Event::OpenedTls, &ctx),
                s(Action::ReadHead, QueueOp::Enqueue(Class::HandshakeInitial))
            );
            assert_eq!(c.phase(), Phase::Handshake);
            assert_eq!(
                c.step(Event::Ready, &ctx),
                s(Action::ReadHead, QueueOp::Keep)
            );
            let hs = Event::HeadRead(HeadRead::Handshaking { new_bytes: 517 });
            assert_eq!(c.step(hs, &ctx), s(Action::WaitReadable, requeue));
            // A header-stage timeout cannot reach a handshaking connection.
            assert_eq!(
                c.step(Event::TimedOut(Class::HeadInitial), &ctx),
                s(Action::Nothing, QueueOp::Keep)
            );
            let head = Event::HeadRead(HeadRead::Partial { new_bytes: 3 });
            assert_eq!(
                c.step(head, &ctx),
                s(Action::WaitReadable, QueueOp::Enqueue(Class::HeadInitial))
            );
            assert_eq!((c.phase(), c.head_bytes()), (Phase::ReadHead, 3));
        }
        let ends = [
            (HeadRead::Closed, s(Action::Close, QueueOp::Dequeue)),
            (
                HeadRead::Invalid { status: 400 },
                s(
                    Action::Reject { status: 400 },
                    QueueOp::Enqueue(Class::Linger),
                ),
            ),
            (
                HeadRead::Complete,
                s(Action::Dispatch { served: 0 }, QueueOp::Dequeue),
            ),
        ];
        for (read, want) in ends {
            let mut c = Conn::NEW;
            step(&mut c, Event::OpenedTls);
            assert_eq!(step(&mut c, Event::HeadRead(read)), want);
        }
        // A timed-out handshake has no one to answer: a short linger.
        let mut c = Conn::NEW;
        step(&mut c, Event::OpenedTls);
        assert_eq!(
            step(&mut c, Event::TimedOut(Class::HandshakeInitial)),
            s(Action::Linger, QueueOp::Enqueue(Class::ShortLinger))
        );
    }

    #[test]
    fn invalid_heads_are_answered_then_linger_normally() {
        let mut c = Conn::NEW;
        step(&mut c, Event::Opened);
        assert_eq!(
            step(&mut c, Event::HeadRead(HeadRead::Invalid { status: 431 })),
            s(
                Action::Reject { status: 431 },
                QueueOp::Enqueue(Class::Linger)
            )
        );
        assert_eq!(step(&mut c, Event::Ready), s(Action::Drain, QueueOp::Keep));
        assert_eq!(
            step(&mut c, Event::Drained { eof: false }),
            s(Action::WaitReadable, QueueOp::Keep)
        );
        assert_eq!(
            step(&mut c, Event::Drained { eof: true }),
            s(Action::Close, QueueOp::Dequeue)
        );
        assert_eq!(c.phase(), Phase::Closed);
    }

    #[test]
    fn idle_keep_alive_ends_in_a_short_linger() {
        for e in [Event::TimedOut(Class::KeepAlive), Event::KeepAliveKilled] {
            let mut c = Conn::NEW;
            step(&mut c, Event::Opened);
            step(&mut c, Event::HeadRead(HeadRead::Complete));
            step(
                &mut c,
                Event::Handback(Handback {
                    served: 1,
                    outcome: Outcome::KeepAlive,
                }),
            );
            assert_eq!(
                step(&mut c, e),
                s(Action::Linger, QueueOp::Enqueue(Class::ShortLinger))
            );
            assert_eq!(
                step(&mut c, Event::TimedOut(Class::ShortLinger)),
                s(Action::Close, QueueOp::Dequeue)
            );
        }
    }

    #[test]
    fn events_for_another_phase_do_nothing() {
        let mut c = Conn::NEW;
        step(&mut c, Event::Opened);
        step(&mut c, Event::HeadRead(HeadRead::Complete));
        let before = c;
        // While a worker owns it, the listener's events and timeouts must not touch it.
        for e in [
            Event::Ready,
            Event::TimedOut(Class::KeepAlive),
            Event::TimedOut(Class::HeadInitial),
            Event::KeepAliveKilled,
            Event::Wrote(Wrote::Progress),
            Event::Drained { eof: true },
            Event::HeadRead(HeadRead::Complete),
        ] {
            assert_eq!(step(&mut c, e), s(Action::Nothing, QueueOp::Keep));
            assert_eq!(c, before);
        }
    }

    #[test]
    fn keep_alive_counts_like_httpd() {
        let settings = KeepAliveSettings {
            enabled: true,
            timeout: Duration::from_secs(5),
            max_requests: 100,
        };
        let open = |n| KeepAlive::Open {
            timeout: Duration::from_secs(5),
            remaining: Some(n),
        };
        assert_eq!(keep_alive(&settings, 0, true, true, 200, false), open(100));
        assert_eq!(keep_alive(&settings, 99, true, true, 200, false), open(1));
        assert_eq!(
            keep_alive(&settings, 100, true, true, 200, false),
            KeepAlive::Close
        );
        assert_eq!(
            keep_alive(&settings, 0, false, true, 200, false),
            KeepAlive::Close
        );
        assert_eq!(
            keep_alive(&settings, 0, true, false, 200, false),
            KeepAlive::Close
        );
        assert_eq!(
            keep_alive(&settings, 0, true, true, 400, false),
            KeepAlive::Close
        );
        assert_eq!(keep_alive(&settings, 0, true, true, 404, false), open(100));
        assert_eq!(
            keep_alive(&settings, 0, true, true, 200, true),
            KeepAlive::Close,
            "stopping"
        );
        let unlimited = KeepAliveSettings {
            max_requests: 0,
            ..settings
        };
        assert_eq!(
            keep_alive(&unlimited, 1_000_000, true, true, 200, false),
            KeepAlive::Open {
                timeout: Duration::from_secs(5),
                remaining: None
            }
        );
        let off = KeepAliveSettings {
            enabled: false,
            ..settings
        };
        assert_eq!(
            keep_alive(&off, 0, true, true, 200, false),
            KeepAlive::Close
        );
    }
}
