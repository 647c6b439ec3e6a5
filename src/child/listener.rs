//! The listener thread: accepts connections, owns every connection that is waiting (for a request
//! head, for the socket to drain, for the next request, for lingering close to end), and hands
//! complete requests to workers.
//!
//! One iteration: wait on the poller until the next timeout deadline (forever when there is none,
//! so an idle child makes no wake-ups); act on each ready socket; take back connections workers
//! finished with; expire what timed out; switch the listening sockets on or off by the admission
//! formula; publish the counters and, every [`crate::cputime::SAMPLE_EVERY`] at most, its own
//! CPU time. Every step is bounded: a wait returns at most the event
//! buffer's capacity, an accept burst at most [`ACCEPTS_PER_EVENT`], each connection action at
//! most [`STEPS_PER_ACTION`] state-machine steps with bounded I/O each.

use std::net::TcpListener;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration as StdDuration;

use eventmpm_core::admission::{Admission, Switch, Verdict};
use eventmpm_core::conn::{Action, Event, Handback, HeadRead, Outcome};
use eventmpm_core::table::{ConnId, ConnTable};
use eventmpm_core::time::{Duration, Instant};

use super::connio::ConnIo;
use super::{Clock, Completion, Job, Shared, StopMode};
use crate::signals::SignalPipe;
use crate::sys::{self, Accepted, Events, Interest, Poller, WAKE_TOKEN};

/// Connections accepted per readiness event of one listening socket before the loop moves on
/// (the socket is level-triggered and reports again if more are waiting).
pub const ACCEPTS_PER_EVENT: usize = 64;
/// State-machine steps per action chain (read head → dispatch, reject → drain → close, …).
const STEPS_PER_ACTION: usize = 8;
/// Poller events per wait.
const EVENTS: usize = 512;
/// The token of the signal pipe: the first one above every connection token, and like them
/// within a pointer's range (kqueue and event ports carry tokens in pointer-sized fields).
const SIGNAL_TOKEN: u64 = eventmpm_core::table::TOKEN_LIMIT;
/// How long a complete request may wait for a worker before the listener closes its idle
/// keep-alive connections (httpd's `workers_were_busy`: httpd closes them as soon as a request
/// finds no idle worker). Our workers never wait for a client, so a request queued for a moment
/// behind busy workers (a burst, a benchmark with more connections than workers) is served
/// within milliseconds, and closing keep-alive connections then would only break clients; a
/// request that waits this long means the workers are stuck, and idle clients are better off
/// reconnecting to another child.
const WORKERS_STALLED: Duration = Duration::from_secs(1);

/// What the listener needs to run.
#[allow(missing_debug_implementations)]
pub struct Listener<'t> {
    table: ConnTable<'t>,
    io: Vec<Option<ConnIo>>,
    admission: Admission,
    poller: Poller,
    listeners: Vec<TcpListener>,
    listening: bool,
    shared: Arc<Shared>,
    completed: Vec<Completion>,
    scratch: Box<[u8]>,
    clock: Clock,
    signals: SignalPipe,
    stop: Option<StopMode>,
    /// The counters as last written to the scoreboard.
    published: Option<eventmpm_core::table::Counts>,
    accepts_left: Option<u64>,
    /// Worker threads running.
    workers: u32,
    /// Jobs pushed to the workers and not yet handed back.
    in_flight: u32,
    /// When this thread last recorded its CPU time.
    cpu: crate::cputime::Sampler,
}

