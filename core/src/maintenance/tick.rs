//! One maintenance pass: httpd's `perform_idle_server_maintenance`, for every bucket.

use crate::scoreboard::WorkerStatus;

use super::board::Board;
use super::message::{Message, Notes};
use super::params::{Limits, Mpm, Params};
use super::retained::{ChildSlot, Retained};
use super::{MAX_BUCKETS, MAX_MESSAGES, MAX_SPAWN_RATE};

/// What one maintenance tick asks the parent to do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// Slots to fork new children into, in order; record each fork with
    /// [`Retained::child_started`]. A failed fork is simply not recorded.
    pub spawn: heapless::Vec<u16, MAX_SPAWN_RATE>,
    /// Slots whose child to stop gracefully, at most one per bucket. Each names a child this
    /// parent forked and has not reaped; the runtime may tell that child directly or write one
    /// graceful byte into its bucket's pipe of death, as httpd does.
    pub stop_gracefully: heapless::Vec<u16, MAX_BUCKETS>,
    /// No child ever became healthy after a resource shortage (AH02324): stop the server.
    pub shutdown: bool,
    /// Lines to log, errors first to survive: debug and trace lines are kept only while half the
    /// room is free.
    pub messages: heapless::Vec<Message, MAX_MESSAGES>,
    /// Lines that did not fit.
    pub messages_dropped: u16,
}

/// What a bucket's scan found.
#[derive(Debug, Default)]
struct Scan {
    idle: u32,
    active_threads: u32,
    free: heapless::Vec<u16, MAX_SPAWN_RATE>,
    /// The child to stop if one must go: the fewest busy threads, then the highest slot.
    victim: Option<(u16, u32)>,
    /// Worker's "total children" for AH00289: children without a finishing thread.
    total_non_dead: u32,
}

impl Scan {
    fn consider_victim(&mut self, slot: u16, busy: u32) {
        if self.victim.is_none_or(|(_, b)| busy <= b) {
            self.victim = Some((slot, busy));
        }
    }
}

impl<S: AsRef<[ChildSlot]> + AsMut<[ChildSlot]>> Retained<S> {
    /// One maintenance tick, to run once a second when no child has exited during the wait
    /// (httpd runs it only then, and so should the caller: a tick also ends a run of crashes).
    ///
    /// If a graceful restart still has children to start, it starts them and does nothing else
    /// (the new children are not idle yet). Otherwise, for each bucket it counts idle and busy
    /// threads of the children the parent knows, then stops one child if more than
    /// MaxSpareThreads are idle, forks up to the bucket's spawn rate if fewer than
    /// MinSpareThreads are idle (within the active limit and the free slots), or resets the rate.
    #[doc(alias = "perform_idle_server_maintenance")]
    pub fn tick<B: Board + ?Sized>(&mut self, params: &Params, board: &B) -> Decision {
        let l = self.limits(params);
        self.note_buckets(l.buckets);
        self.successive_kills = 0;
        let mut d = Decision::default();
        let mut notes = Notes::<MAX_MESSAGES>::new();

        if self.remaining_to_start > 0 {
            let want = self.remaining_to_start;
            let (started, batch_full) = self.start_children(&l, want, &mut d.spawn);
            self.remaining_to_start = if batch_full { want - started } else { 0 };
            return d;
        }

        for bucket in 0..l.buckets {
            let scan = match l.mpm {
                Mpm::Event => self.scan_event(&l, board, bucket, &mut notes),
                Mpm::Worker => self.scan_worker(&l, board, bucket),
            };
            if self.sick_child_detected {
                if self.had_healthy_child {
                    // A child got fully busy: take the shortage as transient.
                    self.sick_child_detected = false;
                } else if bucket + 1 < l.buckets {
                    continue;
                } else {
                    notes.push(Message::SickChildren(l.mpm));
                    d.shutdown = true;
                    break;
                }
            }
            self.decide(&l, bucket, &scan, &mut d, &mut notes);
        }
        self.refresh_max_daemon_used();
        d.messages = notes.list;
        d.messages_dropped = notes.dropped;
        d
    }

