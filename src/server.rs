//! Starting a server from a checked configuration: listening sockets, the scoreboard, the site,
//! and the sizes a child runs with.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use eventmpm_core::admission::Admission;
use eventmpm_core::config::{Mpm, ProcessModel};
use eventmpm_core::http1::Limits;
use eventmpm_core::scoreboard::{Layout, Scoreboard};
use eventmpm_core::table::Settings;

use crate::board::{self, Board};
use crate::child::{self, ChildParams, StopMode};
use crate::config::ServerConfig;
use crate::net::{self, ListenSpec};
use crate::site::{Site, StatusInfo};

/// When the binary was built, in httpd's `__DATE__ __TIME__` form.
pub const BUILT: &str = env!("EVENTMPM_BUILT");

/// The `Server version:` line's value without ServerTokens trimming.
pub fn version() -> String {
    format!("eventmpm/{} (Unix)", env!("CARGO_PKG_VERSION"))
}

/// The MPM's name as server-status and `-V` print it.
pub fn mpm_name(mpm: Mpm) -> &'static str {
    match mpm {
        Mpm::Event => "event",
        Mpm::Worker => "worker",
    }
}

/// The module name error-log lines carry (`[mpm_event:notice]`).
pub fn log_module(mpm: Mpm) -> &'static str {
    match mpm {
        Mpm::Event => "mpm_event",
        Mpm::Worker => "mpm_worker",
    }
}

/// The message id of "… configured -- resuming normal operations": event's AH00489,
/// worker's AH00292.
pub fn resuming_id(mpm: Mpm) -> &'static str {
    match mpm {
        Mpm::Event => "AH00489",
        Mpm::Worker => "AH00292",
    }
}

/// Bind every `Listen`. A wildcard address binds IPv6's (dual-stack), falling back to IPv4's
/// where the host has no IPv6.
pub fn bind_listeners(cfg: &ServerConfig) -> std::io::Result<Vec<TcpListener>> {
    Ok(bind_listeners_where(cfg, |_| None)?
        .into_iter()
        .map(|(_, l)| l)
        .collect())
}

/// Bind every `Listen`, taking an already-open socket from `reuse` when it has one for the
/// address (a restart keeps the ports it still serves bound, as httpd does).
pub fn bind_listeners_where(
    cfg: &ServerConfig,
    mut reuse: impl FnMut(&SocketAddr) -> Option<TcpListener>,
) -> std::io::Result<Vec<(SocketAddr, TcpListener)>> {
    let mut out = Vec::new();
    for l in &cfg.core.listeners {
        let spec = |addr: SocketAddr| ListenSpec {
            addr,
            backlog: cfg.core.listen_backlog,
            send_buffer: cfg.core.send_buffer_size,
            receive_buffer: cfg.core.receive_buffer_size,
        };
        let candidates: Vec<SocketAddr> = match l.address {
            Some(ip) => vec![SocketAddr::new(ip, l.port)],
            None => net::wildcard(l.port).to_vec(),
        };
        if let Some((addr, sock)) = candidates.iter().find_map(|a| reuse(a).map(|s| (*a, s))) {
            out.push((addr, sock));
            continue;
        }
        let mut last_err = None;
        let mut bound = None;
        for addr in &candidates {
            match net::bind(&spec(*addr)) {
                Ok(sock) => {
                    bound = Some((*addr, sock));
                    break;
                }
                Err(e) => last_err = Some((*addr, e)),
            }
        }
        let (addr, sock) = match bound {
            Some(b) => b,
            None => {
                let (addr, e) = last_err.expect("at least one candidate");
                // httpd: "(98)Address already in use: AH00072: make_sock: could not bind to
                // address [::]:80".
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("make_sock: could not bind to address {addr}: {e}"),
                ));
            }
        };
        // Linux: wake the listener only once a request's first bytes have arrived (httpd's
        // default AcceptFilter http data).
        let _ = crate::sys::set_defer_accept(std::os::fd::AsFd::as_fd(&sock), 30);
        out.push((addr, sock));
    }
    Ok(out)
}

/// Raise the open-file limit to its hard maximum (nginx's `worker_rlimit_nofile`, done by
/// default): every connection is a descriptor.
pub fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}

/// The connection table's capacity for one child: what admission can ever let in (every worker
/// idle: ThreadsPerChild × (1 + factor)), half as much again for connections in lingering close
/// (which admission does not count), within the descriptors the process may open.
pub fn table_capacity(cfg: &ServerConfig, nofile: u64) -> usize {
    let p = cfg.core.process();
    let tpc = p.threads_per_child;
    let admitted = tpc as u64 + cfg.core.async_request_worker_factor.scale(tpc) as u64;
    let wanted = (admitted + admitted / 2).max(64);
    // Leave room for listeners, log files, the poller, the odd file being served and the
    // open-file cache's descriptors.
    let fds = nofile.saturating_sub(
        64 + 2 * tpc as u64
            + cfg.core.listeners.len() as u64
            + cfg.open_file_cache.capacity(nofile) as u64,
    );
    wanted.min(fds).max(1) as usize
}

