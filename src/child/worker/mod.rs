//! A worker thread: takes a connection with a complete request head, answers it, and hands the
//! connection back — never waiting on the client.
//!
//! Per request: parse the head, route it, build the response (static file, server-status, a
//! CGI script's, or an error page), write what the socket takes at once, and log. If the
//! socket cannot take the whole response, the rest (memory and file range) goes back to the
//! listener for write completion. If it can and the connection stays open, the worker looks
//! for a next request already sent (pipelining) before handing the connection back, saving a
//! trip through the listener. At most [`MAX_REQUESTS_PER_DISPATCH`] requests are served per
//! dispatch.
//!
//! The parts, by what each is: [`plan`] parses a head and decides the reply, [`static_file`],
//! [`status`] and [`cgi`] are the handlers it routes to, [`emit`] writes the head and body
//! into the connection's output and sends them, [`access_log`] renders and buffers log lines,
//! and [`respond`] strings them together for one request. None of them assumes a worker thread
//! with a scoreboard record (`record` may be `None`); the scoreboard is updated in this file
//! only: [`Worker::record_request`] and [`Worker::request_done`] per request, the worker's
//! status as it works and idles.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant as StdInstant};

use eventmpm_core::conn::{Handback, MAX_REQUESTS_PER_DISPATCH, Outcome};
use eventmpm_core::http1::Request;
use eventmpm_core::scoreboard::{CpuTimes, WorkerScore, WorkerStatus};

mod access_log;
mod cgi;
mod emit;
mod error_document;
mod listing;
mod page_gzip;
mod plan;
mod respond;
mod self_url;
mod signature;
mod static_file;
mod status;

pub use access_log::LogBuffers;
pub use plan::Blocking;
pub use respond::Responded;

use super::connio::{ConnIo, NextRequest, Sent};
use super::{Completion, Job, Serving, Shared};
use crate::board::monotonic_now;
use crate::site::Site;
use access_log::ThreadLog;
use emit::DateCache;
use plan::Fields;
use respond::RequestTime;

/// A thread's request-answering state: its scoreboard record (if it has one), its caches and
/// buffered log lines. The event MPM's workers ([`run`]) and the worker MPM's
/// ([`super::worker_mpm`]) answer requests through it alike.
pub(super) struct Worker<'s> {
    shared: &'s Serving,
    site: &'s Site,
    record: Option<&'static WorkerScore>,
    date: DateCache,
    fields: Fields,
    log: ThreadLog<'s>,
    /// Scratch for a request's decoded path (LimitRequestLine + 1 bytes).
    path: Vec<u8>,
    /// Whether the latest response keeps the connection open.
    last_keep_alive: bool,
    /// The latest response closes the connection because its client asked to, nothing of
    /// the client's is left unread and its socket was drained: closing at once, without
    /// lingering, can lose nothing.
    clean_close: bool,
    /// When this thread last recorded its CPU time.
    cpu: crate::cputime::Sampler,
    /// A small file's bytes read while planning where blocking is not allowed (the listener;
    /// at most [`emit::SMALL_FILE`] bytes; empty and unallocated in a worker).
    prefetch: Vec<u8>,
    /// This is the listener thread answering cheap requests: it has no worker record, and
    /// counts its requests in the child's process record.
    listener: bool,
    /// The request's variables and user ([`crate::modules`]).
    modules: crate::modules::RequestState,
    /// The host answering the current request (an index into the site's hosts), chosen when
    /// its head is parsed ([`crate::vhosts`]).
    host: usize,
    /// The current request's host name, lowercase, and its `Host` port, for ServerSignature
    /// (set only where a signature is on; the buffer is reused).
    sig_name: Vec<u8>,
    /// See `sig_name`.
    sig_port: Option<u16>,
    /// httpd's `error-notes` for the next error page (taken by it).
    error_notes: &'static str,
}

/// The worker thread's body: serve jobs until the dispatch queue is terminated.
pub fn run(n: u32, shared: &Shared) {
    let mut w = Worker::new(n, shared);
    loop {
        let job = shared.dispatch.pop(|| w.on_idle());
        let Some(job) = job else { break };
        w.serve(job, shared);
    }
    w.exit();
}

