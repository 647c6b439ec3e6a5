//! The error log: the `log` crate's records written in httpd's ErrorLog format.
//!
//! ```text
//! [Mon Nov 23 15:07:00.123456 2026] [mpm_event:notice] [pid 1234:tid 5678] AH00489: ...
//! ```
//!
//! `ErrorLog` names a file (relative to ServerRoot) or `stderr` (our default when no
//! configuration file is used, so a newcomer sees messages in the terminal); `LogLevel` filters.
//! Each record is one `write(2)` of a whole line to a file opened with `O_APPEND`, so lines from
//! the parent and every child interleave whole, as httpd's do.
//!
//! A `<VirtualHost>` with its own `ErrorLog` or `LogLevel` ([`set_hosts`]) gets the records a
//! thread logs while it answers one of that host's requests ([`set_current_host`]); records
//! logged outside a request (start-up, connections) go to the main server's log.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::logformat::local_time;

/// Where error-log lines go.
#[derive(Debug)]
pub enum Target {
    /// The process's standard error.
    Stderr,
    /// An append-only file.
    File(File),
}

/// httpd's LogLevel names, most severe first.
pub const LEVELS: [&str; 8] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
];

/// Map an httpd LogLevel (`warn`, `info`, `trace1`…`trace8`) to the `log` crate's filter.
pub fn parse_level(s: &str) -> Result<log::LevelFilter, String> {
    let s = s.to_ascii_lowercase();
    Ok(match s.as_str() {
        "emerg" | "alert" | "crit" | "error" => log::LevelFilter::Error,
        "warn" => log::LevelFilter::Warn,
        // `notice` carries httpd's start-up and shutdown lines; log's Info is the nearest.
        "notice" | "info" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        t if t.starts_with("trace") && t[5..].parse::<u8>().is_ok_and(|n| (1..=8).contains(&n)) => {
            log::LevelFilter::Trace
        }
        _ => {
            return Err("LogLevel requires level keyword: one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8".to_string());
        }
    })
}

/// Open `path` for appending (created if missing).
pub fn open(path: &Path) -> std::io::Result<Target> {
    Ok(Target::File(
        OpenOptions::new().create(true).append(true).open(path)?,
    ))
}

struct Logger {
    target: Target,
    module: &'static str,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The main server's LogLevel (a `log::LevelFilter` as `usize`); `log::max_level` is the
/// highest of it and the hosts'.
static MAIN_LEVEL: AtomicUsize = AtomicUsize::new(log::LevelFilter::Warn as usize);

/// A virtual host's own error log and level: `None` for a host that sets neither.
#[derive(Debug)]
pub struct HostLog {
    /// Its ErrorLog; `None`: the main server's.
    pub target: Option<Target>,
    /// Its LogLevel (the main server's when it sets none).
    pub level: log::LevelFilter,
}

/// Per host, numbered as the site's hosts (0 is the main server, never here).
static HOSTS: RwLock<Vec<Option<HostLog>>> = RwLock::new(Vec::new());

thread_local! {
    /// The host whose request this thread is answering (0: none, or the main server).
    // clippy on illumos asks for the `const` this initializer already has (a false positive
    // of missing_const_for_thread_local where the target's thread locals are emulated).
    #[allow(clippy::missing_const_for_thread_local)]
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Install the process-wide logger. The first call wins; later calls (a child re-initialising
/// after fork) are ignored, since the inherited logger already writes where it should.
pub fn install(target: Target, level: log::LevelFilter, module: &'static str) {
    if LOGGER.set(Logger { target, module }).is_ok() {
        let logger = LOGGER.get().expect("just set");
        let _ = log::set_logger(logger);
    }
    MAIN_LEVEL.store(level as usize, Ordering::Relaxed);
    log::set_max_level(level);
}

/// Give the virtual hosts their own logs and levels (index 0, the main server, is ignored),
/// replacing those of a previous configuration.
pub fn set_hosts(hosts: Vec<Option<HostLog>>) {
    let main = level_from(MAIN_LEVEL.load(Ordering::Relaxed));
    let max = hosts
        .iter()
        .flatten()
        .map(|h| h.level)
        .fold(main, std::cmp::max);
    *HOSTS.write().unwrap_or_else(|e| e.into_inner()) = hosts;
    log::set_max_level(max);
}

/// This thread now answers a request of host `host` (0: the main server, or no request).
pub fn set_current_host(host: usize) {
    CURRENT.with(|c| c.set(host));
}

fn level_from(n: usize) -> log::LevelFilter {
    [
        log::LevelFilter::Off,
        log::LevelFilter::Error,
        log::LevelFilter::Warn,
        log::LevelFilter::Info,
        log::LevelFilter::Debug,
        log::LevelFilter::Trace,
    ]
    .get(n)
    .copied()
    .unwrap_or(log::LevelFilter::Warn)
}

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let host = CURRENT.with(Cell::get);
        if host != 0 {
            let hosts = HOSTS.read().unwrap_or_else(|e| e.into_inner());
            if let Some(Some(h)) = hosts.get(host) {
                if r.level() <= h.level {
                    self.write(h.target.as_ref().unwrap_or(&self.target), r);
                }
                return;
            }
        }
        if r.level() <= level_from(MAIN_LEVEL.load(Ordering::Relaxed)) {
            self.write(&self.target, r);
        }
    }

    fn flush(&self) {}
}

impl Logger {
    /// Write `r` as one line to `target`.
    fn write(&self, target: &Target, r: &log::Record<'_>) {
        let level = match r.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warn",
            log::Level::Info => "notice",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace1",
        };
        let mut line = Vec::with_capacity(160);
        let _ = writeln!(
            line,
            "{} [{}:{}] [pid {}:tid {}] {}",
            timestamp(),
            self.module,
            level,
            std::process::id(),
            crate::sys::thread_id(),
            r.args()
        );
        match target {
            Target::Stderr => {
                let _ = std::io::stderr().write_all(&line);
            }
            Target::File(f) => {
                let _ = (&*f).write_all(&line);
            }
        }
    }
}

/// `[Mon Nov 23 15:07:00.123456 2026]` in local time.
fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (dt, _) = local_time(now.as_secs() as i64);
    format!(
        "[{} {} {:02} {:02}:{:02}:{:02}.{:06} {}]",
        dt.weekday_name(),
        dt.month_name(),
        dt.day,
        dt.hour,
        dt.minute,
        dt.second,
        now.subsec_micros(),
        dt.year
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(parse_level("warn"), Ok(log::LevelFilter::Warn));
        assert_eq!(parse_level("INFO"), Ok(log::LevelFilter::Info));
        assert_eq!(parse_level("trace8"), Ok(log::LevelFilter::Trace));
        assert!(parse_level("trace9").is_err());
        assert!(parse_level("loud").is_err());
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        // [Www Mmm dd hh:mm:ss.uuuuuu yyyy]
        assert_eq!(t.len(), 33, "{t}");
        assert!(t.starts_with('[') && t.ends_with(']'));
    }
}
