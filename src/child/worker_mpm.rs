//! The worker MPM (httpd's `mpm_worker`, chosen with `LoadModule mpm_worker_module …`): a
//! listener thread that only accepts, and ThreadsPerChild workers that each own a connection for
//! its whole life.
//!
//! * **Listener**: reserves an idle worker *before* it accepts ([`WorkerQueue::wait_for_idler`]);
//!   then, with several listening sockets and several children, takes the accept mutex
//!   ([`crate::accept_mutex`]); polls the listening sockets (round-robin among the ready ones, so
//!   none starves), accepts one connection, releases the mutex and hands the connection to the
//!   reserved worker. A child without an idle worker takes no connection: the kernel's backlog
//!   keeps it for a child that has one (or for this one, once a worker is free).
//! * **Worker**: drives the connection through the same state machine as the event MPM's
//!   listener ([`ConnTable`] with a single slot), but waits itself, blocking in `poll(2)` on the
//!   socket: for the request head ('R', RequestReadTimeout's header stages, else `Timeout`), for
//!   the socket to take the rest of a response ('W', `Timeout` between writes), for the next
//!   request ('K', KeepAliveTimeout), and in lingering close ('C': shut down our side, then read
//!   and discard with 2 s per read and 30 s in all, httpd's `ap_lingering_close`). Requests are
//!   answered by the same code as in event mode ([`Worker::serve_requests`]).
//! * **Main thread**: waits for signals, starts the stop.
//!
//! The consequence, and the reason the event MPM exists: a connection idle between requests
//! holds a worker. With every worker in 'K', a further client waits in the listen backlog until
//! a keep-alive connection ends (the client closes it, KeepAliveTimeout expires, or
//! MaxKeepAliveRequests is reached) — in event mode it is served at once.
//!
//! MaxConnectionsPerChild is counted by the workers, after each connection, as httpd's worker
//! does. An accept that fails for lack of descriptors or memory pauses accepting for a moment
//! ([`AcceptShortage`]) rather than stopping the child as httpd does. A graceful stop
//! (SIGWINCH/SIGUSR1, MaxConnectionsPerChild, another accept error) closes the
//! listening sockets, lets idle workers exit, and lets busy ones finish their connection: a
//! worker waiting for the next request on a keep-alive connection answers it with
//! `Connection: close` (or ends at KeepAliveTimeout), lingering close is cut to 2 s. An immediate
//! stop (SIGTERM) ends the process at once.

use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::thread::JoinHandleExt;
// 32-bit atomics only: MIPS32 and 32-bit PowerPC have no 64-bit ones.
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use eventmpm_core::conn::{Action, Event, HeadRead, Phase, Wrote};
use eventmpm_core::driver::{self, Interest, Io, Settled};
use eventmpm_core::http1::Limits;
use eventmpm_core::scoreboard::WorkerStatus;
use eventmpm_core::table::{ConnId, ConnTable, SHORT_LINGER, Settings, Slot};
use eventmpm_core::time::Instant;

use super::accept_shortage::AcceptShortage;
use super::connio::ConnIo;
use super::fdqueue::WorkerQueue;
use super::worker::{Blocking, LogBuffers, Worker};
use super::{ChildParams, Clock, Serving, StopMode};
use crate::accept_mutex::ChildMutex;
use crate::board::Board;
use crate::buffers::Pool;
use crate::signals::SignalPipe;
use crate::site::Site;
use crate::sys::{self, Accepted};

/// The signal that interrupts the listener thread's blocking calls (the accept mutex, poll) when
/// the child stops (httpd's worker uses `LISTENER_SIGNAL` the same way). Its handler does
/// nothing and is installed without `SA_RESTART`; only the listener thread is ever sent it.
const WAKE_SIGNAL: libc::c_int = libc::SIGUSR2;
/// How often, and how many times, the main thread signals a listener that has not left yet
/// (httpd: 10 × 500 ms, then AH00276).
const WAKE_INTERVAL: StdDuration = StdDuration::from_millis(50);
const WAKE_TRIES: u32 = 40;
/// As [`WAKE_TRIES`] when the listener may be waiting for a pthread accept mutex, which no
/// signal interrupts: a few tries cover a listener in poll, the rest would only delay the stop.
const WAKE_TRIES_PTHREAD: u32 = 4;
/// How often a child that took over a stopping child's scoreboard slot looks for thread slots
/// the old child's workers have left (httpd's start thread: every second).
const SLOT_RETRY: StdDuration = StdDuration::from_secs(1);
/// Bytes read and discarded per read in lingering close.
const DRAIN_BUFFER: usize = 32 * 1024;

