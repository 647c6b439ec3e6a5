//! `?json`: the same data as a JSON object (our own schema).

use core::fmt::{self, Write};

use super::ServerInfo;
use super::auto::write_letters;
use super::escape::{json_bytes, json_str};
use super::printf::write_f;
use super::summary::{ConnSums, Summary, read_worker};
use crate::scoreboard::{AsyncCounts, CpuTimes, Scoreboard, ThreadCounts, WorkerStatus};

/// Writes the status as one JSON object (`application/json`).
///
/// ```text
/// {
///   "server": {"name", "version", "mpm", "built", "local_ip"},        strings
///   "current_time", "restart_time": Unix seconds,
///   "uptime_seconds", "config_generation", "mpm_generation": integers,
///   "load": [1 min, 5 min, 15 min] (numbers, -1 where the OS has none),
///   "limits": {"server_limit", "thread_limit", "threads_per_child", "max_servers"},
///   "extended_status": bool,
///   "workers": {"busy", "graceful", "idle"},                           as BusyWorkers etc.
///   "processes": {"total", "stopping"},
///   "connections": CONNS,                                              summed over processes
///   "traffic": {"accesses", "bytes", "kbytes", "duration_ms"},         ExtendedStatus only
///   "cpu_seconds": {"user", "system", "children_user", "children_system"},  ExtendedStatus only
///   "scoreboard": the letters of every slot that is not disabled,
///   "slots": [ {"slot", "pid", "generation", "stopping": bool, "old_generation": bool,
///               "accepting": bool, "threads": {"busy", "graceful", "idle"},
///               "connections": CONNS or null if the record stayed mid-update} ],  live only
///   "threads": [ {"slot", "thread", "pid", "generation", "status": letter or "?",
///                 "accesses": {"connection", "child", "slot"},
///                 "bytes": {"connection", "child", "slot"},
///                 "cpu_seconds", "seconds_since_used", "last_request_ms", "duration_ms",
///                 "client", "protocol", "vhost", "request": strings} ],
///                 ExtendedStatus only; workers that served or are doing something
///   "inconsistent_records": records left out because they stayed mid-update
/// }
/// CONNS = {"total", "reading", "wait_io", "writing", "keep_alive", "closing", "suspended"}
/// ```
///
/// Strings from the scoreboard keep valid UTF-8 and replace invalid bytes with U+FFFD.
pub fn render_json<W: Write>(
    out: &mut W,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
) -> fmt::Result {
    document(out, info, board)
}

