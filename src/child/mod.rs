//! A child process's runtime: one listener thread and ThreadsPerChild workers.
//!
//! The listener owns the connection table and every waiting connection; workers take complete
//! requests from the dispatch queue, answer them without ever waiting on a client, and hand the
//! connection back. Everything is sized when the child starts: the connection table, the per
//! connection I/O slots, both queues, the buffer pool's ceiling.
//!
//! That is the event MPM. With `LoadModule mpm_worker_module …` the child runs the worker MPM
//! instead ([`worker_mpm`]): the listener only accepts, and each connection belongs to one
//! worker for its whole life. Both answer requests with the same code ([`worker`]).

pub mod accept_shortage;
pub mod connio;
pub mod fdqueue;
pub mod listener;
pub mod worker;
pub mod worker_mpm;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant as StdInstant;

use eventmpm_core::admission::Admission;
use eventmpm_core::config::Mpm;
use eventmpm_core::conn::Handback;
use eventmpm_core::http1::Limits;
use eventmpm_core::table::{ConnId, ConnTable, Slot};
use eventmpm_core::time::Instant;

use crate::accept_mutex::ChildMutex;
use crate::board::Board;
use crate::buffers::Pool;
use crate::handoff::{Completions, Dispatch};
use crate::signals::SignalPipe;
use crate::site::Site;
use crate::sys::{Poller, Waker};
use connio::ConnIo;

/// A connection on its way to a worker.
#[derive(Debug)]
pub struct Job {
    /// The connection's id in the listener's table.
    pub id: ConnId,
    /// Its I/O state, with a complete request head buffered.
    pub io: ConnIo,
    /// Responses already completed on the connection.
    pub served: u32,
}

/// A connection on its way back from a worker.
#[derive(Debug)]
pub struct Completion {
    /// The connection's id.
    pub id: ConnId,
    /// Its I/O state.
    pub io: ConnIo,
    /// What the worker did.
    pub handback: Handback,
}

/// How a child stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Finish every connection, then exit (SIGWINCH/SIGUSR1 from the parent, MaxConnectionsPerChild).
    Graceful,
    /// Close everything now (SIGTERM).
    Immediate,
}

/// The child's monotonic clock, in the core's milliseconds since the child started.
#[derive(Debug, Clone, Copy)]
pub struct Clock(StdInstant);

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock(StdInstant::now())
    }

    /// Now, rounded down to the millisecond.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

/// What answering requests needs, in either MPM: the buffers, the limits, the site, the
/// scoreboard records and whether the child is stopping.
#[derive(Debug)]
pub struct Serving {
    /// I/O buffers.
    pub pool: &'static Pool,
    /// The child is stopping: responses say `Connection: close`.
    pub stopping: AtomicBool,
    /// Request limits.
    pub limits: Limits,
    /// What is served and how.
    pub site: Arc<Site>,
    /// This child's scoreboard records.
    pub board: Board,
    /// This child's open static files (OpenFileCache), built after the fork: one cache per
    /// [`Host::cache`](crate::site::Host::cache), sharing the configured capacity.
    pub open_files: Vec<crate::open_files::OpenFiles>,
    /// Access-log lines the threads have not written yet.
    pub log_buffers: worker::LogBuffers,
}

/// What the event MPM's listener and workers share: the two queues, the listener's waker, and
/// (through `Deref`) what serving needs.
#[derive(Debug)]
pub struct Shared {
    /// Listener → workers.
    pub dispatch: Dispatch<Job>,
    /// Workers → listener.
    pub completions: Completions<Completion>,
    /// Wakes the listener's poller.
    pub waker: Waker,
    /// What answering requests needs.
    pub serving: Serving,
}

impl std::ops::Deref for Shared {
    type Target = Serving;

    fn deref(&self) -> &Serving {
        &self.serving
    }
}

/// Everything a child needs to run.
#[derive(Debug)]
pub struct ChildParams {
    /// Listening sockets, inherited from the parent.
    pub listeners: Vec<TcpListener>,
    /// ThreadsPerChild.
    pub threads: u32,
    /// Connection table capacity.
    pub capacity: usize,
    /// Admission (ThreadsPerChild and AsyncRequestWorkerFactor).
    pub admission: Admission,
    /// The table's timeouts.
    pub table: eventmpm_core::table::Settings,
    /// MaxConnectionsPerChild (0 = unlimited).
    pub max_connections: u32,
    /// ThreadStackSize (0 = the OS default).
    pub stack_size: usize,
    /// Buffer pool: buffer size, buffers kept free (MaxMemFree).
    pub buffer_size: usize,
    /// See `buffer_size`.
    pub max_free_buffers: usize,
    /// Which MPM the child runs: event (the listener owns every waiting connection) or worker
    /// (one worker per connection for its whole life).
    pub mpm: Mpm,
    /// Worker MPM: this child's handle on the accept mutex serialising accepts across children
    /// (several listening sockets and several children only): the parent creates the mutex
    /// before it forks, and the child attaches before it drops privileges.
    pub accept_mutex: Option<ChildMutex>,
    /// Event MPM with more possible children than CPUs: the accept turns (only the first
    /// children by slot that would accept poll the listening sockets; see
    /// [`crate::accept_turns`]).
    pub turns: Option<Arc<crate::accept_turns::Turns>>,
}

