//! The HTML page, section by section as mod_status writes it.

use core::fmt::{self, Write};

use super::auto::write_letters;
use super::escape::{html, html_bytes, html_logitem};
use super::printf::{write_f32, write_g, write_g32};
use super::summary::{ConnSums, Summary, read_worker};
use super::units::{write_bytes, write_kbytes, write_time, write_uptime};
use super::{Query, ServerInfo};
use crate::scoreboard::{ProcessSnapshot, Scoreboard, ThreadCounts, WorkerSnapshot, WorkerStatus};

/// Letters per line of the page's scoreboard (`STATUS_MAXLINE`).
const LETTERS_PER_LINE: usize = 64;

const KEY: &str = "<p>Scoreboard Key:<br />\n\
\"<b><code>_</code></b>\" Waiting for Connection, \n\
\"<b><code>S</code></b>\" Starting up, \n\
\"<b><code>R</code></b>\" Reading Request,<br />\n\
\"<b><code>W</code></b>\" Sending Reply, \n\
\"<b><code>K</code></b>\" Keepalive (read), \n\
\"<b><code>D</code></b>\" DNS Lookup,<br />\n\
\"<b><code>C</code></b>\" Closing connection, \n\
\"<b><code>L</code></b>\" Logging, \n\
\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n\
\"<b><code>I</code></b>\" Idle cleanup of worker, \n\
\"<b><code>.</code></b>\" Open slot with no current process<br />\n\
</p>\n";

const WORKER_TABLE_HEAD: &str = "\n\n<table border=\"0\"><tr>\
<th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th>\
<th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th>\
<th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n";

const WORKER_TABLE_LEGEND: &str = "</table>\n \
<hr /> \
<table>\n \
<tr><th>Srv</th><td>Child Server number - generation</td></tr>\n \
<tr><th>PID</th><td>OS process ID</td></tr>\n \
<tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n \
<tr><th>M</th><td>Mode of operation</td></tr>\n\
<tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n\
<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n \
<tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n \
<tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n \
<tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n \
<tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n \
<tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n \
</table>\n";

const ASYNC_TABLE_HEAD: &str = "\n\n<table rules=\"all\" cellpadding=\"1%\">\n\
<tr><th rowspan=\"2\">Slot</th><th rowspan=\"2\">PID</th><th rowspan=\"2\">Stopping</th>\
<th colspan=\"2\">Connections</th>\n\
<th colspan=\"3\">Threads</th><th colspan=\"4\">Async connections</th></tr>\n\
<tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th>\
<th>reading</th><th>writing</th><th>keep-alive</th><th>closing</th></tr>\n";

/// Writes the HTML page (`text/html`; the output is ASCII, so any charset label is right).
///
/// The sections of mod_status 2.4.71, in order: heading; version, MPM, build; times, generations,
/// uptime, load; with ExtendedStatus the traffic, CPU and rate lines; the busy / graceful / idle
/// line; for async MPMs the per-process table (Slot, PID, Stopping with "(old gen)",
/// Connections total / accepting, Threads busy / graceful / idle, Async connections reading /
/// writing / keep-alive / closing, and a Sum row); the scoreboard letters, 64 per line; the key;
/// then either the per-worker table (`notable`: one paragraph per worker) or, without
/// ExtendedStatus, the PID key and a hint.
///
/// Differences from httpd: the first async column is *reading* (request heads the listener is
/// reading without a worker, plus httpd's wait-io), where httpd has *wait-io*; `refresh` also adds
/// a `<meta http-equiv="refresh">` (send the `Refresh` header from [`Query::refresh`] too); the
/// PID key leaves out disabled slots; and everything from the scoreboard is escaped, including
/// non-ASCII characters.
pub fn render_html<W: Write>(
    out: &mut W,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
    query: &Query,
) -> fmt::Result {
    page(out, info, board, query)
}

