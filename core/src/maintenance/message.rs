//! What maintenance asks the parent to log, with httpd's wording, level and AH number.

use core::fmt;

use super::Mpm;

/// httpd's log levels (`LogLevel`), most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `emerg`
    Emerg,
    /// `alert`
    Alert,
    /// `crit`
    Crit,
    /// `error`
    Error,
    /// `warn`
    Warn,
    /// `notice`
    Notice,
    /// `info`
    Info,
    /// `debug`
    Debug,
    /// `trace1` … `trace8`
    Trace(u8),
}

/// The daemon counts httpd's debug messages print as `active %d/%d, total %d/%d/%d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Counts {
    /// Children not stopping.
    pub active: u32,
    /// The active limit (MaxRequestWorkers / ThreadsPerChild).
    pub active_limit: u32,
    /// Every child the parent has not reaped yet.
    pub total: u32,
    /// One past the highest slot in use.
    pub max_daemon_used: u32,
    /// ServerLimit.
    pub server_limit: u32,
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "active {}/{}, total {}/{}/{}",
            self.active, self.active_limit, self.total, self.max_daemon_used, self.server_limit
        )
    }
}

/// One log line maintenance wants written. [`Display`](fmt::Display) gives httpd's text, prefixed
/// with `AHnnnnn: ` where httpd has a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    /// debug, event: `Child %d started: pid %d, gen %d, active …, total …`.
    ChildStarted {
        /// Slot.
        slot: u16,
        /// Pid.
        pid: i32,
        /// Generation.
        generation: u32,
        /// Counts after the start.
        counts: Counts,
    },
    /// debug, event: `Child %d stopped: pid %d, gen %d, active …, total …, quiescing %d`.
    ChildStopped {
        /// Slot.
        slot: u16,
        /// Pid.
        pid: i32,
        /// Generation.
        generation: u32,
        /// Counts after the exit.
        counts: Counts,
        /// 2 if the parent had seen the child stopping, else 0.
        quiescing: u8,
    },
    /// debug, event: `Child %d quiescing: pid %d, gen %d, active …, total …`.
    ChildQuiescing {
        /// Slot.
        slot: u16,
        /// Pid.
        pid: i32,
        /// Generation.
        generation: u32,
        /// Counts after the child stopped counting as active.
        counts: Counts,
    },
    /// trace5, event: `Shutting down one child: …` or `Not shutting down one child: …`.
    ShuttingDownOneChild {
        /// Whether a child is asked to stop (the `do_kill` rule).
        kill: bool,
        /// Daemon counts.
        counts: Counts,
        /// Idle threads this bucket counted.
        idle: u32,
        /// MaxRequestWorkers.
        max_workers: u32,
    },
    /// error, once per parent: AH00484 (event) / AH00286 (worker) `server reached
    /// MaxRequestWorkers setting, consider raising the MaxRequestWorkers setting`.
    MaxWorkersReached(Mpm),
    /// error, once per parent: AH10159 (event) / AH00287 (worker) `server is within
    /// MinSpareThreads of MaxRequestWorkers, consider raising the MaxRequestWorkers setting`.
    NearMaxWorkers(Mpm),
    /// error, every tick it happens: AH03490 (event) `scoreboard is full, not at
    /// MaxRequestWorkers.Increase ServerLimit.` / AH00288 (worker, without the advice).
    ScoreboardFull(Mpm),
    /// trace1, event: `server is at active daemons limit, spawning of %d children cancelled: …`.
    AtActiveDaemonsLimit {
        /// Children that would have been forked.
        cancelled: u32,
        /// Daemon counts.
        counts: Counts,
        /// The bucket's spawn rate before it was reset.
        rate: u32,
    },
    /// info, event: AH00486 `server seems busy, … spawning %d children, there are around %d idle
    /// threads, %d active children, and %d children that are shutting down`.
    SeemsBusy {
        /// Children forked now.
        spawning: u32,
        /// Idle threads counted.
        idle: u32,
        /// Active children.
        active: u32,
        /// Children stopping (httpd prints the total here; this prints total − active).
        stopping: u32,
    },
    /// info, worker: AH00289 `server seems busy, … spawning %d children, there are around %d idle
    /// threads, and %d total children`.
    SeemsBusyWorker {
        /// Children forked now.
        spawning: u32,
        /// Idle threads counted.
        idle: u32,
        /// Children without a finishing (`G`) thread.
        total: u32,
    },
    /// alert: AH02324 (event) / AH02325 (worker) `A resource shortage or other unrecoverable
    /// failure was encountered before any child process initialized successfully... httpd is
    /// exiting!`.
    SickChildren(Mpm),
    /// debug, worker: AH00263 `pid %d taking over scoreboard slot from %d (quiescing)`.
    SlotTakenOver {
        /// The new child.
        new_pid: i32,
        /// The stopping child that keeps running without a slot.
        old_pid: i32,
    },
    /// alert: AH00050 `Child %d returned a Fatal error... Apache is exiting!`.
    ChildFatal {
        /// The child.
        pid: i32,
    },
    /// warn: AH00487 (event) / AH00290 (worker) `Ignoring fatal error in child of previous
    /// generation (pid %ld).`.
    FatalInOldGeneration {
        /// Which MPM's number.
        mpm: Mpm,
        /// The child.
        pid: i32,
    },
    /// warn: AH00488 (event) / AH00291 (worker) `long lost child came home! (pid %ld)`.
    LongLostChild {
        /// Which MPM's number.
        mpm: Mpm,
        /// The unknown pid.
        pid: i32,
    },
    /// warn: AH10392 (event) / AH10393 (worker) `children are killed successively!`.
    KilledSuccessively(Mpm),
    /// warn: AH00045 `child process %d still did not exit, sending a SIGTERM`.
    StillRunningTerm {
        /// The child.
        pid: i32,
    },
    /// error: AH00046 `child process %d still did not exit, sending a SIGKILL`.
    StillRunningKill {
        /// The child.
        pid: i32,
    },
    /// error: AH00047 `could not make child process %d exit, attempting to continue anyway`.
    GaveUp {
        /// The child.
        pid: i32,
    },
}