/// What one accept attempt gave the listener.
#[derive(Debug)]
enum Attempt {
    /// A connection for the reserved worker.
    Conn(Conn),
    /// Nothing: the child is stopping, or the accept failed for good (a stop is requested).
    Nothing,
    /// A descriptor or memory shortage: sit out the accept pause, then try again.
    Shortage,
}

/// A connection on its way from the listener to a worker.
#[derive(Debug)]
struct Conn {
    sock: TcpStream,
    peer: SocketAddr,
}

/// What the main thread, the listener and the workers share.
#[derive(Debug)]
struct Child {
    serving: Serving,
    queue: WorkerQueue<Conn>,
    settings: Settings,
    clock: Clock,
    /// MaxConnectionsPerChild: connections left, counted down by the workers; `None` without a
    /// limit.
    conns_left: Option<AtomicU32>,
    /// Whether this child's listener has accepted a connection (AH00272 tells apart a child that
    /// never served any).
    accepted_any: AtomicBool,
    /// The listener has left its loop.
    listener_done: AtomicBool,
    /// Asks the main thread to stop the child gracefully (MaxConnectionsPerChild, an accept
    /// error, a failed mutex release): one byte per request.
    control: (std::os::fd::OwnedFd, std::os::fd::OwnedFd),
    /// Worker threads started so far (the start thread may add more later).
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Child {
    fn stopping(&self) -> bool {
        self.serving.stopping.load(Ordering::Relaxed)
    }

    /// Ask the main thread to stop this child gracefully.
    fn request_stop(&self) {
        let _ = rustix::io::write(&self.control.1, &[1]);
    }
}

/// Run a worker-MPM child until it stops. Returns how it stopped.
pub fn run(
    params: ChildParams,
    site: Arc<Site>,
    board: Board,
    limits: Limits,
    signals: SignalPipe,
) -> std::io::Result<StopMode> {
    install_wake_handler()?;
    let threads = params.threads.max(1) as usize;
    let control = sys::pipe()?;
    let child = Arc::new(Child {
        serving: Serving {
            // A connection holds an input and an output buffer; a response being built one more.
            pool: Pool::new(
                params.buffer_size,
                params.max_free_buffers,
                3 * threads,
                super::large_head_budget(params.threads, &limits),
            ),
            stopping: AtomicBool::new(false),
            limits,
            open_files: crate::open_files::OpenFiles::for_child(&site.open_file_cache, site.caches),
            log_buffers: LogBuffers::new(threads, &site),
            site,
            board,
        },
        queue: WorkerQueue::new(threads),
        settings: params.table,
        clock: Clock::start(),
        conns_left: (params.max_connections > 0).then(|| AtomicU32::new(params.max_connections)),
        accepted_any: AtomicBool::new(false),
        listener_done: AtomicBool::new(false),
        control,
        workers: Mutex::new(Vec::with_capacity(threads)),
    });
    super::start_reclaimer(child.serving.pool);
    child.serving.board.set_accepting(true);
    let started = start_workers(&child, threads, params.stack_size)?;
    let starter = (started < threads).then(|| {
        let child = child.clone();
        let stack = params.stack_size;
        std::thread::Builder::new()
            .name("start".into())
            .spawn(move || start_remaining(&child, threads, stack))
    });
    let listeners = params.listeners;
    // Serialise accepts only where it matters: several sockets to poll (one socket is taken
    // by whichever child's accept gets there first, httpd's SINGLE_LISTEN_UNSERIALIZED_ACCEPT).
    let mutex = params.accept_mutex.filter(|_| listeners.len() > 1);
    let wake_tries = if mutex.as_ref().is_none_or(ChildMutex::interruptible) {
        WAKE_TRIES
    } else {
        WAKE_TRIES_PTHREAD
    };
    let listener = {
        let child = child.clone();
        std::thread::Builder::new()
            .name("listener".into())
            .spawn(move || listen(&child, listeners, mutex))?
    };
    let mode = wait_for_stop(&child, &signals);
    begin_stop(&child);
    if mode == StopMode::Immediate {
        // Connections in progress, and the threads serving them, end with the process; the
        // log lines they buffered are written first.
        let serving = &child.serving;
        serving.log_buffers.write_all(&serving.site.access_logs);
        return Ok(mode);
    }
    wake_listener(&child, &listener, wake_tries);
    if let Some(Ok(s)) = starter {
        let _ = s.join();
    }
    child.queue.terminate();
    // As in event mode: nothing reads the signal pipe any more, so a further stop signal takes
    // its default action and a worker stuck for good cannot outlive the parent's SIGTERM.
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        crate::signals::set_default(sig);
    }
    let workers = std::mem::take(&mut *child.workers.lock().unwrap_or_else(|e| e.into_inner()));
    for w in workers {
        let _ = w.join();
    }
    if child.listener_done.load(Ordering::Acquire) {
        let _ = listener.join();
    }
    Ok(mode)
}

