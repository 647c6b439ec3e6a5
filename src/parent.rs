//! The parent process: it binds the listening sockets, owns the scoreboard, forks the children,
//! runs the core's maintenance once a second, reaps, and turns signals into stops and restarts,
//! as httpd's `event_run` / `server_main_loop` do.
//!
//! The parent never accepts a connection. It trusts only what it recorded itself (which pid it
//! forked into which slot, kept by the core's `Retained`): what children write to the
//! scoreboard is read as counters, never as pids to signal or slots to act on (httpd's
//! CVE-2019-0211 came from trusting it).
//!
//! Signals (httpd's): TERM/INT stop, HUP restart (children killed, configuration re-read,
//! scoreboard reset), USR1 graceful restart (old children finish as "old gen" while new ones
//! serve), WINCH graceful stop bounded by GracefulShutdownTimeout. Unlike httpd, a configuration
//! that fails to load on a restart is logged and the running generation keeps serving.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant as StdInstant};

use eventmpm_core::config::Mpm;
use eventmpm_core::maintenance::{
    self, Board, ChildSlot, ExitStatus, GracefulStop, Message, Params, ProcessView, Reclaim,
    Retained, StopSignal,
};
use eventmpm_core::scoreboard::{Scoreboard, WorkerStatus};
use eventmpm_core::time::Duration;

use crate::accept_mutex::{self, AcceptMutex};
use crate::accept_turns::Turns;
use crate::board::{self, Board as ChildBoard, monotonic_now};
use crate::child::{self, StopMode};
use crate::config::{self, Options, ServerConfig};
use crate::privileges::{self, Identity};
use crate::server;
use crate::signals::SignalPipe;
use crate::site::Site;

/// What a child's process exits with when it cannot start (httpd's `APEXIT_CHILDSICK`): the
/// parent slows its spawn rate.
pub const EXIT_CHILD_SICK: i32 = maintenance::APEXIT_CHILDSICK;
/// What a child exits with on an error a new child would hit too (httpd's `APEXIT_CHILDFATAL`):
/// the parent shuts the server down.
pub const EXIT_CHILD_FATAL: i32 = maintenance::APEXIT_CHILDFATAL;

/// The scoreboard as maintenance reads it: counters and statuses only.
struct View(Scoreboard<'static>);

impl Board for View {
    fn process_slots(&self) -> usize {
        self.0.layout().server_limit as usize
    }
    fn thread_slots(&self) -> usize {
        self.0.layout().thread_limit as usize
    }
    fn process(&self, slot: usize) -> ProcessView {
        match self.0.process(slot) {
            Some(p) => ProcessView {
                pid: p.pid(),
                generation: p.generation(),
                quiescing: p.quiescing().map_or(1, |q| q as u8),
                not_accepting: !p.is_accepting(),
            },
            None => ProcessView {
                pid: 0,
                generation: 0,
                quiescing: 0,
                not_accepting: false,
            },
        }
    }
    fn worker_status(&self, slot: usize, thread: usize) -> WorkerStatus {
        self.0
            .worker(slot, thread)
            .and_then(|w| w.status())
            .unwrap_or(WorkerStatus::Dead)
    }
}

/// Maintenance's parameters for a checked configuration.
pub fn params(cfg: &ServerConfig) -> Params {
    let p = cfg.core.process();
    Params {
        mpm: match cfg.core.mpm {
            Mpm::Event => maintenance::Mpm::Event,
            Mpm::Worker => maintenance::Mpm::Worker,
        },
        server_limit: p.server_limit,
        thread_limit: p.thread_limit,
        threads_per_child: p.threads_per_child,
        max_workers: p.max_workers,
        daemons_limit: p.active_daemons_limit,
        min_spare_threads: p.min_spare_threads,
        max_spare_threads: p.max_spare_threads,
        start_servers: p.start_servers,
        num_buckets: 1,
    }
    .effective()
}

/// How the parent's main loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Stop,
    GracefulStop,
}

struct Parent {
    opts: Options,
    cfg: ServerConfig,
    params: Params,
    listeners: Vec<(SocketAddr, TcpListener)>,
    scoreboard: Scoreboard<'static>,
    retained: Retained<Vec<ChildSlot>>,
    site: Arc<Site>,
    identity: Option<Identity>,
    signals: SignalPipe,
    config_generation: u32,
    pid_file: Option<PathBuf>,
    nofile: u64,
    /// Worker MPM with several listening sockets: the accept mutex, created before any fork.
    accept_mutex: Option<Arc<AcceptMutex>>,
    /// Event MPM: the accept turns' bell, when children can outnumber the CPUs.
    turns: Option<Arc<Turns>>,
}