fn page(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
    query: &Query,
) -> fmt::Result {
    let s = Summary::scan(info, board);
    out.write_str(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" \
         \"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n",
    )?;
    if let Some(seconds) = query.refresh {
        writeln!(out, "<meta http-equiv=\"refresh\" content=\"{seconds}\">")?;
    }
    out.write_str("<title>Apache Status</title>\n</head><body>\n<h1>Apache Server Status for ")?;
    html(out, info.server_name)?;
    out.write_str(" (via ")?;
    html(out, info.local_ip)?;
    out.write_str(")</h1>\n\n<dl><dt>Server Version: ")?;
    html(out, info.server_version)?;
    out.write_str("</dt>\n<dt>Server MPM: ")?;
    html(out, info.mpm)?;
    out.write_str("</dt>\n<dt>Server Built: ")?;
    html(out, info.built)?;
    out.write_str("\n</dt></dl><hr /><dl>\n<dt>Current Time: ")?;
    write_time(out, info.now, info.utc_offset, info.time_zone)?;
    out.write_str("</dt>\n<dt>Restart Time: ")?;
    write_time(out, s.restart_time, info.utc_offset, info.time_zone)?;
    writeln!(
        out,
        "</dt>\n<dt>Parent Server Config. Generation: {}</dt>",
        info.config_generation as i32
    )?;
    writeln!(
        out,
        "<dt>Parent Server MPM Generation: {}</dt>",
        info.mpm_generation as i32
    )?;
    out.write_str("<dt>Server uptime: ")?;
    write_uptime(out, s.uptime)?;
    out.write_str("</dt>\n<dt>Server load:")?;
    for load in info.load {
        out.write_char(' ')?;
        write_f32(out, load, 2)?;
    }
    out.write_str("</dt>\n")?;
    if info.extended_status {
        traffic(out, info, &s)?;
    }
    writeln!(
        out,
        "<dt>{} requests currently being processed, {} workers gracefully restarting, \
         {} idle workers</dt>",
        s.workers.busy, s.workers.graceful, s.workers.idle
    )?;
    out.write_str("</dl>")?;
    if info.is_async {
        process_table(out, info, board)?;
    }
    out.write_str("<pre>")?;
    write_letters(out, info, board, Some(LETTERS_PER_LINE))?;
    out.write_str("</pre>\n")?;
    out.write_str(KEY)?;
    if info.extended_status {
        worker_details(out, info, board, query.notable)?;
    } else {
        pid_key(out, info, board)?;
        out.write_str(
            "<hr />To obtain a full report with current status information you need to use \
             the <code>ExtendedStatus On</code> directive.\n",
        )?;
    }
    out.write_str("</body></html>\n")
}

/// The ExtendedStatus lines: totals, CPU, rates.
fn traffic(out: &mut dyn Write, info: &ServerInfo<'_>, s: &Summary) -> fmt::Result {
    write!(out, "<dt>Total accesses: {} - Total Traffic: ", s.accesses)?;
    write_kbytes(out, s.kbytes)?;
    writeln!(out, " - Total Duration: {}</dt>", s.duration_ms)?;
    let tick = info.tick();
    out.write_str("<dt>CPU Usage:")?;
    for (label, ticks) in [" u", " s", " cu", " cs"].iter().zip(s.cpu) {
        out.write_str(label)?;
        write_g32(out, ticks as f32 / tick, 6)?;
    }
    let cpu = s.cpu_total();
    if cpu != 0 {
        out.write_str(" - ")?;
        write_g(
            out,
            f64::from(cpu as f32 / tick / s.uptime as f32) * 100.0,
            3,
        )?;
        out.write_str("% CPU load</dt>\n")?;
    } else {
        out.write_str("</dt>\n")?;
    }
    out.write_str("<dt>")?;
    if s.uptime > 0 {
        write_g32(out, s.accesses as f32 / s.uptime as f32, 3)?;
        out.write_str(" requests/sec - ")?;
        write_bytes(out, (1024.0 * s.kbytes as f32 / s.uptime as f32) as u64)?;
        out.write_str("/second")?;
    }
    if s.accesses > 0 {
        if s.uptime > 0 {
            out.write_str(" - ")?;
        }
        write_bytes(out, (1024.0 * s.kbytes as f32 / s.accesses as f32) as u64)?;
        out.write_str("/request - ")?;
        write_g32(out, s.duration_ms as f32 / s.accesses as f32, 6)?;
        out.write_str(" ms/request")?;
    }
    out.write_str("</dt>\n")
}

