//! The device's configuration: httpd.conf directives, read by the core's tokenizer and
//! [`Config::set`], with the same messages as the Unix server. The board's build script loads
//! the firmware's text with [`load`] ([`crate::build::check_config`]): an error stops the build
//! with `httpd.conf:LINE: message`, and the resulting [`Settings`] are compiled in
//! ([`crate::build::settings_source`]) and set once at boot. [`load`] is `no_std` too, for a
//! firmware that reads its text at boot (from a flash partition, say), where an error stops
//! the boot; nothing is ever read mid-request.
//!
//! Directives that make sense on a device: `Listen` (its port), `KeepAlive`,
//! `KeepAliveTimeout`, `MaxKeepAliveRequests`, `Timeout`, `RequestReadTimeout`,
//! `LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`, `LimitRequestBody`,
//! `ThreadsPerChild` (worker steps per poll), `AsyncRequestWorkerFactor`,
//! `HttpProtocolOptions`, `ServerName`,
//! `ServerAdmin`, and `<IfModule>` (true for the event MPM and mod_status). Directives the Unix
//! server knows but that mean nothing here (processes, users, files) are refused by name, and
//! unknown ones with httpd's "Invalid command" text. The number of connection slots is a
//! compile-time constant of the board (its RAM is fixed when it is linked).
//!
//! [`Config::set`]: eventmpm_core::config::Config::set

use core::fmt;

use eventmpm_core::admission::Factor;
use eventmpm_core::config::tokenizer::{LineKind, MAX_LINE_LEN, Tokenizer};
use eventmpm_core::config::{Applied, Config, Context};
use eventmpm_core::conn::KeepAliveSettings;
use eventmpm_core::http1::{Limits, ProtocolOptions};
use eventmpm_core::table;

/// Longest `ServerName` / `ServerAdmin` kept.
pub const MAX_NAME_LEN: usize = 64;

/// Most worker steps per poll (`ThreadsPerChild`): the loop is single-threaded, so more steps
/// only make one poll longer.
pub const MAX_WORKER_STEPS: u32 = 64;

/// What the runtime runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The TCP port to serve (`Listen`; default 80).
    pub port: u16,
    /// Timeouts for the connection table.
    pub table: table::Settings,
    /// Keep-alive rules for responses.
    pub keep_alive: KeepAliveSettings,
    /// Request limits.
    pub limits: Limits,
    /// `HttpProtocolOptions`.
    pub protocol: ProtocolOptions,
    /// Requests answered per poll at most (`ThreadsPerChild`, 1 to [`MAX_WORKER_STEPS`]).
    pub worker_steps: u32,
    /// `AsyncRequestWorkerFactor`.
    pub factor: Factor,
    /// `ServerName` (default `eventmpm`).
    pub server_name: heapless::String<MAX_NAME_LEN>,
    /// `ServerAdmin`, shown on error pages.
    pub server_admin: heapless::String<MAX_NAME_LEN>,
}

impl Settings {
    /// The settings of an empty configuration: httpd's defaults, port 80, two worker steps.
    pub fn defaults() -> Settings {
        from_core(&Config::new(), 80, 2)
    }
}

fn from_core(c: &Config, port: u16, worker_steps: u32) -> Settings {
    let mut server_name = heapless::String::new();
    let _ = server_name.push_str("eventmpm");
    let mut server_admin = heapless::String::new();
    let _ = server_admin.push_str("[no address given]");
    Settings {
        port,
        table: table::Settings {
            keep_alive_timeout: c.keep_alive_timeout(),
            timeout: c.timeout(),
            head: c.head_timeout(),
            handshake: c.handshake_timeout(),
        },
        keep_alive: c.keep_alive_settings(),
        limits: c.limits(),
        protocol: c.http_protocol_options.options(),
        worker_steps,
        factor: c.async_request_worker_factor,
        server_name,
        server_admin,
    }
}

/// Longest error message kept (longer ones are cut).
pub const MAX_MESSAGE_LEN: usize = 320;

/// Why a configuration text was refused; printed as `file:line: message` by the caller, with
/// the Unix server's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The line the error belongs to.
    pub line: u32,
    /// The message alone.
    pub message: heapless::String<MAX_MESSAGE_LEN>,
}

impl LoadError {
    fn new(line: u32, message: impl fmt::Display) -> LoadError {
        let mut m = heapless::String::new();
        // A message longer than the bound is cut; the line number still points at it.
        let _ = fmt::write(&mut Truncating(&mut m), format_args!("{message}"));
        LoadError { line, message: m }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

struct Truncating<'a>(&'a mut heapless::String<MAX_MESSAGE_LEN>);

impl fmt::Write for Truncating<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if self.0.push(c).is_err() {
                break;
            }
        }
        Ok(())
    }
}

fn unknown(name: &str) -> impl fmt::Display + '_ {
    Unknown(name)
}

struct Unknown<'a>(&'a str);