/// The no-op handler that makes [`WAKE_SIGNAL`] interrupt the listener's blocking calls.
fn install_wake_handler() -> std::io::Result<()> {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: a zeroed sigaction is valid; the handler does nothing, the mask is empty, and no
    // SA_RESTART, so a blocking call in the thread it interrupts returns EINTR.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = nothing as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(WAKE_SIGNAL, &sa, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether worker slot `n` may be used: its previous thread is gone. After taking over a
/// stopping child's scoreboard slot (worker MPM, httpd's AH00263), the old child's busy workers
/// still write their records; a new thread only takes a record once its old one is dead.
fn slot_free(board: &Board, n: usize) -> bool {
    board
        .worker(n)
        .is_none_or(|w| matches!(w.status(), Some(WorkerStatus::Dead) | None))
}

/// Start a worker in every free slot below `threads`; returns how many run now.
fn start_workers(child: &Arc<Child>, threads: usize, stack: usize) -> std::io::Result<usize> {
    let mut workers = child.workers.lock().unwrap_or_else(|e| e.into_inner());
    let mut started = vec![false; threads];
    for h in workers.iter() {
        if let Some(n) = h
            .thread()
            .name()
            .and_then(|s| s.strip_prefix("worker-"))
            .and_then(|s| s.parse::<usize>().ok())
            && n < threads
        {
            started[n] = true;
        }
    }
    for (n, done) in started.iter_mut().enumerate() {
        if *done || !slot_free(&child.serving.board, n) {
            continue;
        }
        let c = child.clone();
        let mut b = std::thread::Builder::new().name(format!("worker-{n}"));
        if stack > 0 {
            b = b.stack_size(stack);
        }
        match b.spawn(move || work(&c, n as u32)) {
            Ok(h) => {
                workers.push(h);
                *done = true;
            }
            Err(e) => {
                // httpd exits APEXIT_CHILDSICK when it cannot create a thread; with some workers
                // running we carry on with fewer, as trunk does.
                log::error!("AH00282: unable to create worker thread {n}: {e}");
                if workers.is_empty() {
                    return Err(e);
                }
                break;
            }
        }
    }
    Ok(workers.len())
}

/// The start thread of a child that took over a stopping child's slot: start the rest of the
/// workers as the old child's leave their slots (httpd's `start_threads` loop).
fn start_remaining(child: &Arc<Child>, threads: usize, stack: usize) {
    let mut loops = 0u32;
    while !child.stopping() {
        std::thread::sleep(SLOT_RETRY);
        if child.stopping() {
            return;
        }
        match start_workers(child, threads, stack) {
            Ok(n) if n >= threads => return,
            Ok(n) => {
                loops += 1;
                if loops.is_multiple_of(120) {
                    log::debug!(
                        "child {} isn't taking over slots very quickly ({n} of {threads})",
                        std::process::id()
                    );
                }
            }
            Err(_) => return,
        }
    }
}

/// The main thread: wait for a stop signal or a stop request.
fn wait_for_stop(child: &Child, signals: &SignalPipe) -> StopMode {
    let sig_fd = signals.fd();
    loop {
        let mut fds = [
            rustix::event::PollFd::new(&sig_fd, rustix::event::PollFlags::IN),
            rustix::event::PollFd::new(&child.control.0, rustix::event::PollFlags::IN),
        ];
        if rustix::event::poll(&mut fds, None).is_err() {
            continue;
        }
        let requested = !fds[1].revents().is_empty();
        let mut mode = None;
        for sig in signals.take() {
            match sig {
                libc::SIGTERM | libc::SIGINT | libc::SIGHUP => mode = Some(StopMode::Immediate),
                libc::SIGWINCH | libc::SIGUSR1 if mode.is_none() => mode = Some(StopMode::Graceful),
                _ => {}
            }
        }
        if requested {
            let mut buf = [0u8; 16];
            let _ = rustix::io::read(&child.control.0, &mut buf);
            mode.get_or_insert(StopMode::Graceful);
        }
        if let Some(m) = mode {
            return m;
        }
    }
}

/// Graceful or not: responses say `Connection: close` from now on, the scoreboard shows the
/// child stopping, and the listener leaves.
fn begin_stop(child: &Child) {
    child.serving.stopping.store(true, Ordering::Relaxed);
    let board = &child.serving.board;
    // Only while the scoreboard slot is still ours: a new child may have taken it over (worker
    // MPM), and its record must not be marked stopping by us.
    let ours = board
        .scoreboard()
        .process(board.slot())
        .is_some_and(|p| p.pid() == std::process::id() as i32);
    if ours {
        board.set_stopping();
    }
    child.queue.stop_listener();
}

/// Interrupt the listener wherever it blocks (the accept mutex, poll) until it has left;
/// bounded. A listener stuck in a lock no signal interrupts (a pthread mutex) is left behind and
/// ends with the process, as httpd's AH00276.
fn wake_listener(child: &Child, listener: &std::thread::JoinHandle<()>, tries: u32) {
    for _ in 0..tries {
        if child.listener_done.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: the thread has not been joined, so its pthread_t is valid; the signal's
        // handler does nothing.
        unsafe {
            libc::pthread_kill(listener.as_pthread_t(), WAKE_SIGNAL);
        }
        std::thread::sleep(WAKE_INTERVAL);
    }
    log::debug!("AH00276: the listener thread didn't exit");
}

/// Poll `fd` for `events` up to `limit` (`None`: without a limit). `Ok(false)` when the time
/// ran out or a signal interrupted the wait.
fn wait_fd(
    fd: BorrowedFd<'_>,
    events: rustix::event::PollFlags,
    limit: Option<StdDuration>,
) -> std::io::Result<bool> {
    let mut fds = [rustix::event::PollFd::new(&fd, events)];
    let ts = limit.map(|d| rustix::time::Timespec {
        tv_sec: d.as_secs() as _,
        tv_nsec: d.subsec_nanos() as _,
    });
    match rustix::event::poll(&mut fds, ts.as_ref()) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The listener thread.
fn listen(child: &Child, listeners: Vec<TcpListener>, mutex: Option<ChildMutex>) {
    let mut next = 0usize;
    let mut reserved = false;
    let mut cpu = crate::cputime::Sampler::default();
    let mut shortage = AcceptShortage::new();
    'serve: while !child.stopping() {
        if cpu.due(child.clock.now())
            && let Some(ticks) = crate::cputime::thread_ticks()
        {
            child.serving.board.set_listener_cpu(ticks);
        }
        if !reserved {
            if !child.queue.wait_for_idler() {
                break;
            }
            reserved = true;
        }
        if let Some(m) = &mutex
            && let Err(e) = m.lock()
        {
            if e.kind() == std::io::ErrorKind::Interrupted || child.stopping() {
                continue;
            }
            accept_mutex_error(child, "lock", &e);
            break;
        }
        let accepted = accept_one(child, &listeners, &mut next, &mut shortage);
        if let Some(m) = &mutex
            && let Err(e) = m.unlock()
            && !child.stopping()
        {
            accept_mutex_error(child, "unlock", &e);
        }
        match accepted {
            Attempt::Conn(conn) => {
                child.accepted_any.store(true, Ordering::Relaxed);
                reserved = false;
                // Refused only once the queue is terminated (an immediate stop): the
                // connection closes as it drops.
                let _ = child.queue.push(conn);
            }
            // Out of the mutex, so other children accept meanwhile; the worker stays reserved.
            Attempt::Shortage => sit_out(child, &mut shortage),
            Attempt::Nothing if child.stopping() => break 'serve,
            Attempt::Nothing => {}
        }
    }
    // Closing our copies releases the ports once every child has closed its own.
    drop(listeners);
    child.listener_done.store(true, Ordering::Release);
}

/// Sleep until the accept pause ends, or the child stops (the wake signal interrupts the
/// sleep). Bounded: each round sleeps at most until the pause's deadline.
fn sit_out(child: &Child, shortage: &mut AcceptShortage) {
    while let Some(until) = shortage.deadline() {
        let now = child.clock.now();
        if child.stopping() || shortage.expire(now) {
            return;
        }
        let left = StdDuration::from_millis(until.saturating_since(now).as_millis());
        let ts = rustix::time::Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let _ = rustix::event::poll(&mut [], Some(&ts));
    }
}

/// Wait until a listening socket has a connection and accept it.
fn accept_one(
    child: &Child,
    listeners: &[TcpListener],
    next: &mut usize,
    shortage: &mut AcceptShortage,
) -> Attempt {
    let n = listeners.len();
    if n == 0 {
        return Attempt::Nothing;
    }
    // Bounded by the stop flag: each round either accepts, or sleeps in poll until a socket is
    // ready or a signal arrives.
    while !child.stopping() {
        let mut fds: Vec<rustix::event::PollFd<'_>> = listeners
            .iter()
            .map(|l| rustix::event::PollFd::new(l, rustix::event::PollFlags::IN))
            .collect();
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => {
                log::error!("AH00271: apr_pollset_poll: {e}; stopping this child gracefully");
                child.request_stop();
                return Attempt::Nothing;
            }
        }
        // Round-robin from the socket after the last one served, so none starves.
        let Some(which) = (0..n)
            .map(|k| (*next + k) % n)
            .find(|&i| !fds[i].revents().is_empty())
        else {
            continue;
        };
        drop(fds);
        *next = (which + 1) % n;
        match sys::accept(listeners[which].as_fd()) {
            Ok(Accepted::Socket(fd, peer)) => {
                shortage.accepted(child.clock.now());
                let sock = TcpStream::from(fd);
                let _ = crate::net::configure_accepted(&sock);
                return Attempt::Conn(Conn { sock, peer });
            }
            // Another child took it (the sockets are shared and non-blocking).
            Ok(Accepted::WouldBlock | Accepted::Transient) => continue,
            // EMFILE, ENFILE, ENOBUFS, ENOMEM: pause and retry, as the event MPM does (httpd
            // stops the child, and its replacement meets the same limit).
            Err(e) if shortage.failed(&e, child.clock.now()) => return Attempt::Shortage,
            Err(e) => {
                log::error!("accept failed: {e}; stopping this child gracefully");
                child.request_stop();
                return Attempt::Nothing;
            }
        }
    }
    Attempt::Nothing
}