const fn by_mpm(mpm: Mpm, event: u16, worker: u16) -> u16 {
    match mpm {
        Mpm::Event => event,
        Mpm::Worker => worker,
    }
}

impl Message {
    /// httpd's log level for this message.
    pub const fn level(&self) -> Level {
        match self {
            Message::ChildStarted { .. }
            | Message::ChildStopped { .. }
            | Message::ChildQuiescing { .. }
            | Message::SlotTakenOver { .. } => Level::Debug,
            Message::ShuttingDownOneChild { .. } => Level::Trace(5),
            Message::AtActiveDaemonsLimit { .. } => Level::Trace(1),
            Message::MaxWorkersReached(_)
            | Message::NearMaxWorkers(_)
            | Message::ScoreboardFull(_)
            | Message::StillRunningKill { .. }
            | Message::GaveUp { .. } => Level::Error,
            Message::SeemsBusy { .. } | Message::SeemsBusyWorker { .. } => Level::Info,
            Message::SickChildren(_) | Message::ChildFatal { .. } => Level::Alert,
            Message::FatalInOldGeneration { .. }
            | Message::LongLostChild { .. }
            | Message::KilledSuccessively(_)
            | Message::StillRunningTerm { .. } => Level::Warn,
        }
    }

    /// httpd's `APLOGNO` for this message, if it has one.
    pub const fn ah(&self) -> Option<u16> {
        Some(match *self {
            Message::ChildStarted { .. }
            | Message::ChildStopped { .. }
            | Message::ChildQuiescing { .. }
            | Message::ShuttingDownOneChild { .. }
            | Message::AtActiveDaemonsLimit { .. } => return None,
            Message::MaxWorkersReached(m) => by_mpm(m, 484, 286),
            Message::NearMaxWorkers(m) => by_mpm(m, 10159, 287),
            Message::ScoreboardFull(m) => by_mpm(m, 3490, 288),
            Message::SeemsBusy { .. } => 486,
            Message::SeemsBusyWorker { .. } => 289,
            Message::SickChildren(m) => by_mpm(m, 2324, 2325),
            Message::SlotTakenOver { .. } => 263,
            Message::ChildFatal { .. } => 50,
            Message::FatalInOldGeneration { mpm, .. } => by_mpm(mpm, 487, 290),
            Message::LongLostChild { mpm, .. } => by_mpm(mpm, 488, 291),
            Message::KilledSuccessively(m) => by_mpm(m, 10392, 10393),
            Message::StillRunningTerm { .. } => 45,
            Message::StillRunningKill { .. } => 46,
            Message::GaveUp { .. } => 47,
        })
    }
}