/// Run a child until it stops. Returns how it stopped.
pub fn run(
    params: ChildParams,
    site: Arc<Site>,
    board: Board,
    limits: Limits,
) -> std::io::Result<StopMode> {
    let signals = SignalPipe::install(&[
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGWINCH,
    ])?;
    // The parent forks with these blocked (see `parent::fork_child`): from here on they reach
    // this child's own pipe, including any that arrived while it was starting.
    unblock_signals(&[
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGWINCH,
        libc::SIGCHLD,
    ]);
    if params.mpm == Mpm::Worker {
        return worker_mpm::run(params, site, board, limits, signals);
    }
    let poller = Poller::new()?;
    let capacity = params.capacity.max(1);
    let shared = Arc::new(Shared {
        dispatch: Dispatch::new(capacity),
        completions: Completions::new(capacity),
        waker: poller.waker(),
        serving: Serving {
            // Each connection holds at most an input and an output buffer; workers keep one each.
            pool: Pool::new(
                params.buffer_size,
                params.max_free_buffers,
                2 * capacity + params.threads as usize,
                large_head_budget(params.threads, &limits),
            ),
            stopping: AtomicBool::new(false),
            limits,
            open_files: crate::open_files::OpenFiles::for_child(&site.open_file_cache, site.caches),
            // One slot per worker, and one for the listener, which answers cheap requests.
            log_buffers: worker::LogBuffers::with_listener(params.threads as usize, &site),
            site,
            board,
        },
    });
    start_reclaimer(shared.pool);
    let mut workers = Vec::with_capacity(params.threads as usize);
    for n in 0..params.threads {
        let shared = shared.clone();
        let mut b = std::thread::Builder::new().name(format!("worker-{n}"));
        if params.stack_size > 0 {
            b = b.stack_size(params.stack_size);
        }
        match b.spawn(move || worker::run(n, &shared)) {
            Ok(h) => workers.push(h),
            Err(e) => {
                // httpd exits APEXIT_CHILDSICK when it cannot create a thread; with some
                // workers running we carry on with fewer, as trunk does.
                log::error!("unable to create worker thread {n}: {e}");
                if workers.is_empty() {
                    return Err(e);
                }
                break;
            }
        }
    }
    // The listener's access-log lines are written by a thread of their own, so that it never
    // waits on a log (worker::LogWriter).
    let log_writer = if shared.site.access_logs.is_empty() {
        None
    } else {
        let shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                if let Some(w) = shared.log_buffers.writer() {
                    w.run(&shared.site.access_logs);
                }
            });
        match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                log::error!("unable to create the log-writer thread: {e}");
                return Err(e);
            }
        }
    };
    let mut slots = vec![Slot::EMPTY; capacity].into_boxed_slice();
    let table = ConnTable::new(&mut slots, &params.table);
    let mut listener = listener::Listener::new(
        table,
        params.admission,
        poller,
        params.listeners,
        shared.clone(),
        signals,
        params.max_connections,
        workers.len() as u32,
        worker::Worker::for_listener(&shared.serving),
        params.turns,
    )?;
    let how = listener.run();
    drop(listener);
    if how == StopMode::Immediate {
        // Before the idle workers wake to exit, so none is holding its lines meanwhile.
        let serving = &shared.serving;
        serving.log_buffers.write_all(&serving.site.access_logs);
    }
    shared.dispatch.terminate();
    match how {
        // Every connection is already closed; a worker still inside a handler (or stuck on a
        // log write) must not keep the process alive: it ends with the process (the log lines
        // the workers buffered were written above).
        StopMode::Immediate => {}
        // Workers finish what they hold and exit on the terminated queue. Nothing reads the
        // signal pipe any more, so a stop signal from now on takes its default action: a
        // worker stuck for good cannot make the child outlive the parent's SIGTERM.
        StopMode::Graceful => {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
                crate::signals::set_default(sig);
            }
            for w in workers {
                let _ = w.join();
            }
            if let Some(w) = shared.log_buffers.writer() {
                w.stop();
            }
            if let Some(h) = log_writer {
                let _ = h.join();
            }
            // What the listener could not hand over while the writer was busy.
            let serving = &shared.serving;
            serving.log_buffers.write_all(&serving.site.access_logs);
        }
    }
    Ok(how)
}

/// Start the pool's reclaimer. Without it the child serves as well, but keeps the free buffers a
/// burst left (up to MaxMemFree) resident while it rests.
pub(crate) fn start_reclaimer(pool: &'static Pool) {
    if let Err(e) = pool.start_reclaimer() {
        log::warn!("cannot start the buffer reclaimer thread: {e}; free buffers are kept");
    }
}

/// Bytes a child's grown head buffers may hold beyond the pool's buffer size, all together: as
/// many of the largest heads the limits allow as the child has worker threads. That is what
/// httpd, which reads each head in a worker thread, can hold at once; here heads are read
/// without a thread, so the budget, not the thread count, is what bounds them.
pub(crate) fn large_head_budget(threads: u32, limits: &Limits) -> usize {
    usize::try_from(limits.max_head_len())
        .unwrap_or(usize::MAX)
        .saturating_mul(threads.max(1) as usize)
}

/// Unblock `signals` for the calling thread (and the threads it starts afterwards).
fn unblock_signals(signals: &[libc::c_int]) {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use; pthread_sigmask
    // only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}