/// httpd's `accept_mutex_error`: a child that has not served anything yet exits sick (the parent
/// slows its spawning: the mutex is likely broken for everyone); one that has, stops gracefully.
/// At debug level when the child belongs to an old generation (common during restarts).
fn accept_mutex_error(child: &Child, func: &str, e: &std::io::Error) {
    let board = &child.serving.board;
    let old = board
        .scoreboard()
        .global()
        .read()
        .is_ok_and(|g| g.running_generation != board.generation());
    let log = |msg: String| {
        if old {
            log::debug!("{msg}");
        } else {
            log::error!("{msg}");
        }
    };
    if !child.accepted_any.load(Ordering::Relaxed) {
        log(format!(
            "({}){e}: AH00272: apr_proc_mutex_{func} failed before this child process served any requests.",
            e.raw_os_error().unwrap_or(0)
        ));
        // SAFETY: _exit ends the process at once; nothing has been served.
        unsafe { libc::_exit(crate::parent::EXIT_CHILD_SICK) };
    }
    log(format!(
        "({}){e}: AH00273: apr_proc_mutex_{func} failed. Attempting to shutdown process gracefully.",
        e.raw_os_error().unwrap_or(0)
    ));
    child.request_stop();
}

/// A worker thread.
fn work(child: &Child, n: u32) {
    let mut w = Worker::new(n, &child.serving);
    let mut slots = [Slot::EMPTY];
    let mut table = ConnTable::new(&mut slots, &child.settings);
    let mut scratch = vec![0u8; DRAIN_BUFFER];
    loop {
        child.queue.set_idle();
        let Some(conn) = child.queue.pop(|| w.on_idle()) else {
            break;
        };
        serve_connection(child, &mut w, &mut table, conn, &mut scratch);
        if let Some(left) = &child.conns_left
            // Stops at zero: exactly one worker sees the last connection go.
            && left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)) == Ok(1)
        {
            log::info!("Stopping process due to MaxConnectionsPerChild");
            child.request_stop();
        }
    }
    w.exit();
}

