//! The listener thread: accepts connections, owns every connection that is waiting (for a request
//! head, for the socket to drain, for the next request, for lingering close to end), and hands
//! complete requests to workers.
//!
//! One iteration: wait on the poller until the next timeout deadline (forever when there is none,
//! so an idle child makes no wake-ups); act on each ready socket; take back connections workers
//! finished with; expire what timed out; switch the listening sockets on or off by the admission
//! formula; publish the counters. Every step is bounded: a wait returns at most the event
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
use eventmpm_core::time::Instant;

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
/// The token of the signal pipe.
const SIGNAL_TOKEN: u64 = u64::MAX - 1;

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
    accepts_left: Option<u64>,
}

impl<'t> Listener<'t> {
    /// A listener over `table` (sized at child start) for `listeners`.
    pub fn new(
        table: ConnTable<'t>,
        admission: Admission,
        poller: Poller,
        listeners: Vec<TcpListener>,
        shared: Arc<Shared>,
        signals: SignalPipe,
        max_connections: u32,
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
            accepts_left: (max_connections > 0).then_some(max_connections as u64),
        };
        l.set_listening(true);
        Ok(l)
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
        self.shared.listeners_disabled.store(!on, Ordering::Relaxed);
        self.shared.board.set_accepting(on && self.stop.is_none());
    }

    /// Run until the child stops; returns how it stopped.
    pub fn run(&mut self) -> StopMode {
        // Outside `self` so the loop can act on each event while iterating the buffer.
        let mut events = Events::with_capacity(EVENTS);
        loop {
            let now = self.clock.now();
            let timeout = self
                .table
                .next_deadline()
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
                        self.accept_burst((t - self.table.capacity() as u64) as usize, now)
                    }
                    t => {
                        let id = ConnId::from_token(t);
                        let action = self.table.event(id, Event::Ready, now);
                        self.perform(id, action, now);
                    }
                }
            }
            self.take_completions(now);
            while let Some((id, action)) = self.table.expire(now) {
                self.perform(id, action, now);
            }
            let load = self.table.counts().load(self.shared.dispatch.idle());
            self.admission.after_iteration(load, self.stop.is_some());
            // A full table disables the (level-triggered) listening sockets too; re-enabling
            // them while it is full would spin.
            let listen =
                self.stop.is_none() && !self.admission.is_disabled() && !self.table.is_full();
            self.set_listening(listen);
            self.shared.board.publish_counts(&self.table.counts());
            match self.stop {
                Some(StopMode::Immediate) => return StopMode::Immediate,
                Some(StopMode::Graceful) if self.table.counts().connections == 0 => {
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

    fn accept_burst(&mut self, which: usize, now: Instant) {
        for _ in 0..ACCEPTS_PER_EVENT {
            if self.stop.is_some() || self.table.is_full() {
                self.set_listening(false);
                return;
            }
            let load = self.table.counts().load(self.shared.dispatch.idle());
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
                    // Published before the worker can render server-status, so the page counts
                    // the connection it is answering.
                    self.shared.board.publish_counts(&self.table.counts());
                    // httpd's workers_were_busy: no worker can take this request at once. Only
                    // when every worker holds a connection: a worker between two jobs (not
                    // waiting yet, or still starting in a new child) is not busy, and killing
                    // keep-alive connections then loses requests already on their way.
                    if self.shared.dispatch.idle() == 0
                        && self.table.counts().in_worker > self.admission.threads_per_child()
                    {
                        self.table.kill_keep_alive();
                    }
                    // The queue holds as many jobs as the table has connections, so a push fails
                    // only once the queue is terminated (an immediate stop): close.
                    match self.shared.dispatch.push(Job { id, io, served }) {
                        Ok(()) => return,
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
