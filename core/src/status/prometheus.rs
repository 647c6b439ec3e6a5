//! `?prometheus`: the metrics apache_exporter (github.com/Lusitaniae/apache_exporter) derives
//! from `?auto`, in Prometheus' text exposition format 0.0.4, so dashboards and alerts written
//! for the exporter work against the server directly, without the exporter beside it.
//!
//! The rule: the output is what the exporter's `/metrics` would show after scraping our `?auto`
//! (its own `apache_exporter_*` and Go runtime series aside). Same names, help texts, types and
//! label values; the same metrics present or absent (the traffic totals only with
//! ExtendedStatus, the connection gauges only for the event MPM); the same numbers, down to the
//! six significant digits the exporter parses from `?auto`'s `%g` fields; families sorted by name
//! and series by label value, and floats printed as Go's `strconv.FormatFloat(v, 'g', -1, 64)`,
//! as the exporter's client library gathers and prints them.

use core::fmt::{self, Write};

use super::ServerInfo;
use super::auto::for_each_letter;
use super::printf::{write_g, write_g32};
use super::summary::Summary;
use crate::scoreboard::Scoreboard;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The exporter's labels for the scoreboard letters, sorted by label (the order printed).
const SCOREBOARD_LABELS: [(char, &str); 11] = [
    ('C', "closing"),
    ('D', "dns"),
    ('G', "graceful_stop"),
    ('_', "idle"),
    ('I', "idle_cleanup"),
    ('K', "keepalive"),
    ('L', "logging"),
    ('.', "open_slot"),
    ('R', "read"),
    ('W', "reply"),
    ('S', "startup"),
];

/// Writes the metrics (see the module's documentation for what and in which form).
///
/// The metrics, by family: `apache_accesses_total`, `apache_connections{state}` (closing,
/// keepalive, total, writing), `apache_cpu_time_ms_total{type}`, `apache_cpuload`,
/// `apache_duration_ms_total`, `apache_generation{type}`, `apache_info{mpm,version}`,
/// `apache_load{interval}`, `apache_processes{state}`, `apache_scoreboard{state}`,
/// `apache_sent_kilobytes_total`, `apache_up`, `apache_uptime_seconds_total`, `apache_version`,
/// `apache_workers{state}`.
pub fn render_prometheus<W: Write>(
    out: &mut W,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
) -> fmt::Result {
    prometheus(out, info, board)
}

