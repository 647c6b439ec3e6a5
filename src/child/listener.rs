//! The listener thread: accepts connections, owns every connection that is waiting (for a request
//! head, for the socket to drain, for the next request, for lingering close to end), answers the
//! complete requests that need nothing that may block (a cached small file, an error: the same
//! code the workers run, with [`Blocking::Never`]) and hands the others to workers.
//!
//! One iteration: wait on the poller until the next timeout deadline (forever when there is none,
//! so an idle child makes no wake-ups; at once when connections are posted as ready); act on each
//! ready socket; take back connections workers finished with; run the posted connections; expire
//! what timed out; switch the listening sockets on or off by the admission formula (and off for a
//! while when accept runs out of descriptors); publish the counters and, every
//! [`crate::cputime::SAMPLE_EVERY`] at most, its own CPU time. Every step is bounded: a wait
//! returns at most the event buffer's capacity, an accept burst at most [`ACCEPTS_PER_EVENT`],
//! each connection action at most [`driver::MAX_STEPS`] state-machine steps with bounded I/O each,
//! a dispatch answered here at most [`MAX_REQUESTS_PER_DISPATCH`] requests of at most 8 KiB read
//! each, a write-completion step at most 256 KiB; a connection with more to do waits its turn.
//!
//! With an edge-triggered poller ([`sys::EDGE_TRIGGERED`], epoll) each connection is registered
//! once; the listener keeps what each socket is known to be ready for ([`connio::Readiness`]) and
//! the edges that came while a worker held it. With a oneshot poller (kqueue, event ports) each
//! wait re-arms the registration.
//!
//! [`MAX_REQUESTS_PER_DISPATCH`]: eventmpm_core::conn::MAX_REQUESTS_PER_DISPATCH

use std::convert::Infallible;
use std::net::TcpListener;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use eventmpm_core::admission::{Admission, Verdict};
use eventmpm_core::conn::{Action, Event, Handback, HeadRead, Outcome, Wrote};
use eventmpm_core::driver::{self, Io, Settled};
use eventmpm_core::listener::{self, Accept};
use eventmpm_core::table::{ConnId, ConnTable, Counts};
use eventmpm_core::time::Instant;

use super::accept_shortage;
use super::connio::{self, ConnIo};
use super::worker::{Blocking, Worker};
use super::{Clock, Completion, Job, Shared, StopMode};
use crate::accept_turns::Turns;
use crate::signals::SignalPipe;
use crate::sys::{self, Accepted, Events, Interest, Poller, WAKE_TOKEN};

/// Connections accepted per readiness event of one listening socket before the loop moves on
/// (the socket is level-triggered and reports again if more are waiting).
pub const ACCEPTS_PER_EVENT: usize = 64;
/// Poller events per wait.
const EVENTS: usize = 512;
/// The token of the signal pipe: the first one above every connection token, and like them
/// within a pointer's range (kqueue and event ports carry tokens in pointer-sized fields).
const SIGNAL_TOKEN: u64 = eventmpm_core::table::TOKEN_LIMIT;
/// The token of the accept turns' bell ([`crate::accept_turns`]).
const TURN_TOKEN: u64 = SIGNAL_TOKEN + 1;