/// Own one connection until it closes: the core's driver decides, and every wait is a `poll(2)`
/// on its socket bounded by the state machine's timeout for the phase it is in.
fn serve_connection(
    child: &Child,
    w: &mut Worker<'_>,
    table: &mut ConnTable<'_>,
    conn: Conn,
    scratch: &mut [u8],
) {
    let clock = child.clock;
    let local = conn.sock.local_addr().unwrap_or(conn.peer);
    let mut io = ConnIo::new(conn.sock, conn.peer, local);
    if let Some(server) = child.serving.site.tls.for_socket(local)
        && !io.start_tls(&server)
    {
        return;
    }
    let opened = if io.is_tls() {
        table.open_tls(clock.now())
    } else {
        table.open(clock.now())
    };
    let Some((id, action)) = opened else {
        return;
    };
    let mut owned = Owned {
        table,
        io,
        worker: w,
        scratch,
        serving: &child.serving,
    };
    let mut next = Next::Action(action);
    // Bounded in time, not in rounds: each round either makes progress on the connection or
    // waits at most until the phase's deadline, and every phase has one.
    loop {
        if child.stopping() && !owned.table.is_stopping() {
            owned.table.stop();
        }
        let now = clock.now();
        let Ok(settled) = match next {
            Next::Action(a) => driver::drive(&mut owned, id, a, now),
            Next::Event(e) => driver::drive_event(&mut owned, id, e, now),
        };
        let phase = owned.table.conn(id).map(|c| c.phase());
        let readable = match settled {
            // Served inline with more to do (pipelined requests): on without waiting.
            Settled::Again(action) => {
                next = Next::Action(action);
                continue;
            }
            Settled::Wait(i) => i == Interest::Readable,
            // A timeout that only moved the connection to a later stage (a head-read
            // extension): keep waiting for what its phase waits for.
            Settled::Unchanged => phase != Some(Phase::WriteCompletion),
            Settled::Closed | Settled::Dispatched | Settled::Unsettled => break,
        };
        if phase.is_none() {
            break;
        }
        owned.worker.set_status(match phase {
            Some(Phase::KeepAlive) => WorkerStatus::KeepAlive,
            Some(Phase::Linger) => WorkerStatus::Closing,
            Some(Phase::WriteCompletion) => WorkerStatus::Write,
            _ => WorkerStatus::Read,
        });
        // Lines of the requests served so far go out if they are due; if not, the wait ends in
        // time to write them when they are (and comes back here as `Again`).
        let log_limit = owned.worker.before_wait();
        let lingering = phase == Some(Phase::Linger);
        next = match wait(
            &owned.io,
            owned.table,
            readable,
            lingering,
            log_limit,
            clock,
        ) {
            Waited::Ready => Next::Event(Event::Ready),
            Waited::Again => Next::Action(if readable {
                Action::WaitReadable
            } else {
                Action::WaitWritable
            }),
            Waited::Expired(action) => Next::Action(action),
            // Two seconds without a byte in lingering close: done.
            Waited::LingerRead => Next::Event(Event::Drained { eof: true }),
        };
    }
    // A stale id (the table closed it) still holds the socket in `owned.io`; it closes as it
    // drops.
}