fn prometheus(out: &mut dyn Write, info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> fmt::Result {
    let s = Summary::scan(info, board);
    let extended = info.extended_status;
    let tick = info.tick();

    if extended {
        family(
            out,
            "accesses_total",
            "Current total apache accesses (*)",
            "counter",
        )?;
        sample(out, "accesses_total", &[], s.accesses as f64)?;
    }
    if info.is_async {
        family(out, "connections", "Apache connection statuses", "gauge")?;
        for (state, n) in [
            ("closing", s.conns.lingering_close),
            ("keepalive", s.conns.keep_alive),
            ("total", s.conns.connections),
            ("writing", s.conns.write_completion),
        ] {
            sample(out, "connections", &[("state", state)], n as f64)?;
        }
    }
    if extended {
        // As `?auto` prints each CPU figure (six significant digits) and the exporter sums them.
        let secs = |ticks: u64| printed(|o| write_g32(o, ticks as f32 / tick, 6));
        let user = secs(s.cpu[0]) + secs(s.cpu[2]);
        let system = secs(s.cpu[1]) + secs(s.cpu[3]);
        family(out, "cpu_time_ms_total", "Apache CPU time", "counter")?;
        sample(
            out,
            "cpu_time_ms_total",
            &[("type", "system")],
            1000.0 * system,
        )?;
        sample(out, "cpu_time_ms_total", &[("type", "user")], 1000.0 * user)?;
    }
    // The exporter always shows this gauge; 0 until `?auto` has a `CPULoad` line.
    let cpu = s.cpu_total();
    let cpuload = if extended && cpu != 0 {
        printed(|o| write_g(o, f64::from(cpu as f32 / tick / s.uptime as f32) * 100.0, 6))
    } else {
        0.0
    };
    family(
        out,
        "cpuload",
        "The current percentage CPU used by each worker and in total by all workers combined (*)",
        "gauge",
    )?;
    sample(out, "cpuload", &[], cpuload)?;
    if extended {
        family(
            out,
            "duration_ms_total",
            "Total duration of all registered requests in ms",
            "counter",
        )?;
        sample(out, "duration_ms_total", &[], s.duration_ms as f64)?;
    }
    family(out, "generation", "Apache restart generation", "gauge")?;
    // `?auto` prints the generations as C ints.
    sample(
        out,
        "generation",
        &[("type", "config")],
        f64::from(info.config_generation as i32),
    )?;
    sample(
        out,
        "generation",
        &[("type", "mpm")],
        f64::from(info.mpm_generation as i32),
    )?;
    family(out, "info", "Apache version information", "gauge")?;
    sample(
        out,
        "info",
        &[("mpm", info.mpm), ("version", info.server_version)],
        1.0,
    )?;
    family(out, "load", "Apache server load", "gauge")?;
    for (interval, load) in [
        ("15min", info.load[2]),
        ("1min", info.load[0]),
        ("5min", info.load[1]),
    ] {
        let value = printed(|o| super::printf::write_f32(o, load, 2));
        sample(out, "load", &[("interval", interval)], value)?;
    }
    if info.is_async {
        family(out, "processes", "Apache process count", "gauge")?;
        sample(
            out,
            "processes",
            &[("state", "all")],
            f64::from(s.processes),
        )?;
        sample(
            out,
            "processes",
            &[("state", "stopping")],
            f64::from(s.stopping),
        )?;
    }
    let mut letters = [0u64; SCOREBOARD_LABELS.len()];
    for_each_letter(info, board, |letter| {
        if let Some(i) = SCOREBOARD_LABELS.iter().position(|(l, _)| *l == letter) {
            letters[i] += 1;
        }
    });
    family(out, "scoreboard", "Apache scoreboard statuses", "gauge")?;
    for ((_, label), n) in SCOREBOARD_LABELS.iter().zip(letters) {
        sample(out, "scoreboard", &[("state", label)], n as f64)?;
    }
    if extended {
        family(
            out,
            "sent_kilobytes_total",
            "Current total kbytes sent (*)",
            "counter",
        )?;
        sample(out, "sent_kilobytes_total", &[], s.kbytes as f64)?;
    }
    family(out, "up", "Could the apache server be reached", "gauge")?;
    sample(out, "up", &[], 1.0)?;
    if extended {
        family(
            out,
            "uptime_seconds_total",
            "Current uptime in seconds (*)",
            "counter",
        )?;
        sample(out, "uptime_seconds_total", &[], f64::from(s.uptime))?;
    }
    if let Some(version) = version_number(info.server_version) {
        family(out, "version", "Apache server version", "gauge")?;
        sample(out, "version", &[], version)?;
    }
    family(out, "workers", "Apache worker statuses", "gauge")?;
    sample(
        out,
        "workers",
        &[("state", "busy")],
        f64::from(s.workers.busy),
    )?;
    sample(
        out,
        "workers",
        &[("state", "idle")],
        f64::from(s.workers.idle),
    )
}

/// `# HELP` and `# TYPE` of the family `apache_<name>`.
fn family(out: &mut dyn Write, name: &str, help: &str, kind: &str) -> fmt::Result {
    write!(
        out,
        "# HELP apache_{name} {help}\n# TYPE apache_{name} {kind}\n"
    )
}

/// One sample line of `apache_<name>`.
fn sample(out: &mut dyn Write, name: &str, labels: &[(&str, &str)], value: f64) -> fmt::Result {
    write!(out, "apache_{name}")?;
    if !labels.is_empty() {
        out.write_char('{')?;
        for (i, (label, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.write_char(',')?;
            }
            write!(out, "{label}=\"")?;
            write_label_value(out, value)?;
            out.write_char('"')?;
        }
        out.write_char('}')?;
    }
    out.write_char(' ')?;
    write_go_float(out, value)?;
    out.write_char('\n')
}

/// A label value with the exposition format's escapes (backslash, quote, newline).
fn write_label_value(out: &mut dyn Write, value: &str) -> fmt::Result {
    for c in value.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '"' => out.write_str("\\\"")?,
            '\n' => out.write_str("\\n")?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// The exporter's `apache_version`: `ServerVersion`'s `product/M.m.p …` as the number
/// `M.mmppp` (minor padded to two digits, patch to three). `None` where the exporter finds no
/// such version (`ServerTokens Prod` prints the product alone).
fn version_number(server_version: &str) -> Option<f64> {
    let (_, rest) = server_version.split_once('/')?;
    let version = rest.split(' ').next()?;
    let mut parts = version.split('.');
    let (major, minor, patch) = (parts.next()?, parts.next()?, parts.next()?);
    let mut text = Buf::<48>::new();
    write!(text, "{major}.{minor:0>2}{patch:0>3}").ok()?;
    text.as_str().parse().ok()
}

/// A number as one of the renderers prints it, read back (what a scraper of that text sees).
fn printed(f: impl FnOnce(&mut dyn Write) -> fmt::Result) -> f64 {
    let mut text = Buf::<96>::new();
    if f(&mut text).is_err() {
        return f64::NAN;
    }
    match text.as_str() {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        // APR prints an infinite `%g` as "0.e+79" and similar: not a number Go can read back,
        // and the exporter would stop there; show it as what it is.
        t => t.parse().unwrap_or(f64::INFINITY),
    }
}

/// `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)` in the exposition format's spelling
/// (`NaN`, `+Inf`, `-Inf`): the shortest digits that read back as `v`, in exponent form when the
/// decimal exponent is below -4 or at least 6 (`1e+06`, `1.5e-05`).
pub(super) fn write_go_float(out: &mut dyn Write, v: f64) -> fmt::Result {
    if v.is_nan() {
        return out.write_str("NaN");
    }
    if v.is_infinite() {
        return out.write_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    }
    if v == 0.0 {
        return out.write_str(if v.is_sign_negative() { "-0" } else { "0" });
    }
    // Rust's `{:e}` gives the same shortest digits: `d.ddde±x`.
    let mut sci = Buf::<48>::new();
    write!(sci, "{v:e}")?;
    let (mantissa, exp) = sci.as_str().split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        out.write_str(mantissa)?;
        let sign = if exp < 0 { '-' } else { '+' };
        write!(out, "e{sign}{:02}", exp.unsigned_abs())
    } else {
        write!(out, "{v}")
    }
}

/// A small text buffer on the stack.
struct Buf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Buf<N> {
    fn new() -> Self {
        Buf {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> Write for Buf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        if end > N {
            return Err(fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn go(v: f64) -> String {
        let mut s = String::new();
        write_go_float(&mut s, v).unwrap();
        s
    }

    #[test]
    fn floats_print_as_go_prints_them() {
        // Expected values from Go's strconv.FormatFloat(v, 'g', -1, 64).
        for (v, text) in [
            (1.0, "1"),
            (0.0, "0"),
            (-1.0, "-1"),
            (123456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000015, "1.5e-05"),
            (2.04067, "2.04067"),
            (470.0, "470"),
            (1.23e21, "1.23e+21"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(go(v), text, "{v}");
        }
    }

    #[test]
    fn versions_read_as_the_exporter_reads_them() {
        assert_eq!(version_number("Apache/2.4.67 (Debian)"), Some(2.04067));
        assert_eq!(version_number("eventmpm/0.1.0 (Unix)"), Some(0.01));
        assert_eq!(version_number("Apache/2.4.7"), Some(2.04007));
        assert_eq!(version_number("Apache"), None);
        assert_eq!(version_number("Apache/2"), None);
    }

    #[test]
    fn label_values_are_escaped() {
        let mut s = String::new();
        write_label_value(&mut s, "a\"b\\c\nd").unwrap();
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }
}
