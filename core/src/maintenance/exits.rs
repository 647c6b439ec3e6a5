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
            if evicted { entry.evicted() } else { entry.current() }
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
        let (slot, evicted) = if pid > 0 { self.find(pid)? } else { return None };
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