fn log_message(m: &Message) {
    use maintenance::Level as L;
    match m.level() {
        L::Emerg | L::Alert | L::Crit | L::Error => log::error!("{m}"),
        L::Warn => log::warn!("{m}"),
        L::Notice | L::Info => log::info!("{m}"),
        L::Debug => log::debug!("{m}"),
        _ => log::trace!("{m}"),
    }
}

/// Run the server: parent and children. Returns the process exit code.
pub fn run(cfg: ServerConfig, opts: Options) -> i32 {
    crate::signals::ignore_sigpipe();
    let nofile = server::raise_nofile();
    let identity = if privileges::is_root() {
        match privileges::resolve(&cfg.core.user, &cfg.core.group) {
            Ok(id) => Some(id),
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
    } else {
        None
    };
    let listeners = match bind_all(&cfg, Vec::new()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eventmpm: {e}\nAH00015: Unable to open logs");
            return 1;
        }
    };
    let scoreboard = match map_scoreboard(&cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eventmpm: AH00004: unable to create or access scoreboard: {e}");
            return 1;
        }
    };
    let p = cfg.core.process();
    scoreboard
        .global()
        .init(p.server_limit, p.thread_limit, crate::site::now_unix());
    let site = match server::site(&cfg, 1, 0) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("eventmpm: {e}");
            return 1;
        }
    };
    let signals = match SignalPipe::install(&[
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGWINCH,
        libc::SIGCHLD,
    ]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eventmpm: cannot install signal handlers: {e}");
            return 1;
        }
    };
    let pid_file = cfg.pid_file();
    if let Some(path) = &pid_file
        && let Err(e) = write_pid_file(path)
    {
        eprintln!(
            "eventmpm: AH00099: could not create {}: {e}",
            path.display()
        );
        return 1;
    }
    let accept_mutex = match create_accept_mutex(&cfg, listeners.len(), identity.as_ref()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("eventmpm: {e}");
            log::error!("{e}");
            return 1;
        }
    };
    let params = params(&cfg);
    let cpus = crate::accept_turns::cpus();
    let turns = match Turns::new(params.server_limit as usize, cpus) {
        Ok(t) => t.map(Arc::new),
        Err(e) => {
            // Every child then accepts, as in httpd.
            log::warn!("accept turns unavailable, every child accepts: {e}");
            None
        }
    };
    log::debug!(
        "{cpus} CPU(s) for at most {} children: {}",
        params.server_limit,
        if turns.is_some() {
            "children take turns at accepting"
        } else {
            "every child accepts"
        }
    );
    let slots = vec![ChildSlot::EMPTY; params.server_limit as usize];
    let mut parent = Parent {
        opts,
        params,
        listeners,
        scoreboard,
        retained: Retained::new(slots),
        site,
        identity,
        signals,
        config_generation: 1,
        pid_file,
        nofile,
        cfg,
        accept_mutex,
        turns,
    };
    parent
        .scoreboard
        .global()
        .set_running_generation(parent.retained.generation());
    log::info!(
        "{}: {} configured -- resuming normal operations",
        server::resuming_id(parent.cfg.core.mpm),
        parent.cfg.server_software()
    );
    log::info!(
        "AH00094: Command line: '{}'",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    if parent.cfg.core.mpm == Mpm::Worker {
        log_accept_mutex(parent.accept_mutex.as_deref());
    }
    let startup = parent.retained.startup(&parent.params);
    parent.spawn(&startup);
    let ending = parent.main_loop();
    match ending {
        Ending::Stop => {
            parent.stop_all();
            log::info!("AH00491: caught SIGTERM, shutting down");
        }
        Ending::GracefulStop => {
            parent.graceful_stop_all();
            log::info!("AH00492: caught SIGWINCH, shutting down gracefully");
        }
    }
    if let Some(path) = &parent.pid_file {
        let _ = std::fs::remove_file(path);
    }
    0
}