    /// Event: every slot below ServerLimit in this bucket; a slot with a known child is never
    /// free, whatever it is doing.
    fn scan_event<B: Board + ?Sized>(
        &mut self,
        l: &Limits,
        board: &B,
        bucket: usize,
        notes: &mut Notes<MAX_MESSAGES>,
    ) -> Scan {
        let mut scan = Scan::default();
        let rate = self.rates[bucket] as usize;
        for i in (bucket..l.server_limit).step_by(l.buckets) {
            if i >= self.max_daemon_used && scan.free.len() >= rate {
                break;
            }
            let Some(child) = self.slots.as_ref()[i].current() else {
                if scan.free.len() < rate {
                    let _ = scan.free.push(i as u16);
                }
                continue;
            };
            let view = trusted_view(board, i, child.pid, child.generation);
            if view.is_some_and(|v| v.quiescing != 0) && !child.stopping {
                self.acknowledge_stopping(i);
                notes.push(Message::ChildQuiescing {
                    slot: i as u16,
                    pid: child.pid,
                    generation: child.generation,
                    counts: self.counts(l),
                });
            }
            let stopping = self.slots.as_ref()[i].current().is_some_and(|c| c.stopping);
            let counts_idle = view.is_some_and(|v| !v.not_accepting)
                && !stopping
                && child.generation == self.generation;
            let mut busy = 0u32;
            for status in threads(board, l, i, view.is_some()) {
                if status.is_idle() && counts_idle {
                    scan.idle += 1;
                }
                if status.is_active() {
                    busy += 1;
                }
            }
            scan.active_threads += busy;
            if busy as usize == l.threads_per_child {
                self.had_healthy_child = true;
            }
            if !stopping && !child.stop_requested && child.generation == self.generation {
                scan.consider_victim(i as u16, busy);
            }
        }
        scan
    }

    /// Worker: only the first `daemons_limit` slots; a slot is free when it has no child, or its
    /// child is stopping and has a dead thread to give (slots with every thread dead or
    /// finishing first).
    fn scan_worker<B: Board + ?Sized>(&mut self, l: &Limits, board: &B, bucket: usize) -> Scan {
        let mut scan = Scan::default();
        let rate = self.rates[bucket] as usize;
        let mut totally_free = 0usize;
        for i in (bucket..l.daemons_limit).step_by(l.buckets) {
            if i >= self.max_daemon_used && totally_free >= rate {
                break;
            }
            let entry = self.slots.as_ref()[i];
            let (mut any_dying, mut any_dead, mut all_dead) = (false, true, true);
            let mut busy = 0u32;
            let mut may_take = true;
            if let Some(child) = entry.current() {
                let view = trusted_view(board, i, child.pid, child.generation);
                if view.is_some_and(|v| v.quiescing != 0) && !child.stopping {
                    self.acknowledge_stopping(i);
                }
                let stopping = self.slots.as_ref()[i].current().is_some_and(|c| c.stopping);
                let counts_idle = !stopping && child.generation == self.generation;
                any_dead = false;
                // An untrusted record gives nothing: no idle, no busy, no dead thread to reuse.
                all_dead = view.is_some();
                for status in threads(board, l, i, view.is_some()) {
                    any_dying |= status == WorkerStatus::Graceful;
                    any_dead |= status == WorkerStatus::Dead;
                    all_dead &= matches!(status, WorkerStatus::Dead | WorkerStatus::Graceful);
                    if status.is_idle() && counts_idle {
                        scan.idle += 1;
                    }
                    if status.is_active() {
                        busy += 1;
                    }
                }
                // At most one evicted child per slot keeps the parent's records bounded.
                may_take = stopping && entry.evicted().is_none();
                if !stopping && !child.stop_requested && child.generation == self.generation {
                    scan.consider_victim(i as u16, busy);
                }
            }
            scan.active_threads += busy;
            if any_dead
                && may_take
                && totally_free < rate
                && scan.free.len() < l.max_rate as usize
            {
                if scan.free.push(i as u16).is_ok() && all_dead {
                    // As httpd: the slot goes ahead of those still in use, which moves to the back.
                    let last = scan.free.len() - 1;
                    scan.free.swap(totally_free, last);
                    totally_free += 1;
                }
            } else if busy as usize == l.threads_per_child {
                self.had_healthy_child = true;
            }
            if entry.current().is_some() && !any_dying {
                scan.total_non_dead += 1;
            }
        }
        scan
    }

    fn acknowledge_stopping(&mut self, slot: usize) {
        if let Some(child) = self.slots.as_mut()[slot].current.as_mut() {
            child.stopping = true;
            child.stop_requested = false;
            self.active = self.active.saturating_sub(1);
        }
    }

