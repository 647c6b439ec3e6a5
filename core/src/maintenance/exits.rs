//! A reaped child: what its exit means for the server (httpd's `server_main_loop`, the branch
//! where `ap_wait_or_timeout` returned a pid).

use super::message::Message;
use super::params::Mpm;
use super::retained::{ChildSlot, Retained};
use super::{MAX_EXIT_MESSAGES, MAX_SPAWN_RATE, Params};

/// A child's exit code for a fatal error: the whole server stops (httpd's `APEXIT_CHILDFATAL`).
pub const APEXIT_CHILDFATAL: i32 = 0xf;
/// A child's exit code for a resource shortage: fork more slowly (httpd's `APEXIT_CHILDSICK`).
pub const APEXIT_CHILDSICK: i32 = 7;

/// How a child ended, from `waitpid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// It called `exit` with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

/// What the parent must do after reaping one child.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExitOutcome {
    /// The slot the child owned, now free: the runtime marks its scoreboard record empty (pid
    /// 0, not quiescing, accepting, every thread dead). `None` for an unknown pid or a worker
    /// child whose slot had been taken over.
    pub freed: Option<u16>,
    /// A fatal error in a child of the current generation (or of unknown origin): stop the
    /// server now, ungracefully.
    pub shutdown: bool,
    /// Slots to fork into now: the one-for-one replacement after a graceful restart, and the
    /// immediate restart after a crash.
    pub spawn: heapless::Vec<u16, MAX_SPAWN_RATE>,
    /// Lines to log.
    pub messages: heapless::Vec<Message, MAX_EXIT_MESSAGES>,
}

impl ExitOutcome {
    fn note(&mut self, m: Message) {
        // Capacity covers the worst case (fatal + old generation + stopped = 3).
        let _ = self.messages.push(m);
    }
}

impl<S: AsRef<[ChildSlot]> + AsMut<[ChildSlot]>> Retained<S> {
    /// A child was reaped while the server runs (not while it stops: use
    /// [`child_reaped`](Self::child_reaped) there).
    ///
    /// * exit code [`APEXIT_CHILDFATAL`]: AH00050; from the current generation (or an unknown
    ///   pid) the server shuts down; from an older one AH00487 and it counts as a sick child;
    /// * exit code [`APEXIT_CHILDSICK`]: a sick child; its bucket's spawn rate drops to 1;
    /// * otherwise, while a graceful restart still has children to start, the slot is refilled
    ///   at once (one for one);
    /// * killed by a signal: the parent forks replacements at once for the first two crashes in
    ///   a row; from the third it waits for a quiet tick, logging AH10392 at the 3rd, 13th,
    ///   23rd … crash (a quiet [`tick`](Self::tick) ends the run);
    /// * an unknown pid after a graceful restart: AH00488.
    #[doc(alias = "server_main_loop")]
    pub fn child_exited(&mut self, params: &Params, pid: i32, status: ExitStatus) -> ExitOutcome {
        let l = self.limits(params);
        let mut out = ExitOutcome::default();
        let found = if pid > 0 { self.find(pid) } else { None };
        let known = found.and_then(|(slot, evicted)| {
            let entry = self.slot(slot)?;
            if evicted {
                entry.evicted()
            } else {
                entry.current()
            }
        });
        let fatal = status == ExitStatus::Code(APEXIT_CHILDFATAL);
        let sick = status == ExitStatus::Code(APEXIT_CHILDSICK);

        if fatal {
            out.note(Message::ChildFatal { pid });
            let current = known.is_none_or(|c| c.generation == self.generation);
            if current {
                // httpd returns without noting the exit; forgetting the child anyway keeps the
                // records honest for the shutdown that follows.
                if let Some((slot, evicted)) = found {
                    self.forget(slot, evicted);
                    out.freed = (!evicted).then_some(slot as u16);
                }
                out.shutdown = true;
                return out;
            }
            out.note(Message::FatalInOldGeneration { mpm: l.mpm, pid });
            self.sick_child_detected = true;
        } else if sick {
            self.sick_child_detected = true;
        }

        let Some((slot, evicted)) = found else {
            if self.was_graceful {
                out.note(Message::LongLostChild { mpm: l.mpm, pid });
            }
            return out;
        };

        if evicted {
            let old = self.forget_evicted(slot);
            if sick && old.is_some_and(|c| c.generation == self.generation) {
                self.rates = [1; super::MAX_BUCKETS];
            }
            // httpd does not restart a crashed child that had lost its slot.
            return out;
        }

        let Some(child) = self.forget_current(slot) else {
            return out;
        };
        out.freed = Some(slot as u16);
        if l.mpm == Mpm::Event {
            out.note(Message::ChildStopped {
                slot: slot as u16,
                pid,
                generation: child.generation,
                counts: self.counts(&l),
                quiescing: if child.stopping { 2 } else { 0 },
            });
        }
        if sick {
            if let Some(rate) = self.rates.get_mut(slot % l.buckets) {
                *rate = 1;
            }
        } else if self.remaining_to_start > 0
            && slot < l.usable_slots()
            && (self.active as usize) < l.daemons_limit
        {
            let _ = out.spawn.push(slot as u16);
            self.remaining_to_start -= 1;
        }

        if let ExitStatus::Signal(_) = status {
            self.successive_kills = self.successive_kills.saturating_add(1);
            if self.successive_kills >= 3 {
                if self.successive_kills % 10 == 3 {
                    out.note(Message::KilledSuccessively(l.mpm));
                }
            } else {
                let want = self.remaining_to_start.saturating_add(1);
                let (started, batch_full) = self.start_children(&l, want, &mut out.spawn);
                self.remaining_to_start = if batch_full { want - started } else { 0 };
            }
        }
        out
    }