/// Worker MPM: the accept mutex for this configuration, if it needs one (several listening
/// sockets, as httpd's `SAFE_ACCEPT`), with httpd's AH00023 on failure.
fn create_accept_mutex(
    cfg: &ServerConfig,
    listeners: usize,
    identity: Option<&Identity>,
) -> Result<Option<Arc<AcceptMutex>>, String> {
    if cfg.core.mpm != Mpm::Worker || listeners < 2 {
        return Ok(None);
    }
    let setting = cfg.core.mutex.accept_mutex();
    // A Mutex directive's directory as given (ServerRoot-relative); else DefaultRuntimeDir,
    // whose default is `logs` under ServerRoot.
    let dir = match &setting.dir {
        Some(d) => cfg.resolve(d.as_str()),
        None => cfg.runtime_relative(""),
    };
    AcceptMutex::create(setting, &dir, 0, identity.map(|i| (i.uid, i.gid)))
        .map(|m| Some(Arc::new(m)))
        .map_err(|e| {
            format!(
                "({}){e}: AH00023: Couldn't create the {} mutex (id 0) in {}",
                e.raw_os_error().unwrap_or(0),
                accept_mutex::TYPE,
                dir.display()
            )
        })
}

/// httpd's AH00294, at debug level as in httpd.
fn log_accept_mutex(m: Option<&AcceptMutex>) {
    log::debug!(
        "AH00294: Accept mutex: {} (default: {})",
        m.map_or("none", AcceptMutex::name),
        accept_mutex::mechanism_name(eventmpm_core::config::MutexMechanism::Default)
    );
}

fn write_pid_file(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
}

fn map_scoreboard(cfg: &ServerConfig) -> std::io::Result<Scoreboard<'static>> {
    match &cfg.core.score_board_file {
        None => board::map(server::layout(cfg)),
        Some(f) => board::map_file(&cfg.resolve(f.as_str()), server::layout(cfg)),
    }
}

/// Bind the configuration's listeners, reusing any already-open socket for the same address
/// (a restart never unbinds a port that stays configured, as httpd's `find_listeners`).
fn bind_all(
    cfg: &ServerConfig,
    old: Vec<(SocketAddr, TcpListener)>,
) -> std::io::Result<Vec<(SocketAddr, TcpListener)>> {
    let mut old: HashMap<SocketAddr, TcpListener> = old.into_iter().collect();
    let mut out = Vec::new();
    let fresh = server::bind_listeners_where(cfg, |addr| old.remove(addr))?;
    for (addr, l) in fresh {
        out.push((addr, l));
    }
    Ok(out)
}

impl Parent {
    /// Fork one child per slot in `slots`.
    fn spawn(&mut self, slots: &[u16]) {
        for &slot in slots {
            if let Err(e) = self.fork_child(slot) {
                // httpd: AH00481 "fork: Unable to fork new process", then it sleeps 10 s.
                log::error!("AH00481: fork: Unable to fork new process: {e}");
                std::thread::sleep(StdDuration::from_secs(10));
                return;
            }
        }
    }