fn document(out: &mut dyn Write, info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> fmt::Result {
    let s = Summary::scan(info, board);
    let rules = info.rules();
    let layout = board.layout();
    out.write_str("{\"server\":{\"name\":")?;
    json_str(out, info.server_name)?;
    out.write_str(",\"version\":")?;
    json_str(out, info.server_version)?;
    out.write_str(",\"mpm\":")?;
    json_str(out, info.mpm)?;
    out.write_str(",\"built\":")?;
    json_str(out, info.built)?;
    out.write_str(",\"local_ip\":")?;
    json_str(out, info.local_ip)?;
    write!(
        out,
        "}},\"current_time\":{},\"restart_time\":{},\"uptime_seconds\":{},\
         \"config_generation\":{},\"mpm_generation\":{},\"load\":[",
        info.now, s.restart_time, s.uptime, info.config_generation, info.mpm_generation
    )?;
    for (i, load) in info.load.iter().enumerate() {
        if i > 0 {
            out.write_char(',')?;
        }
        number(out, f64::from(*load))?;
    }
    write!(
        out,
        "],\"limits\":{{\"server_limit\":{},\"thread_limit\":{},\"threads_per_child\":{},\
         \"max_servers\":{}}},\"extended_status\":{},",
        layout.server_limit,
        layout.thread_limit,
        info.threads_per_child,
        info.max_servers,
        info.extended_status
    )?;
    out.write_str("\"workers\":")?;
    threads(out, &s.workers)?;
    write!(
        out,
        ",\"processes\":{{\"total\":{},\"stopping\":{}}},\"connections\":",
        s.processes, s.stopping
    )?;
    conns(out, &s.conns)?;
    if info.extended_status {
        write!(
            out,
            ",\"traffic\":{{\"accesses\":{},\"bytes\":{},\"kbytes\":{},\"duration_ms\":{}}}",
            s.accesses, s.bytes, s.kbytes, s.duration_ms
        )?;
        out.write_str(",\"cpu_seconds\":{")?;
        for (i, (key, ticks)) in ["user", "system", "children_user", "children_system"]
            .iter()
            .zip(s.cpu)
            .enumerate()
        {
            if i > 0 {
                out.write_char(',')?;
            }
            write!(out, "\"{key}\":")?;
            number(out, ticks as f64 / f64::from(info.tick()))?;
        }
        out.write_char('}')?;
    }
    out.write_str(",\"scoreboard\":\"")?;
    // Letters are `_SRWKLDCGI.`: nothing to escape.
    write_letters(out, info, board, None)?;
    out.write_str("\",\"slots\":[")?;
    let mut first = true;
    for (slot, record) in board.processes().iter().enumerate() {
        let p = record.read();
        if !p.is_live() {
            continue;
        }
        if !first {
            out.write_char(',')?;
        }
        first = false;
        let mut row = ThreadCounts::default();
        if rules.counts_threads(&p) {
            for worker in board.workers(slot) {
                row.count(worker.status().unwrap_or(WorkerStatus::Dead));
            }
        }
        write!(
            out,
            "{{\"slot\":{slot},\"pid\":{},\"generation\":{},\"stopping\":{},\
             \"old_generation\":{},\"accepting\":{},\"threads\":",
            p.pid,
            p.generation,
            p.is_stopping(),
            p.generation != info.mpm_generation,
            !p.not_accepting
        )?;
        threads(out, &row)?;
        out.write_str(",\"connections\":")?;
        match p.counts {
            Ok(counts) => conns(out, &single(&counts))?,
            Err(_) => out.write_str("null")?,
        }
        out.write_char('}')?;
    }
    out.write_char(']')?;
    let mut inconsistent = s.inconsistent;
    if info.extended_status {
        out.write_str(",\"threads\":[")?;
        let mut first = true;
        let mut ignored = 0u32;
        for (slot, process) in board.processes().iter().enumerate() {
            for (thread, worker) in board.workers(slot).iter().enumerate() {
                let w = read_worker(worker, &mut ignored);
                if w.access_count == 0
                    && matches!(
                        w.status,
                        None | Some(WorkerStatus::Ready | WorkerStatus::Dead)
                    )
                {
                    continue;
                }
                if !first {
                    out.write_char(',')?;
                }
                first = false;
                let (pid, generation) = if w.pid != 0 {
                    (w.pid, w.generation)
                } else {
                    (process.pid(), process.generation())
                };
                let letter = w.status.map_or('?', WorkerStatus::letter);
                write!(
                    out,
                    "{{\"slot\":{slot},\"thread\":{thread},\"pid\":{pid},\"generation\":{generation},\
                     \"status\":\"{letter}\",\"accesses\":{{\"connection\":{},\"child\":{},\"slot\":{}}},\
                     \"bytes\":{{\"connection\":{},\"child\":{},\"slot\":{}}},\"cpu_seconds\":",
                    w.conn_count,
                    w.my_access_count,
                    w.access_count,
                    w.conn_bytes,
                    w.my_bytes_served,
                    w.bytes_served
                )?;
                number(out, cpu_seconds(w.cpu, info))?;
                write!(
                    out,
                    ",\"seconds_since_used\":{},\"last_request_ms\":{},\"duration_ms\":{},\"client\":",
                    info.now_monotonic.saturating_since(w.last_used).as_secs(),
                    w.last_request_time().as_millis(),
                    w.duration.as_millis()
                )?;
                json_bytes(out, &w.client)?;
                out.write_str(",\"protocol\":")?;
                json_bytes(out, &w.protocol)?;
                out.write_str(",\"vhost\":")?;
                json_bytes(out, &w.vhost)?;
                out.write_str(",\"request\":")?;
                json_bytes(out, &w.request)?;
                out.write_char('}')?;
            }
        }
        out.write_char(']')?;
        // The second pass may meet other mid-update records than the first; report the larger.
        inconsistent = inconsistent.max(ignored);
    }
    write!(out, ",\"inconsistent_records\":{inconsistent}}}")
}

fn cpu_seconds(cpu: CpuTimes, info: &ServerInfo<'_>) -> f64 {
    cpu.total() as f64 / f64::from(info.tick())
}

fn single(counts: &AsyncCounts) -> ConnSums {
    let mut sums = ConnSums::default();
    sums.add(counts);
    sums
}

fn threads(out: &mut dyn Write, t: &ThreadCounts) -> fmt::Result {
    write!(
        out,
        "{{\"busy\":{},\"graceful\":{},\"idle\":{}}}",
        t.busy, t.graceful, t.idle
    )
}

fn conns(out: &mut dyn Write, c: &ConnSums) -> fmt::Result {
    write!(
        out,
        "{{\"total\":{},\"reading\":{},\"wait_io\":{},\"writing\":{},\"keep_alive\":{},\
         \"closing\":{},\"suspended\":{}}}",
        c.connections,
        c.reading,
        c.wait_io,
        c.write_completion,
        c.keep_alive,
        c.lingering_close,
        c.suspended
    )
}

/// A JSON number with two decimals, or `null` for values JSON cannot hold. C's `%.2f` (the
/// status page's own formatter) rather than `{:.2}`, which would pull core's float formatting
/// (some 20 KB of flash) into firmware.
fn number(out: &mut dyn Write, value: f64) -> fmt::Result {
    if value.is_finite() {
        write_f(out, value, 2)
    } else {
        out.write_str("null")
    }
}