    /// A child was reaped while the server stops or restarts (httpd's reclaim callback): forget
    /// it, decide nothing. Returns the slot it freed, as [`ExitOutcome::freed`].
    pub fn child_reaped(&mut self, pid: i32) -> Option<u16> {
        let (slot, evicted) = if pid > 0 {
            self.find(pid)?
        } else {
            return None;
        };
        self.forget(slot, evicted);
        (!evicted).then_some(slot as u16)
    }

    fn forget(&mut self, slot: usize, evicted: bool) {
        if evicted {
            self.forget_evicted(slot);
        } else {
            self.forget_current(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Parent, event, worker};
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn started(n: u32) -> Parent {
        let mut p = Parent::new(event(16, 8, 5, 100));
        p.params.start_servers = n;
        p.start();
        p
    }

    fn ahs(out: &ExitOutcome) -> Vec<Option<u16>> {
        out.messages.iter().map(|m| m.ah()).collect()
    }

    #[test]
    fn fatal_error_in_the_current_generation_stops_the_server() {
        let mut p = started(2);
        let pid = p.pid_in(1);
        let out = p
            .retained
            .child_exited(&p.params, pid, ExitStatus::Code(APEXIT_CHILDFATAL));
        assert!(out.shutdown);
        assert_eq!(ahs(&out), [Some(50)]);
        assert_eq!(
            std::format!("{}", out.messages[0]),
            std::format!("AH00050: Child {pid} returned a Fatal error... Apache is exiting!")
        );
        assert_eq!(out.freed, Some(1));
        // From a pid nobody knows, too (httpd: no slot means "current").
        let out = p
            .retained
            .child_exited(&p.params, 5555, ExitStatus::Code(APEXIT_CHILDFATAL));
        assert!(out.shutdown);
    }

    #[test]
    fn fatal_error_in_an_old_generation_is_only_sick() {
        let mut p = started(2);
        let pid = p.pid_in(0);
        p.retained.graceful_restart(&p.params);
        let out = p
            .retained
            .child_exited(&p.params, pid, ExitStatus::Code(APEXIT_CHILDFATAL));
        assert!(!out.shutdown);
        assert_eq!(ahs(&out), [Some(50), Some(487), None]);
        assert!(p.retained.sick_child_detected());
        assert_eq!(out.freed, Some(0));
        let mut p = Parent::new(worker(16, 8, 5, 100));
        p.start();
        let pid = p.pid_in(0);
        p.retained.graceful_restart(&p.params);
        let out = p
            .retained
            .child_exited(&p.params, pid, ExitStatus::Code(APEXIT_CHILDFATAL));
        assert_eq!(ahs(&out), [Some(50), Some(290)]);
    }

    #[test]
    fn sick_child_resets_its_buckets_rate_and_is_not_replaced() {
        let mut p = started(2);
        p.retained.rates[0] = 16;
        p.retained.graceful_restart(&p.params);
        let pid = p.pid_in(0);
        let out = p
            .retained
            .child_exited(&p.params, pid, ExitStatus::Code(APEXIT_CHILDSICK));
        assert_eq!(p.retained.idle_spawn_rate(0), 1);
        assert!(
            out.spawn.is_empty(),
            "no one-for-one replacement for a sick child"
        );
        assert!(p.retained.sick_child_detected());
    }

    #[test]
    fn graceful_restart_replaces_one_for_one_then_the_rest_at_a_quiet_tick() {
        let mut p = started(3);
        let old: Vec<i32> = (0..3).map(|s| p.pid_in(s)).collect();
        p.retained.graceful_restart(&p.params);
        assert_eq!(p.retained.active_daemons(), 0);
        assert_eq!(p.retained.remaining_children_to_start(), 3);
        let out = p
            .retained
            .child_exited(&p.params, old[1], ExitStatus::Code(0));
        assert_eq!(out.freed, Some(1));
        assert_eq!(out.spawn.as_slice(), &[1], "the same slot, at once");
        p.board.cleared(1);
        p.fork_all(&out.spawn);
        assert_eq!(p.retained.remaining_children_to_start(), 2);
        let d = p.tick_and_fork();
        assert_eq!(
            d.spawn.as_slice(),
            &[3, 4],
            "event never reuses slots 0 and 2 yet"
        );
        assert_eq!(p.retained.remaining_children_to_start(), 0);
        let out = p
            .retained
            .child_exited(&p.params, old[0], ExitStatus::Code(0));
        assert!(out.spawn.is_empty());
        assert_eq!(p.retained.active_daemons(), 3);
        assert_eq!(p.retained.total_daemons(), 4);
    }

    #[test]
    fn crashes_restart_at_once_twice_then_wait_for_a_quiet_tick() {
        let mut p = Parent::new(event(64, 40, 5, 100));
        p.params.start_servers = 30;
        p.start();
        let mut immediate = Vec::new();
        let mut warned = Vec::new();
        for crash in 1..=24u32 {
            let slot = (crash % 30) as u16;
            let pid = p.pid_in(slot);
            let out = p
                .retained
                .child_exited(&p.params, pid, ExitStatus::Signal(11));
            assert_eq!(out.freed, Some(slot));
            p.board.cleared(slot);
            immediate.push(out.spawn.len());
            if out.messages.iter().any(|m| m.ah() == Some(10392)) {
                warned.push(crash);
            }
            p.fork_all(&out.spawn);
            // Keep the next victim alive: refill the crashed slot when nothing replaced it.
            if p.pid_in(slot) == 0 {
                p.fork(slot);
            }
        }
        assert_eq!(immediate[..4], [1, 1, 0, 0]);
        assert!(immediate[2..].iter().all(|&n| n == 0));
        assert_eq!(warned, [3, 13, 23]);
        // A quiet tick ends the run.
        p.tick();
        let pid = p.pid_in(5);
        let out = p
            .retained
            .child_exited(&p.params, pid, ExitStatus::Signal(9));
        assert_eq!(out.spawn.len(), 1);
    }

    #[test]
    fn a_crash_restart_respects_the_active_limit() {
        let mut p = Parent::new(event(16, 2, 5, 100));
        p.params.start_servers = 2;
        p.start();
        // Slot 0 stops (quiescing seen), slot 2 takes its place: active 2 of 2.
        p.board.quiesce(0);
        p.board.load(1, 0, 10);
        let d = p.tick_and_fork();
        assert_eq!(d.spawn.as_slice(), &[2]);
        let stopping = p.pid_in(0);
        let out = p
            .retained
            .child_exited(&p.params, stopping, ExitStatus::Signal(11));
        assert!(
            out.spawn.is_empty(),
            "a stopping child's crash must not exceed the limit"
        );
        assert_eq!(p.retained.active_daemons(), 2);
    }

    #[test]
    fn unknown_pids_are_long_lost_only_after_a_graceful_restart() {
        let mut p = started(1);
        let out = p
            .retained
            .child_exited(&p.params, 9999, ExitStatus::Code(0));
        assert!(out.messages.is_empty() && out.freed.is_none() && out.spawn.is_empty());
        p.retained.graceful_restart(&p.params);
        let out = p
            .retained
            .child_exited(&p.params, 9999, ExitStatus::Signal(11));
        assert_eq!(ahs(&out), [Some(488)]);
        assert!(out.spawn.is_empty(), "only known children are restarted");
        let out = p.retained.child_exited(&p.params, -1, ExitStatus::Code(0));
        assert_eq!(ahs(&out), [Some(488)]);
    }

    #[test]
    fn reaping_during_shutdown_decides_nothing() {
        let mut p = started(3);
        p.retained.graceful_restart(&p.params);
        let pid = p.pid_in(2);
        assert_eq!(p.retained.child_reaped(pid), Some(2));
        assert_eq!(p.retained.child_reaped(pid), None);
        assert_eq!(p.retained.remaining_children_to_start(), 3);
        assert_eq!(p.retained.total_daemons(), 2);
        let pids: Vec<i32> = p.retained.children().map(|(_, c)| c.pid).collect();
        assert_eq!(pids, [p.pid_in(0), p.pid_in(1)]);
    }

    #[test]
    fn stopped_line_reports_the_counts() {
        let mut p = started(2);
        let pid = p.pid_in(1);
        let out = p.retained.child_exited(&p.params, pid, ExitStatus::Code(0));
        assert_eq!(
            std::format!("{}", out.messages[0]),
            std::format!(
                "Child 1 stopped: pid {pid}, gen 0, active 1/8, total 1/2/16, quiescing 0"
            )
        );
    }
}