    fn fork_child(&mut self, slot: u16) -> std::io::Result<()> {
        let generation = self.retained.generation();
        let Some(record) = self.scoreboard.process(slot as usize) else {
            return Err(std::io::Error::other(format!(
                "slot {slot} outside the scoreboard"
            )));
        };
        record.prepare(generation);
        let parent = std::process::id() as i32;
        // Until the child has its own signal pipe, a signal sent to it would run the inherited
        // handler and land in the parent's pipe (a graceful stop meant for a new child would
        // stop or restart the whole server): the child starts with them blocked, and unblocks
        // them once its pipe is installed (`child::run`).
        let mask = block_signals(&CHILD_SIGNALS);
        // SAFETY: the parent is single-threaded (it never spawns threads), so the child starts
        // in a consistent state; it only returns from `child_main` by exiting.
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            restore_signals(&mask);
        }
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            let code = self.child_main(slot as usize, generation, parent);
            // Skip the parent's exit handlers and destructors.
            // SAFETY: _exit ends the process at once.
            unsafe { libc::_exit(code) };
        }
        record.set_pid(pid);
        match self.retained.child_started(&self.params, slot, pid) {
            Ok(Some(m)) => log_message(&m),
            Ok(None) => {}
            Err(e) => {
                log::error!("{e}; stopping child {pid}");
                signal(pid, libc::SIGTERM);
            }
        }
        Ok(())
    }

    /// The child process's life after `fork` from `parent`. Returns its exit code.
    fn child_main(&mut self, slot: usize, generation: u32, parent: i32) -> i32 {
        for sig in [libc::SIGCHLD, libc::SIGUSR2] {
            crate::signals::set_default(sig);
        }
        // Attach to the accept mutex while still privileged (httpd's AH00280 on failure).
        let accept = match self.accept_mutex.as_ref().map(AcceptMutex::child_init) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                log::error!(
                    "({}){e}: AH00280: Couldn't initialize cross-process lock in child",
                    e.raw_os_error().unwrap_or(0)
                );
                return EXIT_CHILD_FATAL;
            }
        };
        if let Some(id) = &self.identity {
            let dumpable = self.cfg.core.core_dump_directory.is_some();
            if let Err(e) = privileges::drop_to(id, dumpable) {
                // The next child would fail the same way: httpd exits APEXIT_CHILDFATAL.
                log::error!(
                    "AH02155: setuid/setgid: unable to change to uid {} gid {}: {e}",
                    id.uid,
                    id.gid
                );
                return EXIT_CHILD_FATAL;
            }
        }
        // After the switch of user: changing credentials clears the parent-death signal.
        crate::sys::die_with_parent(libc::SIGTERM);
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } != parent {
            // The parent died before the signal was armed.
            return 0;
        }
        // The inherited sockets themselves, not duplicates: a child that stops closes its
        // listeners, and a duplicate left behind would keep the port accepting connections
        // nobody answers until the child exits.
        let listeners: Vec<TcpListener> = std::mem::take(&mut self.listeners)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        let mut params = server::child_params(&self.cfg, listeners, self.nofile);
        params.accept_mutex = accept;
        if params.mpm == Mpm::Event {
            params.turns = self.turns.clone();
        }
        let board = ChildBoard::new(self.scoreboard, slot, generation);
        match child::run(params, self.site.clone(), board, server::limits(&self.cfg)) {
            Ok(StopMode::Graceful | StopMode::Immediate) => 0,
            Err(e) => {
                log::error!("child could not start: {e}");
                EXIT_CHILD_SICK
            }
        }
    }

    /// Reap every child that has exited; returns whether any was.
    fn reap(&mut self) -> Option<Ending> {
        let mut ending = None;
        for _ in 0..self.params.server_limit as usize * 2 + 16 {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid writes the status we pass.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            let exit = if libc::WIFSIGNALED(status) {
                let sig = libc::WTERMSIG(status);
                let core = if libc::WCOREDUMP(status) {
                    " (core dumped)"
                } else {
                    ""
                };
                log::error!(
                    "AH00052: child pid {pid} exit signal {}{core}",
                    signal_name(sig)
                );
                ExitStatus::Signal(sig)
            } else {
                ExitStatus::Code(libc::WEXITSTATUS(status))
            };
            // Worker MPM: a stopping child whose slot another child took over owns no slot, but
            // may have left thread records behind (killed mid-connection).
            let evicted_from = self.retained.slot_of(pid).filter(|&s| {
                self.retained
                    .slot(s as usize)
                    .and_then(|e| e.evicted())
                    .is_some_and(|c| c.pid == pid)
            });
            let outcome = self.retained.child_exited(&self.params, pid, exit);
            for m in &outcome.messages {
                log_message(m);
            }
            if let Some(slot) = outcome.freed {
                self.clear_slot(slot as usize);
            } else if let Some(slot) = evicted_from {
                self.clear_threads(slot as usize, |owner| owner == pid);
            }
            if outcome.shutdown {
                ending = Some(Ending::Stop);
            }
            let respawn = outcome.spawn.clone();
            self.spawn(&respawn);
        }
        ending
    }

    fn clear_slot(&self, slot: usize) {
        if let Some(p) = self.scoreboard.process(slot) {
            p.release();
        }
        // A child waiting for its turn may be next now.
        if let Some(t) = &self.turns {
            t.ring();
        }
        // Worker MPM: the stopping child this one took the slot over from may still run, its
        // busy threads still writing their records; those are not ours to mark dead (a new
        // child would start threads over them).
        let evicted = self
            .retained
            .slot(slot)
            .and_then(|e| e.evicted())
            .map(|c| c.pid);
        self.clear_threads(slot, |owner| Some(owner) != evicted);
    }

    /// Mark dead the thread records of `slot` whose writer `owns` says is gone (a record that
    /// reads inconsistent was left mid-update by a dead writer).
    fn clear_threads(&self, slot: usize, owns: impl Fn(i32) -> bool) {
        let now = monotonic_now();
        for w in self.scoreboard.workers(slot) {
            if w.read().map_or(true, |r| owns(r.pid)) {
                w.take_over(now);
            }
        }
    }

    /// The loop: wait up to a second for a signal, reap, and on a quiet second run maintenance.
    fn main_loop(&mut self) -> Ending {
        let mut last_tick = StdInstant::now();
        loop {
            let ready = poll_readable(&self.signals, StdDuration::from_secs(1));
            if ready {
                for sig in self.signals.take() {
                    match sig {
                        libc::SIGTERM | libc::SIGINT => return Ending::Stop,
                        libc::SIGWINCH => return Ending::GracefulStop,
                        libc::SIGHUP => {
                            log::info!("AH00494: SIGHUP received.  Attempting to restart");
                            self.restart(false);
                        }
                        libc::SIGUSR1 => {
                            log::info!("AH00493: SIGUSR1 received.  Doing graceful restart");
                            self.restart(true);
                        }
                        _ => {}
                    }
                }
            }
            let before = self.retained.total_daemons();
            let ending = self.reap();
            // httpd's `times()` in its main loop: the parent's own CPU time and, once reaped,
            // its children's (their slots were emptied just now, so nothing counts twice).
            self.scoreboard
                .global()
                .set_cpu_times(crate::cputime::process_times());
            if let Some(end) = ending {
                return end;
            }
            let reaped = self.retained.total_daemons() < before;
            if !reaped && last_tick.elapsed() >= StdDuration::from_secs(1) {
                last_tick = StdInstant::now();
                let decision = self.retained.tick(&self.params, &View(self.scoreboard));
                for m in &decision.messages {
                    log_message(m);
                }
                if decision.shutdown {
                    return Ending::Stop;
                }
                self.spawn(&decision.spawn);
                for &slot in &decision.stop_gracefully {
                    if let Some(child) = self.retained.slot(slot as usize).and_then(|s| s.current())
                    {
                        signal(child.pid, libc::SIGWINCH);
                    }
                }
            }
        }
    }

    /// HUP (`graceful` false) or USR1 (`graceful` true).
    fn restart(&mut self, graceful: bool) {
        let mut warnings = Vec::new();
        let cfg = match config::reload(&self.opts, &self.cfg, &mut |w| warnings.push(w)) {
            Ok(c) => c,
            Err(e) => {
                // httpd would exit here; the running generation keeps serving instead.
                log::error!(
                    "configuration error on restart, keeping the running configuration: {e}"
                );
                return;
            }
        };
        for w in warnings {
            log::warn!("{w}");
        }
        let listeners = match bind_all(&cfg, std::mem::take(&mut self.listeners)) {
            Ok(l) => l,
            Err(e) => {
                log::error!("restart failed, keeping the running configuration: {e}");
                // The old sockets moved into bind_all; rebind the running configuration's.
                self.listeners = bind_all(&self.cfg, Vec::new()).unwrap_or_default();
                return;
            }
        };
        let site = match server::site(
            &cfg,
            self.config_generation + 1,
            self.retained.generation() + 1,
        ) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                log::error!("restart failed, keeping the running configuration: {e}");
                self.listeners = listeners;
                return;
            }
        };
        self.listeners = listeners;
        self.site = site;
        self.config_generation += 1;
        self.params = params(&cfg);
        self.cfg = cfg;
        for n in &self.cfg.notes {
            log::warn!("{n}");
        }
        // A new accept mutex per generation, as httpd (whose pconf cleanup removes the old one
        // before the new configuration creates its own: same lock file name). Old children
        // stop accepting on the restart, so they no longer need it.
        drop(self.accept_mutex.take());
        self.accept_mutex =
            create_accept_mutex(&self.cfg, self.listeners.len(), self.identity.as_ref())
                .unwrap_or_else(|e| {
                    log::error!("{e}");
                    None
                });
        if self.cfg.core.mpm == Mpm::Worker {
            log_accept_mutex(self.accept_mutex.as_deref());
        }
        if graceful {
            // Old children finish their work as "old gen"; new ones start as they leave.
            for (_, child) in self.retained.children() {
                signal(child.pid, libc::SIGUSR1);
            }
            self.retained.graceful_restart(&self.params);
            self.scoreboard
                .global()
                .set_running_generation(self.retained.generation());
        } else {
            self.stop_all();
            self.retained.restart(&self.params);
            self.scoreboard.reset(crate::site::now_unix());
            let p = self.cfg.core.process();
            self.scoreboard
                .global()
                .init(p.server_limit, p.thread_limit, crate::site::now_unix());
            self.scoreboard
                .global()
                .set_running_generation(self.retained.generation());
            let startup = self.retained.startup(&self.params);
            self.spawn(&startup);
        }
    }

    /// TERM every child and reclaim them (httpd's `ap_reclaim_child_processes(1)`).
    fn stop_all(&mut self) {
        self.reclaim(true);
    }

    /// WINCH: close the listeners, ask every child to stop gracefully, wait (bounded by
    /// GracefulShutdownTimeout), then stop what is left.
    fn graceful_stop_all(&mut self) {
        self.listeners.clear();
        for (_, child) in self.retained.children() {
            signal(child.pid, libc::SIGWINCH);
        }
        let start = StdInstant::now();
        let timeout = self.cfg.core.graceful_shutdown_timeout;
        loop {
            let _ = self.reap();
            let alive = self.retained.children().next().is_some();
            let again = poll_readable(&self.signals, StdDuration::ZERO)
                && self
                    .signals
                    .take()
                    .iter()
                    .any(|&s| matches!(s, libc::SIGTERM | libc::SIGINT | libc::SIGWINCH));
            let elapsed = Duration::from_millis(start.elapsed().as_millis() as u64);
            match maintenance::graceful_stop(elapsed, timeout, alive, again) {
                GracefulStop::Finish => break,
                GracefulStop::Wait(d) => {
                    // Woken early by SIGCHLD (the signal pipe), so the wait ends as soon as the
                    // last child does.
                    poll_readable(
                        &self.signals,
                        StdDuration::from_millis(d.as_millis().min(100)),
                    );
                }
            }
        }
        self.reclaim(true);
    }

    fn reclaim(&mut self, terminate: bool) {
        let mut r = Reclaim::new(terminate);
        let start = StdInstant::now();
        for _ in 0..Reclaim::MAX_ROUNDS {
            self.reap_quietly();
            if self.retained.children().next().is_none() {
                return;
            }
            let action = r.action(Duration::from_millis(start.elapsed().as_millis() as u64));
            let pids: Vec<i32> = self.retained.children().map(|(_, c)| c.pid).collect();
            for pid in pids {
                if let Some(m) = action.message(pid) {
                    log_message(&m);
                }
                match action.signal() {
                    Some(StopSignal::Term) => signal(pid, libc::SIGTERM),
                    Some(StopSignal::Kill) => signal(pid, libc::SIGKILL),
                    None => {}
                }
            }
            if action == maintenance::ReclaimAction::GiveUp {
                return;
            }
            std::thread::sleep(StdDuration::from_millis(r.sleep().as_millis()));
        }
    }

    /// Reap without maintenance's exit handling: the children are being stopped.
    fn reap_quietly(&mut self) {
        for _ in 0..self.params.server_limit as usize * 2 + 16 {
            let mut status: libc::c_int = 0;
            // SAFETY: waitpid writes the status we pass.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            if let Some(slot) = self.retained.child_reaped(pid) {
                self.clear_slot(slot as usize);
            }
        }
    }
}