/// What the listener needs to run.
#[allow(missing_debug_implementations)]
pub struct Listener<'t> {
    conns: Conns<'t>,
    /// The core's rules: admission, stalled workers, expiry.
    rules: listener::Listener,
    listeners: Vec<TcpListener>,
    /// Per listening socket, its address when it is a specific one: every connection it accepts
    /// has that local address, so no `getsockname` per connection. `None` for a wildcard.
    bound: Vec<Option<std::net::SocketAddr>>,
    /// Per listening socket, its TLS configuration if it serves HTTPS.
    tls: Vec<Option<crate::tls::Server>>,
    /// Admission (with an accept pause and a stop) lets this child accept: its scoreboard flag.
    willing: bool,
    /// With more possible children than CPUs: the turns, and whether it is this child's turn
    /// as last seen (`turn_stale`: look again, after the bell or a change of `willing`).
    turns: Option<Arc<Turns>>,
    my_turn: bool,
    turn_stale: bool,
    /// The listening sockets are polled: `willing` and `my_turn`.
    listening: bool,
    completed: Vec<Completion>,
    /// The second half of [`Conns::posted`]'s double buffer (empty between turns).
    posted_spare: Vec<ConnId>,
    clock: Clock,
    signals: SignalPipe,
    stop: Option<StopMode>,
    accepts_left: Option<u64>,
    /// Worker threads running.
    workers: u32,
    /// When this thread last recorded its CPU time.
    cpu: crate::cputime::Sampler,
}

/// The listener's connections: their state machines, their sockets and buffers, the poller and
/// the queue to the workers. It carries out what the core's [`driver`] asks for each connection.
struct Conns<'t> {
    table: ConnTable<'t>,
    io: Vec<Option<ConnIo>>,
    poller: Poller,
    shared: Arc<Shared>,
    /// Where drained input goes.
    scratch: Box<[u8]>,
    /// The counters as last written to the scoreboard.
    published: Option<Counts>,
    /// Jobs pushed to the workers and not yet handed back.
    in_flight: u32,
    /// Connections that go on after this iteration's events, as nginx's posted events: those
    /// with more to do after requests answered here ([`Edges::again`]) and, with edge-triggered
    /// polling, those whose awaited readiness is already known (an edge came while they were
    /// busy, or a bounded step stopped before the socket would block). Each is here at most
    /// once ([`Edges::posted`]), so the list never outgrows the table.
    posted: Vec<ConnId>,
    /// Per slot: what the poller reported while the connection was away with a worker.
    edges: Vec<Edges>,
    /// The listener's own request-answering state: a request that needs nothing that may
    /// block (a cached small file in the page cache, server-status, an error) is answered here,
    /// with no hand-off to a worker and no wake-up ([`Blocking::Never`]).
    responder: Worker<'t>,
}

/// The listener's edge bookkeeping for one slot.
#[derive(Debug, Clone, Copy, Default)]
struct Edges {
    /// Readable, writable or closed edges reported while a worker held the connection: merged
    /// into its [`connio::Readiness`] when it comes back.
    away: Option<connio::Readiness>,
    /// What the connection waits for, if it waits.
    waiting: Option<driver::Interest>,
    /// In [`Conns::posted`].
    posted: bool,
    /// What to do next for a connection the listener answered requests on and that has more to
    /// do at once ([`Settled::Again`]): done on its posted turn, after every other ready
    /// connection has had one.
    again: Option<Action>,
}