impl<'s> Worker<'s> {
    /// The host answering the current request.
    fn host(&self) -> &'s crate::site::Host {
        let site: &'s Site = self.site;
        &site.hosts[self.host]
    }

    /// Worker `n` of this child: claims scoreboard slot `n` (status 'S') and log slot `n`.
    pub(super) fn new(n: u32, shared: &'s Serving) -> Worker<'s> {
        let record = shared.board.worker(n as usize);
        if let Some(r) = record {
            let tid = crate::sys::thread_id() as u32;
            r.start(std::process::id() as i32, tid, shared.board.generation());
        }
        Worker {
            shared,
            site: &shared.site,
            record,
            date: DateCache::new(),
            fields: Fields::new(),
            log: shared
                .log_buffers
                .thread(n as usize, &shared.site.access_logs),
            path: vec![0u8; shared.limits.request_line as usize + 1],
            last_keep_alive: false,
            clean_close: false,
            cpu: crate::cputime::Sampler::default(),
            prefetch: Vec::new(),
            listener: false,
            modules: Default::default(),
            host: 0,
            sig_name: Vec::new(),
            sig_port: None,
            error_notes: "",
        }
    }

    /// The listener thread's answering state: no scoreboard worker record (its requests count
    /// in the child's process record), the listener's log slot (its lines written by the
    /// log-writer thread), a prefetch buffer for small files.
    pub(super) fn for_listener(shared: &'s Serving) -> Worker<'s> {
        Worker {
            shared,
            site: &shared.site,
            record: None,
            date: DateCache::new(),
            fields: Fields::new(),
            log: shared.log_buffers.listener(&shared.site.access_logs),
            path: vec![0u8; shared.limits.request_line as usize + 1],
            last_keep_alive: false,
            clean_close: false,
            cpu: crate::cputime::Sampler::default(),
            prefetch: Vec::with_capacity(emit::SMALL_FILE as usize),
            modules: Default::default(),
            listener: true,
            host: 0,
            sig_name: Vec::new(),
            sig_port: None,
            error_notes: "",
        }
    }

    /// Write this thread's buffered log lines now (the listener, as it stops).
    pub(super) fn write_log(&mut self) {
        self.log.write();
    }

    /// The thread ends: write buffered log lines, mark the slot dead ('.').
    pub(super) fn exit(mut self) {
        self.log.write();
        if let Some(r) = self.record {
            r.set_status(WorkerStatus::Dead, monotonic_now());
        }
    }
}

// The scoreboard: the worker's status, and each request's start and end.
impl Worker<'_> {
    pub(super) fn set_status(&self, s: WorkerStatus) {
        if let Some(r) = self.record {
            r.set_status(s, monotonic_now());
        }
    }

    /// Record this thread's CPU time in its scoreboard record, if [`crate::cputime::SAMPLE_EVERY`]
    /// has passed since it last did (httpd calls `times()` at the end of every request).
    fn record_cpu(&mut self, now: eventmpm_core::time::Instant) {
        let Some(r) = self.record else { return };
        if !self.cpu.due(now) {
            return;
        }
        if let Some((user, system)) = crate::cputime::thread_ticks() {
            r.set_cpu_times(CpuTimes {
                user,
                system,
                ..CpuTimes::default()
            });
        }
    }

    /// A request that began at `time` is being answered (its plan is made): its start and,
    /// with ExtendedStatus, what it is (`req`, or only `head` if it did not parse) and who
    /// sent it.
    fn record_request(
        &self,
        time: &RequestTime,
        req: Option<&Request<'_>>,
        head: &[u8],
        peer: SocketAddr,
    ) {
        let Some(r) = self.record else { return };
        r.begin_request(time.monotonic);
        let Some(req) = req else { return };
        if !self.site.extended_status {
            return;
        }
        r.set_request_line(plan::request_line(head));
        let mut ip = [0u8; 48];
        let mut cur = std::io::Cursor::new(&mut ip[..]);
        let _ = write!(cur, "{}", peer.ip());
        let n = cur.position() as usize;
        r.set_client(&ip[..n]);
        r.set_vhost(self.host().server_name.as_bytes());
        r.set_protocol(req.version().as_str().as_bytes());
    }

    /// A request that began at `started` has ended at `ended` (`bytes` sent): count it, and
    /// record the thread's CPU time.
    pub(super) fn request_done(&mut self, bytes: u64, started: StdInstant, ended: StdInstant) {
        // What the thread logs from here on is not about this request's host.
        crate::errorlog::set_current_host(0);
        if self.listener {
            let ms = ended.saturating_duration_since(started).as_millis() as u64;
            self.shared.board.count_listener_request(bytes, ms);
            return;
        }
        let now = crate::board::monotonic_at(ended);
        if let Some(r) = self.record {
            r.count_request(bytes, now);
        }
        self.record_cpu(now);
    }
}