impl fmt::Display for Unknown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Invalid command '{}', perhaps misspelled or defined by a module not included in the server configuration",
            self.0
        )
    }
}

struct NotOnDevice<'a>(&'a str);

impl fmt::Display for NotOnDevice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} has no meaning in the embedded runtime", self.0)
    }
}

/// Modules `<IfModule>` finds in this runtime.
const MODULES: [&str; 6] = [
    "mpm_event_module",
    "event.c",
    "mod_mpm_event.c",
    "status_module",
    "mod_status.c",
    "core.c",
];

/// Core directives that apply on a device; the core's other directives are refused by name.
const APPLIED: [&str; 13] = [
    "Listen",
    "KeepAlive",
    "KeepAliveTimeout",
    "MaxKeepAliveRequests",
    "Timeout",
    "RequestReadTimeout",
    "LimitRequestLine",
    "LimitRequestFieldSize",
    "LimitRequestFields",
    "LimitRequestBody",
    "ThreadsPerChild",
    "AsyncRequestWorkerFactor",
    "HttpProtocolOptions",
];

/// Read `text`. `buf` is the tokenizer's line buffer (8 KiB; the caller decides where it lives:
/// at boot it can be memory that is not yet in use).
// No heap to box the message in; `load` runs once, at build time or boot.
#[allow(clippy::result_large_err)]
pub fn load(text: &str, buf: &mut [u8; MAX_LINE_LEN]) -> Result<Settings, LoadError> {
    let mut config = Config::new();
    let mut server_name: heapless::String<MAX_NAME_LEN> = heapless::String::new();
    let mut server_admin: heapless::String<MAX_NAME_LEN> = heapless::String::new();
    let mut tok = Tokenizer::new(text);
    // Bounded: every call consumes at least one line of `text`.
    while let Some(line) = tok.next_line(buf) {
        let line = line.map_err(|e| LoadError::new(e.line, &e.kind))?;
        let number = line.number;
        match line.kind {
            LineKind::SectionOpen if line.name.eq_ignore_ascii_case("IfModule") => {
                let arg = line.args.first().copied().unwrap_or("");
                let (negate, module) = match arg.strip_prefix('!') {
                    Some(m) => (true, m),
                    None => (false, arg),
                };
                let present = MODULES.iter().any(|m| m.eq_ignore_ascii_case(module));
                if present == negate {
                    tok.skip_section()
                        .map_err(|e| LoadError::new(e.line, &e.kind))?;
                }
            }
            LineKind::SectionOpen => {
                return Err(LoadError::new(number, NotOnDevice(line.name)));
            }
            LineKind::SectionClose => {}
            LineKind::Directive => {
                let name = line.name;
                let first = line.args.first().copied().unwrap_or("");
                let is_name = name.eq_ignore_ascii_case("ServerName");
                if is_name || name.eq_ignore_ascii_case("ServerAdmin") {
                    // ServerName's port, if any, is not ours to use.
                    let value = if is_name {
                        first.split(':').next().unwrap_or("")
                    } else {
                        first
                    };
                    let slot = if is_name {
                        &mut server_name
                    } else {
                        &mut server_admin
                    };
                    slot.clear();
                    if line.args.len() != 1 || value.is_empty() || slot.push_str(value).is_err() {
                        return Err(LoadError::new(
                            number,
                            "ServerName and ServerAdmin take one value of at most 64 bytes",
                        ));
                    }
                    continue;
                }
                if !APPLIED.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                    let known = !matches!(
                        Config::new().set(name, &line.args, Context::Server),
                        Ok(Applied::NotMine)
                    );
                    return Err(if known {
                        LoadError::new(number, NotOnDevice(name))
                    } else {
                        LoadError::new(number, unknown(name))
                    });
                }
                if let Err(e) = config.set(name, &line.args, Context::Server) {
                    return Err(LoadError::new(number, e));
                }
                if name.eq_ignore_ascii_case("Listen") && config.listeners.len() > 1 {
                    return Err(LoadError::new(
                        number,
                        "the embedded runtime listens on one port",
                    ));
                }
                if name.eq_ignore_ascii_case("ThreadsPerChild")
                    && !(1..=MAX_WORKER_STEPS as i32).contains(&config.threads_per_child)
                {
                    return Err(LoadError::new(
                        number,
                        "ThreadsPerChild (worker steps per poll) must be 1 to 64",
                    ));
                }
            }
        }
    }
    tok.finish().map_err(|e| LoadError::new(e.line, &e.kind))?;
    let port = config.listeners.first().map_or(80, |l| l.port);
    // httpd's default of 25 threads means nothing for one loop: two steps unless configured.
    let steps = if config.threads_per_child == Config::new().threads_per_child {
        2
    } else {
        config.threads_per_child as u32
    };
    let mut settings = from_core(&config, port, steps);
    if !server_name.is_empty() {
        settings.server_name = server_name;
    }
    if !server_admin.is_empty() {
        settings.server_admin = server_admin;
    }
    Ok(settings)
}