const SEEMS_BUSY: &str = "server seems busy, (you may need to increase StartServers, \
                          ThreadsPerChild or Min/MaxSpareThreads), spawning";
const MAX_WORKERS_ADVICE: &str = "consider raising the MaxRequestWorkers setting";

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.ah() {
            write!(f, "AH{n:05}: ")?;
        }
        match *self {
            Message::ChildStarted {
                slot,
                pid,
                generation,
                counts,
            } => {
                write!(
                    f,
                    "Child {slot} started: pid {pid}, gen {generation}, {counts}"
                )
            }
            Message::ChildStopped {
                slot,
                pid,
                generation,
                counts,
                quiescing,
            } => write!(
                f,
                "Child {slot} stopped: pid {pid}, gen {generation}, {counts}, quiescing {quiescing}"
            ),
            Message::ChildQuiescing {
                slot,
                pid,
                generation,
                counts,
            } => {
                write!(
                    f,
                    "Child {slot} quiescing: pid {pid}, gen {generation}, {counts}"
                )
            }
            Message::ShuttingDownOneChild {
                kill,
                counts,
                idle,
                max_workers,
            } => write!(
                f,
                "{}hutting down one child: {counts}, idle threads {idle}, max workers {max_workers}",
                if kill { "S" } else { "Not s" }
            ),
            Message::MaxWorkersReached(_) => {
                write!(
                    f,
                    "server reached MaxRequestWorkers setting, {MAX_WORKERS_ADVICE}"
                )
            }
            Message::NearMaxWorkers(_) => write!(
                f,
                "server is within MinSpareThreads of MaxRequestWorkers, {MAX_WORKERS_ADVICE}"
            ),
            Message::ScoreboardFull(Mpm::Event) => {
                f.write_str("scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit.")
            }
            Message::ScoreboardFull(Mpm::Worker) => {
                f.write_str("scoreboard is full, not at MaxRequestWorkers")
            }
            Message::AtActiveDaemonsLimit {
                cancelled,
                counts,
                rate,
            } => write!(
                f,
                "server is at active daemons limit, spawning of {cancelled} children cancelled: \
                 {counts}, rate {rate}"
            ),
            Message::SeemsBusy {
                spawning,
                idle,
                active,
                stopping,
            } => write!(
                f,
                "{SEEMS_BUSY} {spawning} children, there are around {idle} idle threads, \
                 {active} active children, and {stopping} children that are shutting down"
            ),
            Message::SeemsBusyWorker {
                spawning,
                idle,
                total,
            } => write!(
                f,
                "{SEEMS_BUSY} {spawning} children, there are around {idle} idle threads, \
                 and {total} total children"
            ),
            Message::SickChildren(_) => f.write_str(
                "A resource shortage or other unrecoverable failure was encountered before any \
                 child process initialized successfully... httpd is exiting!",
            ),
            Message::SlotTakenOver { new_pid, old_pid } => write!(
                f,
                "pid {new_pid} taking over scoreboard slot from {old_pid} (quiescing)"
            ),
            Message::ChildFatal { pid } => {
                write!(
                    f,
                    "Child {pid} returned a Fatal error... Apache is exiting!"
                )
            }
            Message::FatalInOldGeneration { pid, .. } => write!(
                f,
                "Ignoring fatal error in child of previous generation (pid {pid})."
            ),
            Message::LongLostChild { pid, .. } => {
                write!(f, "long lost child came home! (pid {pid})")
            }
            Message::KilledSuccessively(_) => f.write_str("children are killed successively!"),
            Message::StillRunningTerm { pid } => {
                write!(
                    f,
                    "child process {pid} still did not exit, sending a SIGTERM"
                )
            }
            Message::StillRunningKill { pid } => {
                write!(
                    f,
                    "child process {pid} still did not exit, sending a SIGKILL"
                )
            }
            Message::GaveUp { pid } => write!(
                f,
                "could not make child process {pid} exit, attempting to continue anyway"
            ),
        }
    }
}