    fn decide(
        &mut self,
        l: &Limits,
        bucket: usize,
        scan: &Scan,
        d: &mut Decision,
        notes: &mut Notes<MAX_MESSAGES>,
    ) {
        let planned = d.spawn.len() as u32;
        let active = self.active.saturating_add(planned);
        let total = self.total.saturating_add(planned);
        let rate = self.rates[bucket];
        if scan.idle > l.per_bucket(l.max_spare) {
            let kill = match l.mpm {
                // Stopping children may linger for long; stop another only when none is stopping
                // or the scoreboard still has room for a whole new generation.
                Mpm::Event => {
                    active == total
                        || (l.server_limit as u32).saturating_sub(total) > l.daemons_limit as u32
                }
                Mpm::Worker => true,
            };
            if l.mpm == Mpm::Event {
                notes.push(Message::ShuttingDownOneChild {
                    kill,
                    counts: self.counts(l),
                    idle: scan.idle,
                    max_workers: l.max_workers,
                });
            }
            if let (true, Some((slot, _))) = (kill, scan.victim) {
                if let Some(child) = self.slots.as_mut()[usize::from(slot)].current.as_mut() {
                    child.stop_requested = true;
                    let _ = d.stop_gracefully.push(slot);
                }
            }
            self.rates[bucket] = 1;
        } else if scan.idle < l.per_bucket(l.min_spare) {
            let at_max_workers = scan.active_threads >= l.per_bucket(l.max_workers);
            match l.mpm {
                Mpm::Event if at_max_workers => {
                    self.report_max_workers(l.mpm, scan.idle, notes);
                    self.rates[bucket] = 1;
                }
                Mpm::Event if scan.free.is_empty() => {
                    notes.push(Message::ScoreboardFull(l.mpm));
                    self.rates[bucket] = 1;
                }
                Mpm::Worker if scan.free.is_empty() => {
                    if at_max_workers {
                        self.report_max_workers(l.mpm, scan.idle, notes);
                    } else {
                        notes.push(Message::ScoreboardFull(l.mpm));
                    }
                    self.rates[bucket] = 1;
                }
                _ => {
                    let mut n = (scan.free.len() as u32).min(rate);
                    let limit = l.daemons_limit as u32;
                    if l.mpm == Mpm::Event && n + active > limit {
                        if active < limit {
                            n = limit - active;
                        } else {
                            notes.push(Message::AtActiveDaemonsLimit {
                                cancelled: n,
                                counts: self.counts(l),
                                rate,
                            });
                            self.rates[bucket] = 1;
                            self.hold_off = self.hold_off.saturating_add(1);
                            n = 0;
                        }
                    }
                    if self.rates[bucket] >= 8 {
                        notes.push(match l.mpm {
                            Mpm::Event => Message::SeemsBusy {
                                spawning: n,
                                idle: scan.idle,
                                active,
                                stopping: total.saturating_sub(active),
                            },
                            Mpm::Worker => Message::SeemsBusyWorker {
                                spawning: n,
                                idle: scan.idle,
                                total: scan.total_non_dead,
                            },
                        });
                    }
                    for &slot in scan.free.iter().take(n as usize) {
                        let _ = d.spawn.push(slot);
                    }
                    // Double next time if this was not enough, unless just after a restart.
                    if self.hold_off > 0 {
                        self.hold_off -= 1;
                    } else if self.rates[bucket] < l.max_rate {
                        self.rates[bucket] = (self.rates[bucket] * 2).min(l.max_rate);
                    }
                }
            }
        } else {
            self.rates[bucket] = 1;
        }
    }

    fn report_max_workers(&mut self, mpm: Mpm, idle: u32, notes: &mut Notes<MAX_MESSAGES>) {
        if idle == 0 {
            if !self.maxclients_reported {
                self.maxclients_reported = true;
                notes.push(Message::MaxWorkersReached(mpm));
            }
        } else if !self.near_maxclients_reported {
            self.near_maxclients_reported = true;
            notes.push(Message::NearMaxWorkers(mpm));
        }
    }
}

/// The slot's record if it is the one the parent wrote for this child.
fn trusted_view<B: Board + ?Sized>(
    board: &B,
    slot: usize,
    pid: i32,
    generation: u32,
) -> Option<super::ProcessView> {
    if slot >= board.process_slots() {
        return None;
    }
    let view = board.process(slot);
    (view.pid == pid && view.generation == generation).then_some(view)
}

/// The statuses of the child's first ThreadsPerChild threads, none if its record is not trusted
/// (and never past the board's own thread records).
fn threads<'b, B: Board + ?Sized>(
    board: &'b B,
    l: &Limits,
    slot: usize,
    trusted: bool,
) -> impl Iterator<Item = WorkerStatus> + 'b {
    let n = if trusted { l.threads_per_child.min(board.thread_slots()) } else { 0 };
    (0..n).map(move |j| board.worker_status(slot, j))
}
