//! `?auto`: mod_status's machine-readable text, byte-compatible with httpd 2.4.71.

use core::fmt::{self, Write};

use super::ServerInfo;
use super::printf::{write_f32, write_g, write_g32};
use super::summary::Summary;
use super::units::{write_time, write_uptime};
use crate::scoreboard::Scoreboard;

/// Writes the `?auto` report (`text/plain; charset=ISO-8859-1`).
///
/// The lines, in httpd 2.4.71's order: the bare server name; `ServerVersion`, `ServerMPM`,
/// `Server Built`, `CurrentTime`, `RestartTime`, `ParentServerConfigGeneration`,
/// `ParentServerMPMGeneration`, `ServerUptimeSeconds`, `ServerUptime`, `Load1`, `Load5`, `Load15`;
/// with ExtendedStatus `Total Accesses`, `Total kBytes`, `Total Duration`, `CPUUser`, `CPUSystem`,
/// `CPUChildrenUser`, `CPUChildrenSystem`, `CPULoad` (if any CPU time), `Uptime`, `ReqPerSec` and
/// `BytesPerSec` (if up a second or more), `BytesPerReq` and `DurationPerReq` (if any request);
/// then `BusyWorkers`, `GracefulWorkers`, `IdleWorkers`; for async MPMs `Processes`, `Stopping`,
/// `ConnsTotal`, `ConnsAsyncWaitIO`, `ConnsAsyncWriting`, `ConnsAsyncKeepAlive`,
/// `ConnsAsyncClosing`; and `Scoreboard`.
///
/// `ConnsAsyncWaitIO` counts the connections whose request head the listener is reading (ours)
/// plus those waiting for other input (httpd's meaning): both wait for the client, not a worker.
#[doc(alias = "mod_status")]
pub fn render_auto<W: Write>(
    out: &mut W,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
) -> fmt::Result {
    auto(out, info, board)
}

fn auto(out: &mut dyn Write, info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> fmt::Result {
    let s = Summary::scan(info, board);
    writeln!(out, "{}", info.server_name)?;
    writeln!(out, "ServerVersion: {}", info.server_version)?;
    writeln!(out, "ServerMPM: {}", info.mpm)?;
    writeln!(out, "Server Built: {}", info.built)?;
    out.write_str("CurrentTime: ")?;
    write_time(out, info.now, info.utc_offset, info.time_zone)?;
    out.write_str("\nRestartTime: ")?;
    write_time(out, s.restart_time, info.utc_offset, info.time_zone)?;
    // httpd prints generations with %d of an int.
    write!(
        out,
        "\nParentServerConfigGeneration: {}\n",
        info.config_generation as i32
    )?;
    writeln!(
        out,
        "ParentServerMPMGeneration: {}",
        info.mpm_generation as i32
    )?;
    writeln!(out, "ServerUptimeSeconds: {}", s.uptime)?;
    out.write_str("ServerUptime:")?;
    write_uptime(out, s.uptime)?;
    for (key, load) in ["\nLoad1: ", "\nLoad5: ", "\nLoad15: "]
        .iter()
        .zip(info.load)
    {
        out.write_str(key)?;
        write_f32(out, load, 2)?;
    }
    out.write_str("\n")?;

    if info.extended_status {
        write!(
            out,
            "Total Accesses: {}\nTotal kBytes: {}\nTotal Duration: {}\n",
            s.accesses, s.kbytes, s.duration_ms
        )?;
        let tick = info.tick();
        for (key, ticks) in [
            "CPUUser: ",
            "\nCPUSystem: ",
            "\nCPUChildrenUser: ",
            "\nCPUChildrenSystem: ",
        ]
        .iter()
        .zip(s.cpu)
        {
            out.write_str(key)?;
            write_g32(out, ticks as f32 / tick, 6)?;
        }
        out.write_str("\n")?;
        let cpu = s.cpu_total();
        if cpu != 0 {
            // As httpd: float arithmetic, then a double multiply (infinite when up 0 seconds,
            // which APR prints as "0.e+79").
            out.write_str("CPULoad: ")?;
            write_g(
                out,
                f64::from(cpu as f32 / tick / s.uptime as f32) * 100.0,
                6,
            )?;
            out.write_str("\n")?;
        }
        writeln!(out, "Uptime: {}", s.uptime)?;
        if s.uptime > 0 {
            out.write_str("ReqPerSec: ")?;
            write_g32(out, s.accesses as f32 / s.uptime as f32, 6)?;
            out.write_str("\nBytesPerSec: ")?;
            write_g32(out, 1024.0 * s.kbytes as f32 / s.uptime as f32, 6)?;
            out.write_str("\n")?;
        }
        if s.accesses > 0 {
            out.write_str("BytesPerReq: ")?;
            write_g32(out, 1024.0 * s.kbytes as f32 / s.accesses as f32, 6)?;
            out.write_str("\nDurationPerReq: ")?;
            write_g32(out, s.duration_ms as f32 / s.accesses as f32, 6)?;
            out.write_str("\n")?;
        }
    }

    write!(
        out,
        "BusyWorkers: {}\nGracefulWorkers: {}\nIdleWorkers: {}\n",
        s.workers.busy, s.workers.graceful, s.workers.idle
    )?;
    if info.is_async {
        write!(
            out,
            "Processes: {}\nStopping: {}\nConnsTotal: {}\nConnsAsyncWaitIO: {}\n\
             ConnsAsyncWriting: {}\nConnsAsyncKeepAlive: {}\nConnsAsyncClosing: {}\n",
            s.processes,
            s.stopping,
            s.conns.connections,
            s.conns.waiting_for_input(),
            s.conns.write_completion,
            s.conns.keep_alive,
            s.conns.lingering_close
        )?;
    }
    out.write_str("Scoreboard: ")?;
    write_letters(out, info, board, None)?;
    out.write_str("\n")
}

/// The scoreboard letters of every slot that is not disabled, slot by slot; with `line`, a newline
/// after every `line` letters (the HTML page's 64).
pub(crate) fn write_letters(
    out: &mut dyn Write,
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
    line: Option<usize>,
) -> fmt::Result {
    let mut written = 0usize;
    let mut result = Ok(());
    for_each_letter(info, board, |letter| {
        if result.is_err() {
            return;
        }
        result = out.write_char(letter);
        written += 1;
        if result.is_ok() && line.is_some_and(|n| n > 0 && written.is_multiple_of(n)) {
            result = out.write_char('\n');
        }
    });
    result
}

/// Calls `f` with the scoreboard letter of every slot that is not disabled, slot by slot
/// (ServerLimit x ThreadLimit records at most).
pub(crate) fn for_each_letter(
    info: &ServerInfo<'_>,
    board: &Scoreboard<'_>,
    mut f: impl FnMut(char),
) {
    let rules = info.rules();
    for slot in 0..board.processes().len() {
        for (thread, worker) in board.workers(slot).iter().enumerate() {
            if let Some(letter) = rules.letter(slot, thread, worker.status()) {
                f(letter);
            }
        }
    }
}
