//! One pass over the scoreboard: the totals every format prints before its tables.

use super::ServerInfo;
use crate::scoreboard::{
    AsyncCounts, CpuTimes, Scoreboard, ThreadCounts, WorkerSnapshot, WorkerStatus,
};

/// Connection counts summed over live processes (64-bit so corrupted records cannot overflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ConnSums {
    pub connections: u64,
    pub reading: u64,
    pub write_completion: u64,
    pub keep_alive: u64,
    pub lingering_close: u64,
    pub suspended: u64,
    pub wait_io: u64,
}

impl ConnSums {
    pub(crate) fn add(&mut self, c: &AsyncCounts) {
        for (sum, n) in [
            (&mut self.connections, c.connections),
            (&mut self.reading, c.reading),
            (&mut self.write_completion, c.write_completion),
            (&mut self.keep_alive, c.keep_alive),
            (&mut self.lingering_close, c.lingering_close),
            (&mut self.suspended, c.suspended),
            (&mut self.wait_io, c.wait_io),
        ] {
            *sum = sum.saturating_add(u64::from(n));
        }
    }

    /// What `ConnsAsyncWaitIO` reports: connections parked in the listener until they can be
    /// read, whether a request head (ours) or other input (httpd's wait-io).
    pub(crate) fn waiting_for_input(&self) -> u64 {
        self.reading.saturating_add(self.wait_io)
    }
}

/// The totals mod_status computes in its first pass.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Summary {
    /// Unix seconds of the last ungraceful restart.
    pub restart_time: i64,
    /// Seconds since then, clamped to `0 ..= u32::MAX` (httpd keeps it in 32 bits).
    pub uptime: u32,
    /// `BusyWorkers`, `GracefulWorkers`, `IdleWorkers`.
    pub workers: ThreadCounts,
    /// Requests served by every slot that served any or is busy.
    pub accesses: u64,
    /// Their bytes, exactly.
    pub bytes: u64,
    /// Their kilobytes as httpd counts them (bytes / 1024, rounded down).
    pub kbytes: u64,
    /// Their summed durations.
    pub duration_ms: u64,
    /// CPU ticks (user, system, children user, children system): the parent's own and its
    /// reaped children's, plus every live child's threads (workers and listener) and reaped
    /// children (CGI scripts).
    pub cpu: [u64; 4],
    /// Live processes.
    pub processes: u32,
    /// Live processes that are stopping.
    pub stopping: u32,
    /// Connection counts of live processes.
    pub conns: ConnSums,
    /// Records that stayed mid-update (their counters were left out).
    pub inconsistent: u32,
}

impl Summary {
    /// Scans every slot once (ServerLimit × ThreadLimit records, bounded by the layout).
    pub(crate) fn scan(info: &ServerInfo<'_>, board: &Scoreboard<'_>) -> Summary {
        let rules = info.rules();
        let mut s = Summary::default();
        let global = board.global().read();
        let (restart_time, parent_cpu) = match global {
            Ok(g) => (g.restart_time, g.cpu),
            Err(_) => {
                s.inconsistent += 1;
                (info.now, CpuTimes::default())
            }
        };
        s.restart_time = restart_time;
        s.uptime = u32::try_from(info.now.saturating_sub(restart_time).max(0)).unwrap_or(u32::MAX);
        add_cpu(&mut s.cpu, parent_cpu);
        let mut remainder = 0u64;
        for (slot, process) in board.processes().iter().enumerate() {
            let process = process.read();
            if process.is_live() {
                s.processes += 1;
                if process.is_stopping() {
                    s.stopping += 1;
                }
                match process.counts {
                    Ok(counts) => s.conns.add(&counts),
                    Err(_) => s.inconsistent += 1,
                }
            }
            let counted = rules.counts_threads(&process);
            let current = process.generation == rules.mpm_generation;
            // Each thread records its own CPU time (httpd sums thread times too where threads
            // have their own, and takes one thread's where they all report the process's): the
            // process's is the sum of its workers', its listener's and its reaped children's.
            add_cpu(&mut s.cpu, process.cpu);
            // Requests the listener answered itself count as any worker's do.
            let served = process.listener_served;
            s.accesses = s.accesses.saturating_add(served.requests);
            s.bytes = s.bytes.saturating_add(served.bytes);
            s.duration_ms = s.duration_ms.saturating_add(served.duration_ms);
            remainder = remainder.saturating_add(served.bytes);
            if remainder >= 1024 {
                s.kbytes = s.kbytes.saturating_add(remainder >> 10);
                remainder &= 0x3ff;
            }
            for worker in board.workers(slot) {
                let w = read_worker(worker, &mut s.inconsistent);
                let status = w.status_or_dead();
                add_cpu(&mut s.cpu, w.cpu);
                if counted {
                    s.workers.count_for_server(status, current);
                }
                if w.access_count != 0
                    || !matches!(status, WorkerStatus::Ready | WorkerStatus::Dead)
                {
                    s.accesses = s.accesses.saturating_add(w.access_count);
                    s.bytes = s.bytes.saturating_add(w.bytes_served);
                    s.duration_ms = s.duration_ms.saturating_add(w.duration.as_millis());
                    remainder = remainder.saturating_add(w.bytes_served);
                    if remainder >= 1024 {
                        s.kbytes = s.kbytes.saturating_add(remainder >> 10);
                        remainder &= 0x3ff;
                    }
                }
            }
        }
        s
    }

    /// All CPU ticks (the condition for printing `CPULoad`).
    pub(crate) fn cpu_total(&self) -> u64 {
        self.cpu.iter().fold(0u64, |a, &b| a.saturating_add(b))
    }
}

fn add_cpu(sums: &mut [u64; 4], cpu: CpuTimes) {
    for (sum, ticks) in sums.iter_mut().zip(cpu.to_array()) {
        *sum = sum.saturating_add(u64::from(ticks));
    }
}

/// A worker's snapshot, or only its status if it stayed mid-update (counted in `inconsistent`).
pub(crate) fn read_worker(
    worker: &crate::scoreboard::WorkerScore,
    inconsistent: &mut u32,
) -> WorkerSnapshot {
    match worker.read() {
        Ok(snapshot) => snapshot,
        Err(_) => {
            *inconsistent = inconsistent.saturating_add(1);
            WorkerSnapshot::status_only(worker.status())
        }
    }
}