impl<'t> Listener<'t> {
    /// A listener over `table` (sized at child start) for `listeners`, feeding `workers` worker
    /// threads.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        table: ConnTable<'t>,
        admission: Admission,
        poller: Poller,
        listeners: Vec<TcpListener>,
        shared: Arc<Shared>,
        signals: SignalPipe,
        max_connections: u32,
        workers: u32,
        responder: Worker<'t>,
        turns: Option<Arc<Turns>>,
    ) -> std::io::Result<Listener<'t>> {
        let capacity = table.capacity();
        let mut io = Vec::with_capacity(capacity);
        io.resize_with(capacity, || None);
        poller.add_listener(signals.fd(), SIGNAL_TOKEN)?;
        if let Some(t) = &turns {
            // Edge-triggered: one event per ring, and nobody reads the bell.
            sys::add_edge(&poller, t.fd(), TURN_TOKEN)?;
        }
        let tls = listeners
            .iter()
            .map(|l| {
                l.local_addr()
                    .ok()
                    .and_then(|a| shared.site.tls.for_socket(a))
            })
            .collect();
        let mut l = Listener {
            conns: Conns {
                table,
                io,
                poller,
                shared,
                scratch: vec![0u8; 32 * 1024].into_boxed_slice(),
                published: None,
                in_flight: 0,
                posted: Vec::with_capacity(capacity),
                edges: vec![Edges::default(); capacity],
                responder,
            },
            rules: listener::Listener::new(admission),
            bound: listeners
                .iter()
                .map(|l| l.local_addr().ok().filter(|a| !a.ip().is_unspecified()))
                .collect(),
            tls,
            listeners,
            willing: false,
            turns,
            my_turn: true,
            turn_stale: true,
            listening: false,
            completed: Vec::with_capacity(capacity),
            posted_spare: Vec::with_capacity(capacity),
            clock: Clock::start(),
            signals,
            stop: None,
            accepts_left: (max_connections > 0).then_some(max_connections as u64),
            workers,
            cpu: crate::cputime::Sampler::default(),
        };
        // Announces this child to the others (the bell rings as `willing` changes).
        l.set_willing(true);
        Ok(l)
    }

    /// Workers not holding a job (httpd's `ap_queue_info_num_idlers`), counted here from the
    /// jobs pushed and the completions taken back rather than from the workers waiting on the
    /// queue: the listener then never races a worker on its way to the queue, and since every
    /// completion wakes it and it takes completions before re-checking admission, a worker
    /// becoming free can never be missed (httpd PR 65769's lost wake-up).
    fn idle_workers(&self) -> u32 {
        self.workers.saturating_sub(self.conns.in_flight)
    }

    /// Admission (with an accept pause and a stop) lets this child accept, or not: its
    /// scoreboard flag follows, and when that changes the other children are rung to look at
    /// the turns again. The listening sockets are polled when it is also this child's turn.
    fn set_willing(&mut self, on: bool) {
        if on != self.willing {
            self.willing = on;
            self.conns
                .shared
                .board
                .set_accepting(on && self.stop.is_none());
            if let Some(t) = &self.turns {
                t.ring();
            }
            self.turn_stale = true;
        }
        if self.turn_stale {
            self.turn_stale = false;
            let board = &self.conns.shared.board;
            self.my_turn = self.turns.as_ref().is_none_or(|t| {
                eventmpm_core::accept_turns::my_turn(&board.scoreboard(), board.slot(), t.cpus())
            });
        }
        self.poll_listeners(self.willing && self.my_turn);
    }

    fn poll_listeners(&mut self, on: bool) {
        if on == self.listening {
            return;
        }
        for (i, l) in self.listeners.iter().enumerate() {
            let token = (self.conns.table.capacity() + i) as u64;
            let r = if on {
                self.conns.poller.add_listener(l.as_fd(), token)
            } else {
                self.conns.poller.delete(l.as_fd())
            };
            if let Err(e) = r {
                log::error!(
                    "cannot {} listening socket: {e}",
                    if on { "poll" } else { "stop polling" }
                );
            }
        }
        self.listening = on;
    }

    /// Run until the child stops; returns how it stopped.
    pub fn run(&mut self) -> StopMode {
        // Outside `self` so the loop can act on each event while iterating the buffer.
        let mut events = Events::with_capacity(EVENTS);
        loop {
            let now = self.clock.now();
            // Sleep until the next timeout, the moment a queued request has waited too long for
            // a worker, or the end of an accept pause; with none pending, until an event (no
            // periodic wake-ups).
            let deadline = self
                .rules
                .wake_at(&self.conns.table, self.conns.shared.dispatch.oldest());
            // The lines this thread logged are written within BufferedLogs' bound: now if due,
            // else by the time this wait ends.
            let log_due = self.conns.responder.before_wait();
            let timeout = if self.conns.posted.is_empty() {
                let timeout = deadline.map(|d| {
                    StdDuration::from_millis(d.as_millis().saturating_sub(now.as_millis()))
                });
                match (timeout, log_due) {
                    (Some(t), Some(l)) => Some(t.min(l)),
                    (t, l) => t.or(l),
                }
            } else {
                // Connections already known to be ready go on at once.
                Some(StdDuration::ZERO)
            };
            if let Err(e) = self.conns.poller.wait(&mut events, timeout) {
                // httpd: "apr_pollset_poll failed. Attempting to shutdown process gracefully".
                log::error!("poller wait failed: {e}; stopping this child gracefully");
                self.begin_stop(StopMode::Graceful);
            }
            let mut now = self.clock.now();
            for ev in events.iter() {
                match ev.token {
                    WAKE_TOKEN => {}
                    SIGNAL_TOKEN => self.on_signals(),
                    // Looked at when admission is applied, below.
                    TURN_TOKEN => self.turn_stale = true,
                    t if t >= self.conns.table.capacity() as u64
                        && t < (self.conns.table.capacity() + self.listeners.len()) as u64 =>
                    {
                        self.accept_burst((t - self.conns.table.capacity() as u64) as usize);
                        // Accepted connections were queued at their own (later) time; what
                        // follows in this batch must not be stamped earlier, or the timeout
                        // queues would lose their order (a slow step before the accept — a TLS
                        // handshake in a debug build — made that visible).
                        now = self.clock.now();
                    }
                    t => self.on_ready(ConnId::from_token(t), ev, now),
                }
            }
            self.take_completions(now);
            self.run_posted(now);
            // A busy listener gives up the CPU after each batch of events (sched_yield), so the
            // listeners of other children sharing the CPU take turns batch by batch instead of
            // scheduler slice by slice (milliseconds): with two children on one CPU this took
            // wrk -c50's p99 from 3-12 ms to 0.8 ms at the same throughput. One system call
            // per busy iteration, never when idle; on a CPU with nothing else to run it returns
            // at once.
            if !events.is_empty() {
                std::thread::yield_now();
            }
            let (idle, oldest) = (self.idle_workers(), self.conns.shared.dispatch.oldest());
            let Ok(it) = self.rules.end_iteration(&mut self.conns, now, idle, oldest);
            // A full table switches the (level-triggered) listening sockets off too; polling
            // them while it is full would spin.
            self.set_willing(it.listen);
            self.conns.publish();
            if self.cpu.due(now)
                && let Some(cpu) = crate::cputime::thread_ticks()
            {
                self.conns.shared.board.set_listener_cpu(cpu);
            }
            match self.stop {
                Some(StopMode::Immediate) => {
                    self.conns.responder.write_log();
                    return StopMode::Immediate;
                }
                Some(StopMode::Graceful) if self.conns.table.counts().connections == 0 => {
                    self.conns.responder.write_log();
                    return StopMode::Graceful;
                }
                _ => {}
            }
        }
    }

    fn on_signals(&mut self) {
        for sig in self.signals.take() {
            match sig {
                libc::SIGTERM | libc::SIGINT | libc::SIGHUP => self.begin_stop(StopMode::Immediate),
                libc::SIGWINCH | libc::SIGUSR1 => self.begin_stop(StopMode::Graceful),
                _ => {}
            }
        }
    }

    /// Start stopping. Graceful: close the listening sockets, finish every connection (keep-alive
    /// ones get `Connection: close` on their next request), exit when none is left. Immediate:
    /// close everything now. Immediate overrides graceful, never the reverse.
    pub fn begin_stop(&mut self, mode: StopMode) {
        if self.stop == Some(StopMode::Immediate) {
            return;
        }
        if self.stop.is_none() {
            self.set_willing(false);
            // Closing our copies releases the ports once every child has closed its own.
            self.listeners.clear();
            self.rules.stop(&mut self.conns.table);
            self.conns.shared.stopping.store(true, Ordering::Relaxed);
            self.conns.shared.board.set_stopping();
        }
        self.stop = Some(mode);
        if mode == StopMode::Immediate {
            for slot in self.conns.io.iter_mut() {
                if let Some(mut io) = slot.take() {
                    io.release();
                }
            }
            for mut job in self.conns.shared.dispatch.drain() {
                job.io.release();
            }
        }
    }

    fn accept_burst(&mut self, which: usize) {
        for n in 0..ACCEPTS_PER_EVENT {
            let idle = self.idle_workers();
            match self.rules.may_accept(&self.conns.table, idle, n == 0) {
                Accept::Take => {}
                // The socket is level-triggered: it reports again at the next wait if another
                // connection is there.
                Accept::Pause => return,
                Accept::Refuse { verdict, switched } => {
                    if switched {
                        log::debug!(
                            "{}, not accepting new conns in this process",
                            match verdict {
                                Verdict::Busy => "All workers busy".to_string(),
                                _ => format!(
                                    "Too many open connections ({})",
                                    self.conns.table.counts().connections
                                ),
                            }
                        );
                    }
                    self.set_willing(false);
                    return;
                }
            }
            let Some(listener) = self.listeners.get(which) else {
                return;
            };
            let (fd, peer) = match sys::accept(listener.as_fd()) {
                Ok(Accepted::Socket(fd, peer)) => (fd, peer),
                Ok(Accepted::WouldBlock) => return,
                Ok(Accepted::Transient) => continue,
                Err(e) => {
                    // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause accepting and retry, serving the
                    // open connections meanwhile (httpd stops the child, and its replacement
                    // meets the same limit). Anything else is a fault of the socket: stop
                    // gracefully so the parent replaces this child.
                    if accept_shortage::is_shortage(&e) {
                        if self.rules.accept_failed(self.clock.now()) {
                            accept_shortage::log_began(&e);
                        }
                        self.set_willing(false);
                    } else {
                        log::error!("accept failed: {e}; stopping this child gracefully");
                        self.begin_stop(StopMode::Graceful);
                    }
                    return;
                }
            };
            if let Some(r) = self.rules.accepted(self.clock.now()) {
                accept_shortage::log_over(r);
            }
            let sock = std::net::TcpStream::from(fd);
            let _ = crate::net::configure_accepted(&sock);
            let local = match self.bound.get(which).copied().flatten() {
                Some(addr) => addr,
                None => sock.local_addr().unwrap_or(peer),
            };
            // The request-read timeout starts now, not when this iteration began: the connection
            // may have arrived while earlier events were handled, and a stale start would close
            // its head that much early.
            let now = self.clock.now();
            let mut io = ConnIo::new(sock, peer, local);
            if let Some(server) = self.tls.get(which).and_then(Option::as_ref)
                && !io.start_tls(server)
            {
                continue;
            }
            let opened = if io.is_tls() {
                self.conns.table.open_tls(now)
            } else {
                self.conns.table.open(now)
            };
            let Some((id, action)) = opened else {
                return;
            };
            self.conns.io[id.index()] = Some(io);
            if let Some(left) = &mut self.accepts_left {
                *left -= 1;
                if *left == 0 {
                    log::info!("Stopping process due to MaxConnectionsPerChild");
                    self.begin_stop(StopMode::Graceful);
                }
            }
            self.perform(id, action, now);
        }
    }

    /// The poller reported `ev` for `id`. Oneshot polling: the connection waited for exactly
    /// this. Edge-triggered: record the edge, and go on only if it is what the connection waits
    /// for (an edge for a connection a worker holds is kept for its return).
    fn on_ready(&mut self, id: ConnId, ev: sys::Event, now: Instant) {
        if !sys::EDGE_TRIGGERED {
            return self.perform_event(id, Event::Ready, now);
        }
        if self.conns.table.conn(id).is_none() {
            return; // closed earlier in this batch
        }
        let edge = connio::Readiness {
            read: ev.readable || ev.closed || ev.error,
            write: ev.writable || ev.error,
            peer_closed: ev.closed || ev.error,
        };
        let i = id.index();
        let Some(io) = self.conns.io[i].as_mut() else {
            let away = self.conns.edges[i].away.get_or_insert(connio::Readiness {
                read: false,
                write: false,
                peer_closed: false,
            });
            away.read |= edge.read;
            away.write |= edge.write;
            away.peer_closed |= edge.peer_closed;
            return;
        };
        io.ready.read |= edge.read;
        io.ready.write |= edge.write;
        io.ready.peer_closed |= edge.peer_closed;
        if self.conns.take_ready(id) {
            self.perform_event(id, Event::Ready, now);
        }
    }

    /// Feed [`Event::Ready`] to the connections posted as ready. Those that post themselves
    /// again meanwhile (a capped write that has more to send) wait for the next iteration, so
    /// one fast client cannot hold the loop.
    fn run_posted(&mut self, now: Instant) {
        if self.conns.posted.is_empty() {
            return;
        }
        // The turn's list is swapped with the spare (both allocated at start, each the table's
        // capacity), so posting during the turn allocates nothing and waits for the next one.
        let mut posted = std::mem::take(&mut self.posted_spare);
        std::mem::swap(&mut posted, &mut self.conns.posted);
        for id in posted.drain(..) {
            let i = id.index();
            if !std::mem::take(&mut self.conns.edges[i].posted)
                || self.conns.table.conn(id).is_none()
            {
                continue;
            }
            if let Some(action) = self.conns.edges[i].again.take() {
                self.perform(id, action, now);
            } else if self.conns.take_ready(id) {
                self.perform_event(id, Event::Ready, now);
            }
        }
        self.posted_spare = posted;
    }

    fn take_completions(&mut self, now: Instant) {
        let mut done = std::mem::take(&mut self.completed);
        self.conns.shared.completions.take_all(&mut done);
        self.conns.in_flight = self.conns.in_flight.saturating_sub(done.len() as u32);
        for c in done.drain(..) {
            if self.conns.table.conn(c.id).is_none() || self.stop == Some(StopMode::Immediate) {
                let mut io = c.io;
                io.release();
                continue;
            }
            let mut io = c.io;
            // A worker's send that would have blocked: not writable until an edge says so.
            if io.output.blocked {
                io.ready.write = false;
            }
            if sys::EDGE_TRIGGERED {
                let e = &mut self.conns.edges[c.id.index()];
                if let Some(away) = e.away.take() {
                    io.ready.read |= away.read;
                    io.ready.write |= away.write;
                    io.ready.peer_closed |= away.peer_closed;
                }
            }
            self.conns.io[c.id.index()] = Some(io);
            self.perform_event(c.id, Event::Handback(c.handback), now);
        }
        self.completed = done;
    }

    /// Feed `event` for `id` to the table and carry out what follows.
    fn perform_event(&mut self, id: ConnId, event: Event, now: Instant) {
        let Ok(settled) = driver::drive_event(&mut self.conns, id, event, now);
        self.settled(id, settled, now);
    }

    /// Carry out `action` for `id` through the core's driver.
    fn perform(&mut self, id: ConnId, action: Action, now: Instant) {
        let Ok(settled) = driver::drive(&mut self.conns, id, action, now);
        self.settled(id, settled, now);
    }

    fn settled(&mut self, id: ConnId, settled: Settled, _now: Instant) {
        // Requests answered here, and more to do at once (pipelined requests past the
        // per-dispatch bound, a partial head to read on): the connection's next turn comes
        // after every other ready connection's, so one client cannot hold the listener.
        if let Settled::Again(action) = settled {
            let e = &mut self.conns.edges[id.index()];
            e.again = Some(action);
            if !e.posted {
                e.posted = true;
                self.conns.posted.push(id);
            }
        }
    }
}