/// The async MPM's per-process table and its Sum row. The Sum row adds up the rows printed, so
/// it agrees with them even if a record changed since the totals were taken.
fn process_table(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
) -> fmt::Result {
    let rules = info.rules();
    out.write_str(ASYNC_TABLE_HEAD)?;
    let mut processes = 0u32;
    let mut stopping = 0u32;
    let mut threads = ThreadCounts::default();
    let mut sums = ConnSums::default();
    for (slot, record) in board.processes().iter().enumerate() {
        let process = record.read();
        if !process.is_live() {
            continue;
        }
        let row = row_threads(board, slot, &process, &rules);
        let counts = process.counts.unwrap_or_default();
        processes += 1;
        if process.is_stopping() {
            stopping += 1;
        }
        threads.add(row);
        sums.add(&counts);
        let stopping_text = if process.is_stopping() { "yes" } else { "no" };
        let old = if process.generation != info.mpm_generation {
            " (old gen)"
        } else {
            ""
        };
        let accepting = if process.not_accepting { "no" } else { "yes" };
        writeln!(
            out,
            "<tr><td>{slot}</td><td>{}</td><td>{stopping_text}{old}</td><td>{}</td><td>{accepting}</td>\
             <td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            process.pid,
            counts.connections,
            row.busy,
            row.graceful,
            row.idle,
            u64::from(counts.reading) + u64::from(counts.wait_io),
            counts.write_completion,
            counts.keep_alive,
            counts.lingering_close,
        )?;
    }
    writeln!(
        out,
        "<tr><td>Sum</td><td>{processes}</td><td>{stopping}</td><td>{}</td><td>&nbsp;</td>\
         <td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>",
        sums.connections,
        threads.busy,
        threads.graceful,
        threads.idle,
        sums.waiting_for_input(),
        sums.write_completion,
        sums.keep_alive,
        sums.lingering_close,
    )
}

fn row_threads(
    board: &Scoreboard<'_>,
    slot: usize,
    process: &ProcessSnapshot,
    rules: &crate::scoreboard::CountRules,
) -> ThreadCounts {
    let mut row = ThreadCounts::default();
    if rules.counts_threads(process) {
        for worker in board.workers(slot) {
            row.count(worker.status().unwrap_or(WorkerStatus::Dead));
        }
    }
    row
}