/// What the connection's loop does next: carry out an action, or feed an event.
enum Next {
    Action(Action),
    Event(Event),
}

/// A worker-MPM thread's connection, as the core's driver sees it: I/O on the one socket the
/// thread owns; a dispatch is served inline.
struct Owned<'a, 'w, 't> {
    table: &'a mut ConnTable<'t>,
    io: ConnIo,
    worker: &'a mut Worker<'w>,
    scratch: &'a mut [u8],
    serving: &'a Serving,
}

impl<'t> Io<'t> for Owned<'_, '_, 't> {
    type Error = Infallible;

    fn table(&mut self) -> &mut ConnTable<'t> {
        self.table
    }

    fn wait(&mut self, _: ConnId, _: Interest) -> Result<bool, Infallible> {
        // The thread blocks on the socket itself once the driver returns.
        Ok(true)
    }

    fn read_head(&mut self, _: ConnId) -> Result<HeadRead, Infallible> {
        self.worker.set_status(WorkerStatus::Read);
        Ok(self.io.read_head(self.serving.pool, &self.serving.limits))
    }

    fn dispatch(
        &mut self,
        _: ConnId,
        served: u32,
        _: Instant,
    ) -> Result<Option<Event>, Infallible> {
        Ok(Some(Event::Handback(self.worker.serve_requests(
            &mut self.io,
            served,
            Blocking::Allowed,
        ))))
    }

    fn write(&mut self, _: ConnId) -> Result<Wrote, Infallible> {
        self.worker.set_status(WorkerStatus::Write);
        Ok(self.io.write_pending())
    }

    fn reject(&mut self, _: ConnId, status: u16) -> Result<bool, Infallible> {
        log::debug!("rejecting a request from {} with {status}", self.io.peer);
        self.io
            .write_now(&self.io.rejection(status, &self.serving.site));
        // Lingering close only discards input: the buffers (a large head's too) go back now.
        self.io.release();
        self.io.shutdown_write();
        Ok(self.io.drain(self.scratch))
    }

    fn linger(&mut self, _: ConnId) -> Result<bool, Infallible> {
        self.worker.set_status(WorkerStatus::Closing);
        self.io.input.release();
        self.io.output.release();
        Ok(!self.io.shutdown_write() || self.io.drain(self.scratch))
    }

    fn drain(&mut self, _: ConnId) -> Result<bool, Infallible> {
        Ok(self.io.drain(self.scratch))
    }

    fn close(&mut self, _: ConnId) -> Result<(), Infallible> {
        self.io.close_notify();
        self.io.release();
        Ok(())
    }
}