impl<'t> Listener<'t> {
    /// A listener over `table` (sized at child start) for `listeners`, feeding `workers` worker
    /// threads.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        table: ConnTable<'t>,
        admission: Admission,
        poller: Poller,
        listeners: Vec<TcpListener>,
        shared: Arc<Shared>,
        signals: SignalPipe,
        max_connections: u32,
        workers: u32,
    ) -> std::io::Result<Listener<'t>> {
        let capacity = table.capacity();
        let mut io = Vec::with_capacity(capacity);
        io.resize_with(capacity, || None);
        poller.add_listener(signals.fd(), SIGNAL_TOKEN)?;
        let mut l = Listener {
            table,
            io,
            admission,
            poller,
            listeners,
            listening: false,
            shared,
            completed: Vec::with_capacity(capacity),
            scratch: vec![0u8; 32 * 1024].into_boxed_slice(),
            clock: Clock::start(),
            signals,
            stop: None,
            published: None,
            accepts_left: (max_connections > 0).then_some(max_connections as u64),
            workers,
            in_flight: 0,
            cpu: crate::cputime::Sampler::default(),
        };
        l.set_listening(true);
        Ok(l)
    }

    /// Workers not holding a job (httpd's `ap_queue_info_num_idlers`), counted here from the
    /// jobs pushed and the completions taken back rather than from the workers waiting on the
    /// queue: the listener then never races a worker on its way to the queue, and since every
    /// completion wakes it and it takes completions before re-checking admission, a worker
    /// becoming free can never be missed (httpd PR 65769's lost wake-up).
    fn idle_workers(&self) -> u32 {
        self.workers.saturating_sub(self.in_flight)
    }

    fn set_listening(&mut self, on: bool) {
        if on == self.listening {
            return;
        }
        for (i, l) in self.listeners.iter().enumerate() {
            let token = (self.table.capacity() + i) as u64;
            let r = if on {
                self.poller.add_listener(l.as_fd(), token)
            } else {
                self.poller.delete(l.as_fd())
            };
            if let Err(e) = r {
                log::error!(
                    "cannot {} listening socket: {e}",
                    if on { "poll" } else { "stop polling" }
                );
            }
        }
        self.listening = on;
        self.shared.board.set_accepting(on && self.stop.is_none());
    }

    /// Run until the child stops; returns how it stopped.
    pub fn run(&mut self) -> StopMode {
        // Outside `self` so the loop can act on each event while iterating the buffer.
        let mut events = Events::with_capacity(EVENTS);
        loop {
            let now = self.clock.now();
            // Sleep until the next timeout or the moment a queued request has waited too long
            // for a worker; with neither pending, until an event (no periodic wake-ups).
            let deadline = match (self.table.next_deadline(), self.stall_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let timeout = deadline
                .map(|d| StdDuration::from_millis(d.as_millis().saturating_sub(now.as_millis())));
            if let Err(e) = self.poller.wait(&mut events, timeout) {
                // httpd: "apr_pollset_poll failed. Attempting to shutdown process gracefully".
                log::error!("poller wait failed: {e}; stopping this child gracefully");
                self.begin_stop(StopMode::Graceful);
            }
            let now = self.clock.now();
            for ev in events.iter() {
                match ev.token {
                    WAKE_TOKEN => {}
                    SIGNAL_TOKEN => self.on_signals(),
                    t if t >= self.table.capacity() as u64
                        && t < (self.table.capacity() + self.listeners.len()) as u64 =>
                    {
                        self.accept_burst((t - self.table.capacity() as u64) as usize)
                    }
                    t => {
                        let id = ConnId::from_token(t);
                        let action = self.table.event(id, Event::Ready, now);
                        self.perform(id, action, now);
                    }
                }
            }
            self.take_completions(now);
            if self.stall_deadline().is_some_and(|d| d <= now) {
                log::debug!(
                    "a request has waited {WORKERS_STALLED} for a worker: closing {} idle keep-alive connections",
                    self.table.counts().keep_alive
                );
                self.table.kill_keep_alive();
            }
            while let Some((id, action)) = self.table.expire(now) {
                self.perform(id, action, now);
            }
            let load = self.table.counts().load(self.idle_workers());
            self.admission.after_iteration(load, self.stop.is_some());
            // A full table disables the (level-triggered) listening sockets too; re-enabling
            // them while it is full would spin.
            let listen =
                self.stop.is_none() && !self.admission.is_disabled() && !self.table.is_full();
            self.set_listening(listen);
            self.publish();
            if self.cpu.due(now)
                && let Some(cpu) = crate::cputime::thread_ticks()
            {
                self.shared.board.set_listener_cpu(cpu);
            }
            match self.stop {
                Some(StopMode::Immediate) => return StopMode::Immediate,
                Some(StopMode::Graceful) if self.table.counts().connections == 0 => {
                    return StopMode::Graceful;
                }
                _ => {}
            }
        }
    }

    /// When idle keep-alive connections are to be closed because a request has waited too long
    /// for a worker; `None` while no request waits or no connection is idle.
    fn stall_deadline(&self) -> Option<Instant> {
        if self.table.counts().keep_alive == 0 {
            return None;
        }
        Some(self.shared.dispatch.oldest()? + WORKERS_STALLED)
    }

    /// Write the counters to this child's scoreboard record if they changed.
    fn publish(&mut self) {
        let counts = self.table.counts();
        if self.published != Some(counts) {
            self.shared.board.publish_counts(&counts);
            self.published = Some(counts);
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
            self.set_listening(false);
            // Closing our copies releases the ports once every child has closed its own.
            self.listeners.clear();
            self.table.stop();
            self.shared.stopping.store(true, Ordering::Relaxed);
            self.shared.board.set_stopping();
        }
        self.stop = Some(mode);
        if mode == StopMode::Immediate {
            for slot in self.io.iter_mut() {
                if let Some(mut io) = slot.take() {
                    io.release();
                }
            }
            for mut job in self.shared.dispatch.drain() {
                job.io.release();
            }
        }
    }

    fn accept_burst(&mut self, which: usize) {
        for n in 0..ACCEPTS_PER_EVENT {
            if self.stop.is_some() || self.table.is_full() {
                self.set_listening(false);
                return;
            }
            let load = self.table.counts().load(self.idle_workers());
            if n > 0 && self.admission.verdict(load) != Verdict::Accept {
                // Whether another connection is waiting is unknown (the request just accepted
                // may have taken a worker a moment ago). Switching the socket off now would
                // keep it off below the bound, by the re-enabling hysteresis; as httpd, decide
                // only when the socket reports a waiting connection: it is level-triggered
                // and does so at the next wait if one is there.
                return;
            }
            let (verdict, switch) = self.admission.before_accept(load);
            if switch == Switch::Disable {
                log::debug!(
                    "{}, not accepting new conns in this process",
                    match verdict {
                        Verdict::Busy => "All workers busy".to_string(),
                        _ => format!("Too many open connections ({})", load.connections),
                    }
                );
                self.set_listening(false);
            }
            if verdict != Verdict::Accept {
                return;
            }
            let Some(listener) = self.listeners.get(which) else {
                return;
            };
            let (fd, peer) = match sys::accept(listener.as_fd()) {
                Ok(Accepted::Socket(fd, peer)) => (fd, peer),
                Ok(Accepted::WouldBlock) => return,
                Ok(Accepted::Transient) => continue,
                Err(e) => {
                    // EMFILE, ENFILE, ENOMEM…: httpd's resource shortage, which stops the child
                    // gracefully so the parent replaces it.
                    log::error!("accept failed: {e}; stopping this child gracefully");
                    self.begin_stop(StopMode::Graceful);
                    return;
                }
            };
            let sock = std::net::TcpStream::from(fd);
            let _ = crate::net::configure_accepted(&sock);
            let local = sock.local_addr().unwrap_or(peer);
            // The request-read timeout starts now, not when this iteration began: the connection
            // may have arrived while earlier events were handled, and a stale start would close
            // its head that much early.
            let now = self.clock.now();
            let Some((id, action)) = self.table.open(now) else {
                return;
            };
            self.io[id.index()] = Some(ConnIo::new(sock, peer, local));
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

    fn take_completions(&mut self, now: Instant) {
        let mut done = std::mem::take(&mut self.completed);
        self.shared.completions.take_all(&mut done);
        self.in_flight = self.in_flight.saturating_sub(done.len() as u32);
        for c in done.drain(..) {
            if self.table.conn(c.id).is_none() || self.stop == Some(StopMode::Immediate) {
                let mut io = c.io;
                io.release();
                continue;
            }
            self.io[c.id.index()] = Some(c.io);
            let action = self.table.event(c.id, Event::Handback(c.handback), now);
            self.perform(c.id, action, now);
        }
        self.completed = done;
    }

    /// Carry out `action` for `id`, feeding results back into the table until the connection
    /// waits, goes to a worker or closes.
    fn perform(&mut self, id: ConnId, mut action: Action, now: Instant) {
        for _ in 0..STEPS_PER_ACTION {
            // The table's counts change with each step; they are published before the step's
            // I/O, so nothing a client can observe (a response, a close, server-status rendered
            // by the worker this dispatches to) comes before the counters that describe it.
            self.publish();
            let Some(io) = self.io.get_mut(id.index()).and_then(Option::as_mut) else {
                return;
            };
            let event = match action {
                Action::Nothing => return,
                Action::ReadHead => {
                    Event::HeadRead(io.read_head(self.shared.pool, &self.shared.limits))
                }
                Action::WaitReadable | Action::WaitWritable => {
                    let interest = if action == Action::WaitReadable {
                        Interest::Read
                    } else {
                        Interest::Write
                    };
                    let r = if io.registered {
                        self.poller.rearm(io.sock.as_fd(), id.token(), interest)
                    } else {
                        self.poller.add(io.sock.as_fd(), id.token(), interest)
                    };
                    match r {
                        Ok(()) => {
                            io.registered = true;
                            return;
                        }
                        Err(e) => {
                            log::warn!("cannot poll a connection from {}: {e}", io.peer);
                            Event::HeadRead(HeadRead::Closed)
                        }
                    }
                }
                Action::Dispatch { served } => {
                    let io = self.io[id.index()].take().expect("checked above");
                    // The queue holds as many jobs as the table has connections, so a push fails
                    // only once the queue is terminated (an immediate stop): close.
                    match self.shared.dispatch.push(Job { id, io, served }, now) {
                        Ok(()) => {
                            self.in_flight += 1;
                            return;
                        }
                        Err(job) => {
                            self.io[id.index()] = Some(job.io);
                            Event::Handback(Handback {
                                served: 0,
                                outcome: Outcome::Close,
                            })
                        }
                    }
                }
                Action::Write => Event::Wrote(io.write_pending()),
                Action::Reject { status } => {
                    log::debug!(
                        "rejecting a request from {} with {status} ({:?})",
                        io.peer,
                        String::from_utf8_lossy(
                            &io.input.buffered()[..io.input.buffered().len().min(80)]
                        )
                    );
                    let page = super::error_response(status);
                    io.write_now(&page);
                    io.shutdown_write();
                    Event::Drained {
                        eof: io.drain(&mut self.scratch),
                    }
                }
                Action::Linger => {
                    io.input.release();
                    io.output.release();
                    let eof = !io.shutdown_write() || io.drain(&mut self.scratch);
                    Event::Drained { eof }
                }
                Action::Drain => Event::Drained {
                    eof: io.drain(&mut self.scratch),
                },
                Action::Close => {
                    if let Some(mut io) = self.io[id.index()].take() {
                        if io.registered {
                            let _ = self.poller.delete(io.sock.as_fd());
                        }
                        io.release();
                    }
                    return;
                }
            };
            action = self.table.event(id, event, now);
        }
        log::warn!("connection {id:?} did not settle after {STEPS_PER_ACTION} steps");
    }
}