/// A bounded message list where debug and trace lines give way to the rest: they are kept only
/// while half the room is free, so a graceful restart's flood of "quiescing" lines cannot push
/// out an error.
#[derive(Debug)]
pub(crate) struct Notes<const N: usize> {
    pub list: heapless::Vec<Message, N>,
    pub dropped: u16,
}

impl<const N: usize> Notes<N> {
    pub const fn new() -> Self {
        Notes {
            list: heapless::Vec::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, m: Message) {
        let chatty = matches!(m.level(), Level::Debug | Level::Trace(_));
        if (chatty && self.list.len() >= N / 2) || self.list.push(m).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn texts_carry_httpd_numbers_and_wording() {
        let cases = [
            (
                Message::MaxWorkersReached(Mpm::Event),
                "AH00484: server reached MaxRequestWorkers setting, consider raising the \
                 MaxRequestWorkers setting",
            ),
            (
                Message::NearMaxWorkers(Mpm::Worker),
                "AH00287: server is within MinSpareThreads of MaxRequestWorkers, consider \
                 raising the MaxRequestWorkers setting",
            ),
            (
                Message::ScoreboardFull(Mpm::Event),
                "AH03490: scoreboard is full, not at MaxRequestWorkers.Increase ServerLimit.",
            ),
            (
                Message::ScoreboardFull(Mpm::Worker),
                "AH00288: scoreboard is full, not at MaxRequestWorkers",
            ),
            (
                Message::KilledSuccessively(Mpm::Worker),
                "AH10393: children are killed successively!",
            ),
            (
                Message::LongLostChild {
                    mpm: Mpm::Event,
                    pid: 42,
                },
                "AH00488: long lost child came home! (pid 42)",
            ),
            (
                Message::GaveUp { pid: 7 },
                "AH00047: could not make child process 7 exit, attempting to continue anyway",
            ),
            (
                Message::SeemsBusy {
                    spawning: 8,
                    idle: 3,
                    active: 9,
                    stopping: 2,
                },
                "AH00486: server seems busy, (you may need to increase StartServers, \
                 ThreadsPerChild or Min/MaxSpareThreads), spawning 8 children, there are around \
                 3 idle threads, 9 active children, and 2 children that are shutting down",
            ),
            (
                Message::ShuttingDownOneChild {
                    kill: false,
                    counts: Counts {
                        active: 3,
                        active_limit: 4,
                        total: 5,
                        max_daemon_used: 6,
                        server_limit: 16,
                    },
                    idle: 99,
                    max_workers: 100,
                },
                "Not shutting down one child: active 3/4, total 5/6/16, idle threads 99, max \
                 workers 100",
            ),
        ];
        for (m, text) in cases {
            assert_eq!(m.to_string(), text);
        }
    }

    #[test]
    fn chatty_lines_give_way_to_errors() {
        let mut notes = Notes::<4>::new();
        let quiet = Message::SlotTakenOver {
            new_pid: 1,
            old_pid: 2,
        };
        for _ in 0..5 {
            notes.push(quiet);
        }
        notes.push(Message::ScoreboardFull(Mpm::Event));
        notes.push(Message::ScoreboardFull(Mpm::Event));
        assert_eq!(notes.list.len(), 4);
        assert_eq!(notes.dropped, 3);
        assert_eq!(
            notes.list.last(),
            Some(&Message::ScoreboardFull(Mpm::Event))
        );
    }
}