/// The signals the parent routes to its pipe, which a child routes to its own.
const CHILD_SIGNALS: [libc::c_int; 6] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGUSR1,
    libc::SIGWINCH,
    libc::SIGCHLD,
];

/// Block `signals` for the calling thread; returns the previous mask.
fn block_signals(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, initialised by sigemptyset before use; pthread_sigmask
    // only reads `set` and writes `old`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    }
}

/// Put back a mask [`block_signals`] returned.
fn restore_signals(old: &libc::sigset_t) {
    // SAFETY: `old` is a mask pthread_sigmask filled in.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, old, std::ptr::null_mut());
    }
}

/// Wait until `pipe` is readable or `limit` passes.
fn poll_readable(pipe: &SignalPipe, limit: StdDuration) -> bool {
    let fd = pipe.fd();
    let mut fds = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::time::Timespec {
        tv_sec: limit.as_secs() as _,
        tv_nsec: limit.subsec_nanos() as _,
    };
    matches!(rustix::event::poll(&mut fds, Some(&ts)), Ok(n) if n > 0)
}

/// Signal a child the parent forked itself.
fn signal(pid: i32, sig: libc::c_int) {
    if pid > 0 {
        // SAFETY: kill has no memory-safety preconditions; `pid` is one of our children.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSEGV => "Segmentation fault".into(),
        libc::SIGABRT => "Aborted".into(),
        libc::SIGKILL => "Killed".into(),
        libc::SIGTERM => "Terminated".into(),
        libc::SIGBUS => "Bus error".into(),
        libc::SIGILL => "Illegal instruction".into(),
        libc::SIGFPE => "Floating point exception".into(),
        n => format!("{n}"),
    }
}