impl Conns<'_> {
    /// Write the counters to this child's scoreboard record if they changed.
    fn publish(&mut self) {
        let counts = self.table.counts();
        if self.published != Some(counts) {
            self.shared.board.publish_counts(&counts);
            self.published = Some(counts);
        }
    }

    /// [`Io::wait`] with an edge-triggered poller: register the socket the first time (its
    /// only `epoll_ctl`), then only note what the connection waits for; if the socket is known
    /// to be ready for it already, post the connection rather than wait for an edge that has
    /// come and gone.
    fn wait_edge(&mut self, id: ConnId, interest: driver::Interest) -> bool {
        let i = id.index();
        let Some(io) = self.io.get_mut(i).and_then(Option::as_mut) else {
            return false;
        };
        if !io.registered {
            if let Err(e) = sys::add_edge(&self.poller, io.sock.as_fd(), id.token()) {
                log::warn!("cannot poll a connection from {}: {e}", io.peer);
                return false;
            }
            io.registered = true;
        }
        let e = &mut self.edges[i];
        e.waiting = Some(interest);
        let ready = match interest {
            driver::Interest::Readable => io.ready.read,
            driver::Interest::Writable => io.ready.write,
        };
        if ready && !e.posted {
            e.posted = true;
            self.posted.push(id);
        }
        true
    }

    /// Whether `id` waits for a readiness its socket is known to have; if so it stops waiting
    /// (the caller feeds [`Event::Ready`]).
    fn take_ready(&mut self, id: ConnId) -> bool {
        let i = id.index();
        let Some(io) = self.io[i].as_ref() else {
            return false;
        };
        let e = &mut self.edges[i];
        let ready = match e.waiting {
            Some(driver::Interest::Readable) => io.ready.read,
            Some(driver::Interest::Writable) => io.ready.write,
            None => false,
        };
        if ready {
            e.waiting = None;
        }
        ready
    }

    /// The socket and buffers of `id`. The table asks for I/O only on connections the listener
    /// holds (a dispatched one is a worker's until its hand-back), so a missing entry is answered
    /// as a connection that has gone.
    fn conn(&mut self, id: ConnId) -> Option<&mut ConnIo> {
        self.io.get_mut(id.index()).and_then(Option::as_mut)
    }
}