/// How a blocking wait ended.
enum Waited {
    /// The socket is ready.
    Ready,
    /// Woken early (a signal, or buffered log lines due); wait again.
    Again,
    /// The phase's deadline passed: the table's next action.
    Expired(Action),
    /// Lingering close: a read waited its 2 s in vain.
    LingerRead,
}

/// Wait on the connection's socket, at most until the table's next deadline, 2 s per read in
/// lingering close, and `log_limit` (buffered log lines due to be written).
fn wait(
    io: &ConnIo,
    table: &mut ConnTable<'_>,
    readable: bool,
    lingering: bool,
    log_limit: Option<StdDuration>,
    clock: Clock,
) -> Waited {
    let now = clock.now();
    let started = now;
    let deadline = table.next_deadline();
    let until = |d: Instant| StdDuration::from_millis(d.saturating_since(now).as_millis());
    let mut limit = deadline.map(until);
    // httpd's blocking lingering close reads with a 2 s timeout each (SECONDS_TO_LINGER), within
    // the 30 s the table allows in all (MAX_SECS_TO_LINGER).
    let per_read = lingering.then(|| StdDuration::from_millis(SHORT_LINGER.as_millis()));
    for cap in [per_read, log_limit].into_iter().flatten() {
        limit = Some(limit.map_or(cap, |l| l.min(cap)));
    }
    let events = if readable {
        rustix::event::PollFlags::IN
    } else {
        rustix::event::PollFlags::OUT
    };
    match wait_fd(io.sock.as_fd(), events, limit) {
        Ok(true) | Err(_) => return Waited::Ready,
        Ok(false) => {}
    }
    let now = clock.now();
    if deadline.is_some_and(|d| d <= now) {
        return match table.expire_event(now) {
            Some((_, event, action)) => {
                io.log_expiry(event);
                Waited::Expired(action)
            }
            None => Waited::Again,
        };
    }
    // The per-read limit ran out, unless a signal or the log limit cut the wait short.
    let waited = now.saturating_since(started);
    if per_read.is_some_and(|p| waited.as_millis() >= p.as_millis() as u64) {
        Waited::LingerRead
    } else {
        Waited::Again
    }
}