/// Without ExtendedStatus: "PID in state: X" for every slot with a letter other than `.`, three
/// per line.
fn pid_key(out: &mut dyn Write, info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> fmt::Result {
    let rules = info.rules();
    out.write_str("PID Key: <br />\n<pre>\n")?;
    let mut on_line = 0;
    for (slot, process) in board.processes().iter().enumerate() {
        let pid = process.pid();
        for (thread, worker) in board.workers(slot).iter().enumerate() {
            let letter = match rules.letter(slot, thread, worker.status()) {
                Some('.') | None => continue,
                Some(letter) => letter,
            };
            write!(out, "   {pid} in state: {letter} ")?;
            on_line += 1;
            if on_line >= 3 {
                out.write_str("\n")?;
                on_line = 0;
            } else {
                out.write_str(",")?;
            }
        }
    }
    out.write_str("\n</pre>\n")
}

/// With ExtendedStatus: a row (or with `notable` a paragraph) per worker that has served or is
/// doing something.
fn worker_details(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
    notable: bool,
) -> fmt::Result {
    out.write_str(if notable {
        "<hr /><h2>Server Details</h2>\n\n"
    } else {
        WORKER_TABLE_HEAD
    })?;
    let mut ignored = 0u32;
    for (slot, process) in board.processes().iter().enumerate() {
        let (process_pid, process_generation) = (process.pid(), process.generation());
        for worker in board.workers(slot) {
            let w = read_worker(worker, &mut ignored);
            let status = w.status;
            if w.access_count == 0
                && matches!(
                    status,
                    None | Some(WorkerStatus::Ready | WorkerStatus::Dead)
                )
            {
                continue;
            }
            // Threaded MPMs stamp each worker with its process, so a slot taken over by a new
            // child still shows the old one's threads correctly.
            let (pid, generation) = if w.pid != 0 {
                (w.pid, w.generation)
            } else {
                (process_pid, process_generation)
            };
            let generation = generation as i32;
            let who = Who {
                slot,
                pid,
                generation,
                dead: status == Some(WorkerStatus::Dead),
            };
            if notable {
                worker_paragraph(out, info, &who, &w)?;
            } else {
                worker_row(out, info, &who, &w)?;
            }
        }
    }
    if notable {
        Ok(())
    } else {
        out.write_str(WORKER_TABLE_LEGEND)
    }
}

struct Who {
    slot: usize,
    pid: i32,
    generation: i32,
    dead: bool,
}

fn worker_row(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    who: &Who,
    w: &WorkerSnapshot,
) -> fmt::Result {
    write!(
        out,
        "<tr><td><b>{}-{}</b></td><td>",
        who.slot, who.generation
    )?;
    if who.dead {
        out.write_str("-")?;
    } else {
        write!(out, "{}", who.pid)?;
    }
    write!(
        out,
        "</td><td>{}/{}/{}</td><td>",
        w.conn_count, w.my_access_count, w.access_count
    )?;
    out.write_str(match w.status {
        Some(WorkerStatus::Ready) => "_",
        Some(WorkerStatus::Starting) => "<b>S</b>",
        Some(WorkerStatus::Read) => "<b>R</b>",
        Some(WorkerStatus::Write) => "<b>W</b>",
        Some(WorkerStatus::KeepAlive) => "<b>K</b>",
        Some(WorkerStatus::Log) => "<b>L</b>",
        Some(WorkerStatus::Dns) => "<b>D</b>",
        Some(WorkerStatus::Closing) => "<b>C</b>",
        Some(WorkerStatus::Dead) => ".",
        Some(WorkerStatus::Graceful) => "G",
        Some(WorkerStatus::IdleKill) => "I",
        None => "?",
    })?;
    out.write_str("\n</td><td>")?;
    write_f32(out, w.cpu.total() as f32 / info.tick(), 2)?;
    write!(
        out,
        "</td><td>{}</td><td>{}</td><td>{}</td><td>",
        info.now_monotonic.saturating_since(w.last_used).as_secs(),
        w.last_request_time().as_millis(),
        w.duration.as_millis()
    )?;
    write_f32(out, w.conn_bytes as f32 / 1024.0, 1)?;
    out.write_str("</td><td>")?;
    write_f32(out, w.my_bytes_served as f32 / 1_048_576.0, 2)?;
    out.write_str("</td><td>")?;
    write_f32(out, w.bytes_served as f32 / 1_048_576.0, 2)?;
    out.write_str("\n</td><td>")?;
    html_bytes(out, &w.client)?;
    out.write_str("</td><td>")?;
    html_bytes(out, &w.protocol)?;
    out.write_str("</td><td nowrap>")?;
    html_bytes(out, &w.vhost)?;
    out.write_str("</td><td nowrap>")?;
    html_logitem(out, &w.request)?;
    out.write_str("</td></tr>\n\n")
}

fn worker_paragraph(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    who: &Who,
    w: &WorkerSnapshot,
) -> fmt::Result {
    write!(out, "<b>Server {}-{}</b> (", who.slot, who.generation)?;
    if who.dead {
        out.write_str("-")?;
    } else {
        write!(out, "{}", who.pid)?;
    }
    write!(
        out,
        "): {}|{}|{} [",
        w.conn_count, w.my_access_count, w.access_count
    )?;
    out.write_str(match w.status {
        Some(WorkerStatus::Ready) => "Ready",
        Some(WorkerStatus::Starting) => "Starting",
        Some(WorkerStatus::Read) => "<b>Read</b>",
        Some(WorkerStatus::Write) => "<b>Write</b>",
        Some(WorkerStatus::KeepAlive) => "<b>Keepalive</b>",
        Some(WorkerStatus::Log) => "<b>Logging</b>",
        Some(WorkerStatus::Dns) => "<b>DNS lookup</b>",
        Some(WorkerStatus::Closing) => "<b>Closing</b>",
        Some(WorkerStatus::Dead) => "Dead",
        Some(WorkerStatus::Graceful) => "Graceful",
        Some(WorkerStatus::IdleKill) => "Dying",
        None => "?STATE?",
    })?;
    out.write_str("]")?;
    let tick = info.tick();
    for (label, ticks) in [" u", " s", " cu", " cs"].iter().zip(w.cpu.to_array()) {
        out.write_str(label)?;
        write_g32(out, ticks as f32 / tick, 6)?;
    }
    write!(
        out,
        "\n {} {} {}(",
        info.now_monotonic.saturating_since(w.last_used).as_secs(),
        w.last_request_time().as_millis(),
        w.duration.as_millis()
    )?;
    write_bytes(out, w.conn_bytes)?;
    out.write_str("|")?;
    write_bytes(out, w.my_bytes_served)?;
    out.write_str("|")?;
    write_bytes(out, w.bytes_served)?;
    out.write_str(")\n <i>")?;
    html_bytes(out, &w.client)?;
    out.write_str(" {")?;
    html_logitem(out, &w.request)?;
    out.write_str("}</i> <i>(")?;
    html_bytes(out, &w.protocol)?;
    out.write_str(")</i> <b>[")?;
    html_bytes(out, &w.vhost)?;
    out.write_str("]</b><br />\n\n")
}
