//! `server-status`: the scoreboard as mod_status's HTML page, its `?auto` text, and JSON.
//!
//! The renderers write into any [`core::fmt::Write`] the caller owns (a fixed buffer, a
//! `heapless::String`, a socket adapter) and allocate nothing. Everything they need that is not in
//! the scoreboard comes in a [`ServerInfo`] the runtime fills in per request.
//!
//! - [`render_auto`] is byte-compatible with httpd 2.4.71's `?auto` (same keys, order, conditions
//!   and number formats, down to APR's `%g`), so scrapers such as apache_exporter work unchanged.
//!   Only the values differ: ours are exact when printed, where httpd's connection counts lag.
//! - [`render_html`] follows mod_status's page section by section.
//! - [`render_json`] is our own schema, documented on the function.
//! - [`render_prometheus`] gives the metrics apache_exporter derives from `?auto`, under its names.
//!
//! Every count is computed from the records at the time of the request (see
//! [`crate::scoreboard`]'s counting rules). A record that stayed mid-update is shown by its status
//! alone and its counters left out.

mod auto;
mod escape;
mod html;
mod json;
mod printf;
mod prometheus;
mod summary;
mod units;

pub use auto::render_auto;
pub use html::render_html;
pub use json::render_json;
pub use prometheus::{CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE, render_prometheus};

use crate::scoreboard::CountRules;
use crate::time::Instant;

/// What the query string asks for. httpd matches each option as a substring anywhere in the
/// query (`?autox` is `auto`), and so do we.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Query {
    /// `auto`: the machine-readable text format.
    pub auto: bool,
    /// `notable`: the HTML page without tables for the per-worker details.
    pub notable: bool,
    /// `refresh[=N]`: the page asks to be reloaded every N seconds (missing, unparsable or below
    /// 1 gives 10, as httpd).
    pub refresh: Option<u64>,
    /// `json` (ours): the JSON format.
    pub json: bool,
    /// `prometheus` (ours): the metrics apache_exporter derives from `?auto`, in Prometheus'
    /// text format.
    pub prometheus: bool,
}

/// The response format a [`Query`] selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// The HTML page.
    Html,
    /// `?auto` text.
    Auto,
    /// `?json`.
    Json,
    /// `?prometheus`.
    Prometheus,
}

impl Format {
    /// The `Content-Type` to send (httpd's, for the two formats it has).
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=ISO-8859-1",
            Format::Auto => "text/plain; charset=ISO-8859-1",
            Format::Json => "application/json",
            Format::Prometheus => prometheus::CONTENT_TYPE,
        }
    }
}

impl Query {
    /// Parses a query string (without the `?`).
    pub fn parse(query: &str) -> Query {
        let refresh = query.find("refresh").map(|at| {
            let after = query.get(at + "refresh".len()..).unwrap_or_default();
            let seconds = after.strip_prefix('=').map(atol).unwrap_or(0);
            if seconds < 1 { 10 } else { seconds as u64 }
        });
        Query {
            auto: query.contains("auto"),
            notable: query.contains("notable"),
            refresh,
            json: query.contains("json"),
            prometheus: query.contains("prometheus"),
        }
    }

    /// The format to answer with; `prometheus` wins over `json`, which wins over `auto`.
    pub const fn format(&self) -> Format {
        if self.prometheus {
            Format::Prometheus
        } else if self.json {
            Format::Json
        } else if self.auto {
            Format::Auto
        } else {
            Format::Html
        }
    }
}

/// C's `atol`: optional leading whitespace and sign, then decimal digits up to the first other
/// character; saturates instead of overflowing.
fn atol(text: &str) -> i64 {
    let text = text.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..).unwrap_or_default()),
        Some(b'+') => (false, text.get(1..).unwrap_or_default()),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        let digit = i64::from(b - b'0');
        value = value.saturating_mul(10).saturating_add(digit);
    }
    if negative {
        value.saturating_neg()
    } else {
        value
    }
}

/// What the runtime tells the renderers besides the scoreboard (httpd reads these from its
/// configuration, the request and the OS).
#[derive(Clone, Copy, Debug)]
pub struct ServerInfo<'a> {
    /// The server name for this request (`ap_get_server_name`): the first line of `?auto` and
    /// the page heading.
    pub server_name: &'a str,
    /// The local address the request came in on (`(via 127.0.0.1)`).
    pub local_ip: &'a str,
    /// The server description (`ServerVersion:`), e.g. `eventmpm/0.1.0 (Unix)`.
    pub server_version: &'a str,
    /// The MPM's name (`ServerMPM:`): `event` or `worker`.
    pub mpm: &'a str,
    /// When the binary was built (`Server Built:`), e.g. `2026-05-06T09:14:12`.
    pub built: &'a str,
    /// The current wall-clock time, in Unix seconds.
    pub now: i64,
    /// The current time on the monotonic clock the worker records use (for `SS`).
    pub now_monotonic: Instant,
    /// Seconds east of UTC for the times shown (0 for UTC); the core has no time-zone database.
    pub utc_offset: i32,
    /// The zone's abbreviation for the times shown (`%Z`), e.g. `UTC`.
    pub time_zone: &'a str,
    /// The configuration generation (`ParentServerConfigGeneration`): 1 at start, +1 per reload.
    pub config_generation: u32,
    /// The MPM generation (`ParentServerMPMGeneration`): 0 at start, +1 per restart.
    pub mpm_generation: u32,
    /// The 1, 5 and 15 minute load averages; -1 where the OS has none (httpd's convention).
    pub load: [f32; 3],
    /// CPU clock ticks per second (`sysconf(_SC_CLK_TCK)`), the unit of the recorded CPU times.
    pub clock_ticks: u32,
    /// `ThreadsPerChild`.
    pub threads_per_child: u32,
    /// The active daemons limit (MaxRequestWorkers / ThreadsPerChild).
    pub max_servers: u32,
    /// The MPM serves connections asynchronously (event): adds the per-process table and the
    /// connection keys.
    pub is_async: bool,
    /// `ExtendedStatus On`: adds the traffic totals and the per-worker table.
    #[doc(alias = "ExtendedStatus")]
    pub extended_status: bool,
}

impl ServerInfo<'_> {
    /// The counting rules these settings imply.
    pub const fn rules(&self) -> CountRules {
        CountRules {
            mpm_generation: self.mpm_generation,
            max_servers: self.max_servers,
            threads_per_child: self.threads_per_child,
        }
    }

    /// Clock ticks per second as httpd's `float tick` (0 is read as 100, the usual value, so no
    /// division yields infinity).
    fn tick(&self) -> f32 {
        if self.clock_ticks == 0 {
            100.0
        } else {
            self.clock_ticks as f32
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