/// The sizes and timeouts a child runs with.
pub fn child_params(cfg: &ServerConfig, listeners: Vec<TcpListener>, nofile: u64) -> ChildParams {
    let p: ProcessModel = cfg.core.process();
    let core = &cfg.core;
    let head = core.head_timeout();
    let buffer_size =
        (core.limit_request_line as usize + core.limit_request_field_size as usize + 512)
            .clamp(16 * 1024, 1 << 20)
            .next_multiple_of(4096);
    let capacity = table_capacity(cfg, nofile);
    let max_free_buffers = match core.max_mem_free_kb {
        0 => capacity,
        kb => (kb as usize * 1024 / buffer_size).max(p.threads_per_child as usize),
    };
    ChildParams {
        listeners,
        threads: p.threads_per_child,
        capacity,
        admission: Admission::new(p.threads_per_child, core.async_request_worker_factor),
        table: Settings {
            keep_alive_timeout: core.keep_alive_timeout,
            timeout: core.timeout,
            head,
            handshake: core.handshake_timeout(),
        },
        max_connections: core.max_connections_per_child,
        stack_size: core.thread_stack_size.min(usize::MAX as u64) as usize,
        buffer_size,
        max_free_buffers,
        mpm: cfg.core.mpm,
        accept_mutex: None,
        turns: None,
    }
}

/// The request limits.
pub fn limits(cfg: &ServerConfig) -> Limits {
    cfg.core.limits()
}

/// The scoreboard's layout for this configuration.
pub fn layout(cfg: &ServerConfig) -> Layout {
    let p = cfg.core.process();
    Layout::new(p.server_limit, p.thread_limit)
}

/// The site a child serves, with the status page's constants; the virtual hosts' own error
/// logs are opened and installed ([`crate::errorlog::set_hosts`]).
pub fn site(
    cfg: &ServerConfig,
    config_generation: u32,
    mpm_generation: u32,
) -> std::io::Result<Site> {
    let p = cfg.core.process();
    let mut hosts = vec![None];
    for v in &cfg.vhosts {
        let target = match &v.error_log {
            Some(path) if *path != cfg.error_log => {
                Some(crate::errorlog::open(path).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "AH00091: could not open error log file {}: {e}",
                            path.display()
                        ),
                    )
                })?)
            }
            _ => None,
        };
        hosts.push(
            (target.is_some() || v.log_level.is_some()).then(|| crate::errorlog::HostLog {
                target,
                level: v.log_level.unwrap_or(cfg.log_level),
            }),
        );
    }
    crate::errorlog::set_hosts(hosts);
    Site::new(
        cfg,
        StatusInfo {
            mpm: mpm_name(cfg.core.mpm),
            built: BUILT,
            config_generation,
            mpm_generation,
            threads_per_child: p.threads_per_child,
            max_servers: p.active_daemons_limit,
            is_async: cfg.core.mpm == Mpm::Event,
        },
    )
}

/// Detach from the terminal for `-k start`, as httpd does: fork, let the parent exit, start a new
/// session, and point the standard streams at /dev/null (the error log is a file).
pub fn daemonize() -> std::io::Result<()> {
    // SAFETY: single-threaded here (before any child or thread exists); the parent half exits
    // at once without running destructors.
    unsafe {
        match libc::fork() {
            -1 => return Err(std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors; `null` stays open for the call.
        unsafe {
            libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd);
        }
    }
    Ok(())
}

/// `-X`: one child in the foreground, no parent. Returns the process exit status.
pub fn run_single(cfg: &ServerConfig) -> i32 {
    crate::signals::ignore_sigpipe();
    let nofile = raise_nofile();
    let listeners = match bind_listeners(cfg) {
        Ok(l) => l,
        Err(e) => {
            log::error!("{e}");
            eprintln!("eventmpm: {e}\nAH00015: Unable to open logs");
            return 1;
        }
    };
    let scoreboard: Scoreboard<'static> = match board::map(layout(cfg)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eventmpm: cannot create the scoreboard: {e}");
            return 1;
        }
    };
    let now = crate::site::now_unix();
    let p = cfg.core.process();
    scoreboard
        .global()
        .init(p.server_limit, p.thread_limit, now);
    scoreboard.global().set_running_generation(0);
    if let Some(proc0) = scoreboard.process(0) {
        proc0.prepare(0);
        proc0.set_pid(std::process::id() as i32);
    }
    let site = match site(cfg, 1, 0) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("eventmpm: {e}");
            return 1;
        }
    };
    let params = child_params(cfg, listeners, nofile);
    log::info!(
        "{}: {} configured -- resuming normal operations",
        resuming_id(cfg.core.mpm),
        cfg.server_software()
    );
    log::debug!(
        "child sized for {} connections, {} workers, {}-byte buffers",
        params.capacity,
        params.threads,
        params.buffer_size
    );
    match child::run(params, site, Board::new(scoreboard, 0, 0), limits(cfg)) {
        Ok(StopMode::Immediate) => {
            log::info!("AH00491: caught SIGTERM, shutting down");
            0
        }
        Ok(StopMode::Graceful) => {
            log::info!("AH00492: caught SIGWINCH, shutting down gracefully");
            0
        }
        Err(e) => {
            log::error!("child failed: {e}");
            eprintln!("eventmpm: {e}");
            1
        }
    }
}