impl Worker<'_> {
    /// About to wait for work: publish idleness, and write buffered log lines if they are due.
    /// Returns how long the thread may wait before it must call this again (so lines younger
    /// than BufferedLogs' bound are written in time); `None`: indefinitely. (The listener
    /// learns a worker is free from the completion it just pushed, which also wakes it to
    /// re-check admission: httpd PR 65769.)
    pub(super) fn on_idle(&mut self) -> Option<Duration> {
        self.record_cpu(monotonic_now());
        let stopping = self.shared.stopping.load(Ordering::Relaxed);
        self.set_status(if stopping {
            WorkerStatus::Graceful
        } else {
            WorkerStatus::Ready
        });
        // The listener may have started stopping (and marked the idle workers 'G') between the
        // load above and the '_' just published: look again (pairs with Board::set_stopping).
        if !stopping {
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.shared.stopping.load(Ordering::Relaxed) {
                self.set_status(WorkerStatus::Graceful);
            }
        }
        self.before_wait()
    }

    /// About to wait (for work, or on a client): write buffered log lines if they are due, and
    /// say how long the wait may last before this must be called again (`None`: no bound).
    pub(super) fn before_wait(&mut self) -> Option<Duration> {
        let stopping = self.shared.stopping.load(Ordering::Relaxed);
        self.log.before_wait(StdInstant::now(), stopping)
    }

    fn serve(&mut self, job: Job, shared: &Shared) {
        let Job { id, mut io, served } = job;
        let handback = self.serve_requests(&mut io, served, Blocking::Allowed);
        shared.completions.push(Completion { id, io, handback });
        if let Err(e) = shared.waker.wake() {
            listener_unreachable(&e);
        }
    }

    /// Answer the request whose head is buffered in `io` and, while the connection stays open
    /// and the next request is already there, the ones after it (at most
    /// [`MAX_REQUESTS_PER_DISPATCH`]). `served` responses were sent on the connection before.
    /// Never waits on the client: says what state the connection is left in. A request that
    /// `blocking` does not allow to be answered here is handed back as it came
    /// ([`Outcome::Yield`]).
    pub(super) fn serve_requests(
        &mut self,
        io: &mut ConnIo,
        served: u32,
        blocking: Blocking,
    ) -> Handback {
        self.set_status(WorkerStatus::Write);
        let mut done = 0u32;
        let outcome = loop {
            match self.respond(io, served + done, blocking) {
                Responded::Deferred => break Outcome::Yield,
                // Complete, held back for the next request's response: go on to it.
                Responded::Held => {}
                Responded::Sent(Sent::All) if io.output.is_empty() => {}
                Responded::Sent(Sent::All | Sent::Partial { .. }) => {
                    break Outcome::WriteCompletion {
                        keep_alive: self.last_keep_alive,
                    };
                }
                Responded::Sent(Sent::Failed) => break Outcome::Close,
            }
            done += 1;
            if !self.last_keep_alive {
                // httpd lingers before every close, in case the client sent more than was
                // read (a reset would destroy the response it has not read yet); when it asked
                // for the close itself and sent nothing more, nginx closes at once, and so do we.
                break if self.clean_close {
                    Outcome::Close
                } else {
                    Outcome::Linger
                };
            }
            match io.next_request(self.shared.pool, &self.shared.limits) {
                NextRequest::Complete if done < MAX_REQUESTS_PER_DISPATCH => continue,
                NextRequest::Complete => break Outcome::Yield,
                NextRequest::Partial(bytes) => break Outcome::PartialHead { bytes },
                NextRequest::Idle => break Outcome::KeepAlive,
                NextRequest::Closed => break Outcome::Close,
            }
        };
        // Responses held back for a pipelined request that was then not answered here (deferred
        // to a worker, or past the per-dispatch bound) go out now.
        let outcome = match outcome {
            Outcome::Yield | Outcome::KeepAlive | Outcome::PartialHead { .. }
                if !io.output.is_empty() =>
            {
                match emit::send(
                    &mut io.output,
                    &io.sock,
                    crate::child::connio::session(&mut io.tls),
                ) {
                    Sent::All => outcome,
                    // The last response held is the one write completion finishes (and
                    // counts).
                    Sent::Partial { .. } => {
                        done -= 1;
                        Outcome::WriteCompletion { keep_alive: true }
                    }
                    Sent::Failed => Outcome::Close,
                }
            }
            outcome => outcome,
        };
        self.log.end_of_batch();
        if matches!(
            outcome,
            Outcome::KeepAlive | Outcome::Linger | Outcome::Close
        ) {
            io.input.release_if_empty();
        }
        Handback {
            served: done,
            outcome,
        }
    }
}

/// The listener's waker failed. A full eventfd counter or pipe is no failure (the OS layers
/// report success: the descriptor is readable, the listener due to wake); what is left is a
/// waker that cannot ring at all (or an event port at its event limit, see the OS layer). The listener may then sleep through the completion just pushed (a
/// connection hanging, a worker it counts as busy) and through every later one, so the child
/// cannot go on: it stops gracefully, its listener woken through the signal pipe instead, as if
/// the parent had sent SIGWINCH. Each completion pushed while it stops takes this way again, so
/// each still reaches the listener; the parent replaces the child.
fn listener_unreachable(e: &std::io::Error) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REPORTED.swap(true, Ordering::Relaxed) {
        log::error!("cannot wake the listener: {e}; stopping this child gracefully");
    }
    if !crate::signals::deliver(libc::SIGWINCH) {
        log::error!("cannot wake the listener through its signal pipe either");
    }
}