impl<'t> Io<'t> for Conns<'t> {
    type Error = Infallible;

    fn table(&mut self) -> &mut ConnTable<'t> {
        &mut self.table
    }

    fn before_io(&mut self) {
        // Published before the step's I/O, so nothing a client can observe (a response, a
        // close, server-status rendered by the worker this dispatches to) comes before the
        // counters that describe it.
        self.publish();
    }

    fn wait(&mut self, id: ConnId, interest: driver::Interest) -> Result<bool, Infallible> {
        if sys::EDGE_TRIGGERED {
            return Ok(self.wait_edge(id, interest));
        }
        let interest = match interest {
            driver::Interest::Readable => Interest::Read,
            driver::Interest::Writable => Interest::Write,
        };
        let Some(io) = self.io.get_mut(id.index()).and_then(Option::as_mut) else {
            return Ok(false);
        };
        // Registered once, then re-armed (oneshot) for each wait.
        let r = if io.registered {
            self.poller.rearm(io.sock.as_fd(), id.token(), interest)
        } else {
            self.poller.add(io.sock.as_fd(), id.token(), interest)
        };
        match r {
            Ok(()) => {
                io.registered = true;
                Ok(true)
            }
            Err(e) => {
                log::warn!("cannot poll a connection from {}: {e}", io.peer);
                Ok(false)
            }
        }
    }

    fn expired(&mut self, id: ConnId, event: Event, _: Action) -> Result<(), Infallible> {
        if let Some(io) = self.io.get(id.index()).and_then(Option::as_ref) {
            io.log_expiry(event);
        }
        Ok(())
    }

    fn read_head(&mut self, id: ConnId) -> Result<HeadRead, Infallible> {
        let (pool, limits) = (self.shared.pool, &self.shared.limits);
        Ok(match self.io.get_mut(id.index()).and_then(Option::as_mut) {
            Some(io) => io.read_head(pool, limits),
            None => HeadRead::Closed,
        })
    }

    fn dispatch(
        &mut self,
        id: ConnId,
        served: u32,
        now: Instant,
    ) -> Result<Option<Event>, Infallible> {
        if let Some(io) = self.io[id.index()].as_mut() {
            let handback = self.responder.serve_requests(io, served, Blocking::Never);
            // Deferred before any side effect (nothing answered, nothing consumed): a worker's.
            let deferred = handback.served == 0 && handback.outcome == Outcome::Yield;
            if !deferred {
                return Ok(Some(Event::Handback(handback)));
            }
        }
        let Some(io) = self.io[id.index()].take() else {
            return Ok(Some(Event::HeadRead(HeadRead::Closed)));
        };
        if sys::EDGE_TRIGGERED {
            self.edges[id.index()].waiting = None;
        }
        // The queue holds as many jobs as the table has connections, so a push fails only once
        // the queue is terminated (an immediate stop): close.
        match self.shared.dispatch.push(Job { id, io, served }, now) {
            Ok(()) => {
                self.in_flight += 1;
                Ok(None)
            }
            Err(job) => {
                self.io[id.index()] = Some(job.io);
                Ok(Some(Event::Handback(Handback {
                    served: 0,
                    outcome: Outcome::Close,
                })))
            }
        }
    }

    fn write(&mut self, id: ConnId) -> Result<Wrote, Infallible> {
        Ok(self.conn(id).map_or(Wrote::Failed, ConnIo::write_pending))
    }

    fn reject(&mut self, id: ConnId, status: u16) -> Result<bool, Infallible> {
        let Some(io) = self.io.get_mut(id.index()).and_then(Option::as_mut) else {
            return Ok(true);
        };
        let buffered = io.input.buffered();
        log::debug!(
            "rejecting a request from {} with {status} ({:?})",
            io.peer,
            String::from_utf8_lossy(&buffered[..buffered.len().min(80)])
        );
        io.write_now(&io.rejection(status, &self.shared.site));
        // Lingering close only discards input: the buffers (a large head's too) go back now.
        io.release();
        io.shutdown_write();
        Ok(io.drain(&mut self.scratch))
    }

    fn linger(&mut self, id: ConnId) -> Result<bool, Infallible> {
        let Some(io) = self.io.get_mut(id.index()).and_then(Option::as_mut) else {
            return Ok(true);
        };
        io.input.release();
        io.output.release();
        Ok(!io.shutdown_write() || io.drain(&mut self.scratch))
    }

    fn drain(&mut self, id: ConnId) -> Result<bool, Infallible> {
        let Some(io) = self.io.get_mut(id.index()).and_then(Option::as_mut) else {
            return Ok(true);
        };
        Ok(io.drain(&mut self.scratch))
    }

    fn close(&mut self, id: ConnId) -> Result<(), Infallible> {
        // A posted entry left behind is skipped (its flag is down); the slot's next connection
        // starts with nothing recorded.
        self.edges[id.index()] = Edges::default();
        if let Some(mut io) = self.io[id.index()].take() {
            // Closing the socket ends its epoll registration with it (no other descriptor
            // shares it: sockets are close-on-exec, and a CGI child's copy between fork and exec
            // is gone at exec); an edge reported for it before the close is told stale by its
            // token's generation. Oneshot registrations are deleted, as kqueue and event ports
            // want.
            if io.registered && !sys::EDGE_TRIGGERED {
                let _ = self.poller.delete(io.sock.as_fd());
            }
            io.close_notify();
            io.release();
        }
        Ok(())
    }
}
