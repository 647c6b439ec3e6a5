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
            if any_dead && may_take && totally_free < rate && scan.free.len() < l.max_rate as usize
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
            let victim = scan.victim.filter(|_| kill).and_then(|(slot, _)| {
                let entry = self.slots.as_mut().get_mut(usize::from(slot))?;
                Some((slot, entry.current.as_mut()?))
            });
            if let Some((slot, child)) = victim {
                child.stop_requested = true;
                let _ = d.stop_gracefully.push(slot);
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
    let n = if trusted {
        l.threads_per_child.min(board.thread_slots())
    } else {
        0
    };
    (0..n).map(move |j| board.worker_status(slot, j))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ArrayBoard, Parent, event, worker};
    use super::super::{ExitStatus, Level, Message, Mpm, ProcessView};
    use super::*;
    extern crate std;
    use std::vec::Vec;

    fn has(d: &Decision, pred: impl Fn(&Message) -> bool) -> usize {
        d.messages.iter().filter(|m| pred(m)).count()
    }

    /// Busy children keep idle at 0, so every tick must spawn: the rate doubles each tick.
    fn doubling(mut p: Parent, ticks: usize) -> Vec<usize> {
        (0..ticks)
            .map(|_| {
                let d = p.tick_and_fork();
                for &s in &d.spawn {
                    p.board.load(s, 0, 10);
                }
                d.spawn.len()
            })
            .collect()
    }

    #[test]
    fn spawn_rate_doubles_1_2_4_8_16_32_then_stays() {
        let p = Parent::new(event(200, 200, 5, 20));
        assert_eq!(doubling(p, 8), [1, 2, 4, 8, 16, 32, 32, 32]);
        let p = Parent::new(worker(200, 200, 5, 20));
        assert_eq!(doubling(p, 7), [1, 2, 4, 8, 16, 32, 32]);
    }

    #[test]
    fn with_three_buckets_each_rate_tops_at_ten() {
        let mut params = event(200, 200, 5, 20);
        params.num_buckets = 3;
        let mut p = Parent::new(params);
        let mut rates = Vec::new();
        for _ in 0..6 {
            let d = p.tick_and_fork();
            for &s in &d.spawn {
                assert_eq!(params.bucket_of(s) as usize, usize::from(s) % 3);
                p.board.load(s, 0, 10);
            }
            assert!(d.spawn.len() <= 30);
            rates.push(p.retained.idle_spawn_rate(0));
        }
        assert_eq!(rates, [2, 4, 8, 10, 10, 10]);
    }

    #[test]
    fn rate_falls_back_to_one_when_a_tick_needs_nothing() {
        let mut p = Parent::new(event(200, 200, 5, 20));
        for _ in 0..3 {
            let d = p.tick_and_fork();
            for &s in &d.spawn {
                p.board.load(s, 0, 10);
            }
        }
        assert_eq!(p.retained.idle_spawn_rate(0), 8);
        p.board.load(0, 10, 0); // 10 idle: between 5 and max(20, 5 + 11)
        let d = p.tick();
        assert!(d.spawn.is_empty() && d.stop_gracefully.is_empty());
        assert_eq!(p.retained.idle_spawn_rate(0), 1);
    }

    #[test]
    fn graceful_restart_holds_the_rate_at_one_for_ten_spawning_ticks() {
        let mut p = Parent::new(event(200, 200, 5, 20));
        for s in p.start() {
            p.board.load(s, 0, 10);
        }
        let d = p.tick_and_fork();
        p.board.load(d.spawn[0], 0, 10);
        assert_eq!(p.retained.idle_spawn_rate(0), 2);

        p.retained.graceful_restart(&p.params);
        assert_eq!(p.retained.hold_off(), 10);
        assert!(
            p.retained.startup(&p.params).is_empty(),
            "nothing forked at the restart"
        );
        // First quiet tick: the remaining StartServers children, and no maintenance.
        let d = p.tick_and_fork();
        assert_eq!(d.spawn.len(), 1);
        assert_eq!(p.retained.remaining_children_to_start(), 0);
        p.board.load(d.spawn[0], 0, 10);
        // The rate was 2 before the restart; it is not doubled again for 10 spawning ticks.
        let counts = doubling(p, 13);
        assert_eq!(counts, [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4, 8]);
    }

    #[test]
    fn stops_one_idle_child_when_none_is_stopping() {
        let mut p = Parent::new(event(6, 4, 1, 12));
        p.params.start_servers = 3;
        p.start();
        p.board.load(0, 5, 5);
        p.board.load(1, 8, 2);
        p.board.load(2, 8, 2);
        let d = p.tick();
        // 21 idle > 12: the child with the fewest busy threads, highest slot first.
        assert_eq!(d.stop_gracefully.as_slice(), &[2]);
        assert_eq!(
            has(&d, |m| matches!(
                m,
                Message::ShuttingDownOneChild { kill: true, .. }
            )),
            1
        );
        assert!(d.spawn.is_empty());
        // It has not shown quiescing yet: the next stop goes to another child.
        let d = p.tick();
        assert_eq!(d.stop_gracefully.as_slice(), &[1]);
    }

    #[test]
    fn do_kill_waits_for_stopping_children_without_slack() {
        // ServerLimit 6, active limit 4: with a child stopping, 6 − 4 = 2 free slots are not
        // enough for a whole new generation, so no second child is stopped.
        let mut p = Parent::new(event(6, 4, 1, 12));
        p.params.start_servers = 4;
        p.start();
        for s in 0..4 {
            p.board.load(s, 10, 0);
        }
        p.board.quiesce(3);
        let d = p.tick();
        assert_eq!(p.retained.active_daemons(), 3);
        assert!(d.stop_gracefully.is_empty());
        assert_eq!(
            has(&d, |m| matches!(
                m,
                Message::ShuttingDownOneChild { kill: false, .. }
            )),
            1
        );
        assert!(
            std::format!("{}", d.messages[1])
                .starts_with("Not shutting down one child: active 3/4")
        );

        // The same with ServerLimit 16: 12 free slots > 4, so it stops one.
        let mut p = Parent::new(event(16, 4, 1, 12));
        p.params.start_servers = 4;
        p.start();
        for s in 0..4 {
            p.board.load(s, 10, 0);
        }
        p.board.quiesce(3);
        let d = p.tick();
        assert_eq!(d.stop_gracefully.len(), 1);
        assert_ne!(d.stop_gracefully[0], 3, "never the child already stopping");

        // Worker has no guard.
        let mut p = Parent::new(worker(6, 4, 1, 12));
        p.params.start_servers = 4;
        p.start();
        for s in 0..4 {
            p.board.load(s, 10, 0);
        }
        p.board.quiesce(3);
        assert_eq!(p.tick().stop_gracefully.len(), 1);
    }

    #[test]
    fn never_stops_an_old_generation_or_unknown_child() {
        let mut p = Parent::new(event(16, 4, 1, 12));
        p.params.start_servers = 2;
        p.start();
        p.retained.graceful_restart(&p.params);
        p.board.load(0, 10, 0);
        p.board.load(1, 10, 0);
        let d = p.tick_and_fork(); // starts the new generation's 2
        assert_eq!(d.spawn.as_slice(), &[2, 3]);
        // A record claiming a pid the parent never forked, in a free slot.
        p.board.procs[5] = ProcessView {
            pid: 4242,
            generation: 1,
            ..ProcessView::default()
        };
        p.board.load(5, 10, 0);
        p.board.load(2, 10, 0);
        p.board.load(3, 10, 0);
        let d = p.tick();
        // 20 idle new-generation threads (old ones do not count) > 12: one of 2 and 3 stops.
        assert_eq!(d.stop_gracefully.len(), 1);
        assert!(matches!(d.stop_gracefully[0], 2 | 3));
    }

    #[test]
    fn event_never_forks_into_a_stopping_childs_slot() {
        let mut p = Parent::new(event(4, 3, 5, 20));
        p.params.start_servers = 2;
        p.start();
        p.board.quiesce(0);
        p.board.load(0, 0, 10);
        p.board.load(1, 0, 10);
        p.retained.rates[0] = 4;
        let d = p.tick();
        // Slots 2 and 3 are free; active 1 of 3 allows 2.
        assert_eq!(d.spawn.as_slice(), &[2, 3]);
        let e = p.retained.child_started(&p.params, 0, 999);
        assert_eq!(
            e,
            Err(super::super::StartError::SlotInUse {
                slot: 0,
                pid: p.pid_in(0)
            })
        );
    }

    #[test]
    fn worker_takes_over_a_quiescing_childs_slot() {
        let mut p = Parent::new(worker(4, 2, 5, 20));
        p.params.start_servers = 2;
        p.start();
        let old = p.pid_in(1);
        p.board.load(0, 0, 10);
        p.board.quiesce(1);
        p.board.threads[1][..5].fill(WorkerStatus::Graceful);
        let d = p.tick();
        assert_eq!(
            d.spawn.as_slice(),
            &[1],
            "worker only uses slots below its limit"
        );
        let note = p.retained.child_started(&p.params, 1, 777).unwrap();
        assert_eq!(
            note,
            Some(Message::SlotTakenOver {
                new_pid: 777,
                old_pid: old
            })
        );
        assert_eq!(
            std::format!("{}", note.unwrap()),
            std::format!("AH00263: pid 777 taking over scoreboard slot from {old} (quiescing)")
        );
        assert_eq!(p.retained.total_daemons(), 3);
        let slot = p.retained.slot(1).unwrap();
        assert_eq!(slot.evicted().map(|c| c.pid), Some(old));
        assert_eq!(p.retained.children().count(), 3);
        // The evicted child exits: it frees nothing.
        let out = p.retained.child_exited(&p.params, old, ExitStatus::Code(0));
        assert_eq!(out.freed, None);
        assert_eq!(p.retained.total_daemons(), 2);
        assert_eq!(p.retained.slot_of(777), Some(1));
        // A slot taken over once is not taken over again while its evicted child lives.
        let mut p = Parent::new(worker(4, 1, 5, 20));
        p.start();
        p.board.quiesce(0);
        let d = p.tick_and_fork();
        assert_eq!(d.spawn.as_slice(), &[0]);
        p.board.quiesce(0);
        assert!(p.tick().spawn.is_empty());
    }

    #[test]
    fn worker_prefers_slots_with_every_thread_gone() {
        let mut p = Parent::new(worker(8, 3, 5, 20));
        p.params.start_servers = 3;
        p.start();
        for s in 0..3 {
            p.board.quiesce(s);
            p.board.load(s, 0, 5); // 5 busy, 5 dead
        }
        p.board.threads[1][..5].fill(WorkerStatus::Graceful);
        let d = p.tick();
        assert_eq!(d.spawn.as_slice(), &[1]);
    }

    #[test]
    fn max_workers_warnings_once_each() {
        for (mpm, full, near) in [(Mpm::Event, 484, 10159), (Mpm::Worker, 286, 287)] {
            let mut p = Parent::new(event(2, 2, 5, 20));
            p.params.mpm = mpm;
            p.params.start_servers = 2;
            p.start();
            p.board.load(0, 0, 10);
            p.board.load(1, 0, 10);
            for round in 0..3 {
                let d = p.tick();
                assert!(d.spawn.is_empty());
                assert_eq!(has(&d, |m| m.ah() == Some(full)), usize::from(round == 0));
            }
            p.board.load(1, 1, 9); // one idle thread, still 20 active (Ready counts as active)
            for round in 0..3 {
                let d = p.tick();
                assert_eq!(has(&d, |m| m.ah() == Some(near)), usize::from(round == 0));
                assert_eq!(has(&d, |m| m.ah() == Some(full)), 0);
            }
        }
    }

    #[test]
    fn scoreboard_full_every_tick() {
        for (mpm, ah) in [(Mpm::Event, 3490), (Mpm::Worker, 288)] {
            let mut p = Parent::new(event(3, 3, 5, 20));
            p.params.mpm = mpm;
            p.params.max_workers = 1000;
            p.params.start_servers = 3;
            p.start();
            for s in 0..3 {
                p.board.load(s, 0, 10);
            }
            for _ in 0..3 {
                let d = p.tick();
                assert!(d.spawn.is_empty());
                assert_eq!(has(&d, |m| m.ah() == Some(ah)), 1);
                assert_eq!(p.retained.idle_spawn_rate(0), 1);
            }
        }
    }

    #[test]
    fn seems_busy_from_rate_eight() {
        for mpm in [Mpm::Event, Mpm::Worker] {
            let mut p = Parent::new(event(200, 200, 5, 20));
            p.params.mpm = mpm;
            let mut seen = Vec::new();
            for _ in 0..5 {
                let d = p.tick_and_fork();
                for &s in &d.spawn {
                    p.board.load(s, 0, 10);
                }
                seen.push(
                    d.messages
                        .iter()
                        .find(|m| m.level() == Level::Info)
                        .copied(),
                );
            }
            assert_eq!(seen[..3], [None, None, None]);
            match (mpm, seen[3], seen[4]) {
                (
                    Mpm::Event,
                    Some(Message::SeemsBusy {
                        spawning: 8,
                        idle: 0,
                        active: 7,
                        stopping: 0,
                    }),
                    Some(Message::SeemsBusy {
                        spawning: 16,
                        active: 15,
                        ..
                    }),
                ) => {}
                (
                    Mpm::Worker,
                    Some(Message::SeemsBusyWorker {
                        spawning: 8,
                        idle: 0,
                        total: 7,
                    }),
                    Some(Message::SeemsBusyWorker {
                        spawning: 16,
                        total: 15,
                        ..
                    }),
                ) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn spawning_stops_at_the_active_limit() {
        let mut p = Parent::new(event(8, 2, 5, 20));
        p.params.max_workers = 100;
        p.params.start_servers = 2;
        p.start();
        p.board.load(0, 0, 10);
        p.board.load(1, 0, 10);
        p.retained.rates[0] = 4;
        let d = p.tick();
        assert!(d.spawn.is_empty());
        let m = d
            .messages
            .iter()
            .find(|m| matches!(m, Message::AtActiveDaemonsLimit { .. }));
        assert_eq!(
            m.map(|m| std::format!("{m}")).as_deref(),
            Some(
                "server is at active daemons limit, spawning of 4 children cancelled: active \
                 2/2, total 2/2/8, rate 4"
            )
        );
        assert_eq!(p.retained.idle_spawn_rate(0), 1);
        assert_eq!(
            p.retained.hold_off(),
            0,
            "raised, then spent on this same tick"
        );

        // One below the limit: the batch is cut to fit.
        let mut p = Parent::new(event(8, 3, 5, 20));
        p.params.max_workers = 100;
        p.params.start_servers = 2;
        p.start();
        p.board.load(0, 0, 10);
        p.board.load(1, 0, 10);
        p.retained.rates[0] = 4;
        assert_eq!(p.tick().spawn.as_slice(), &[2]);
    }

    #[test]
    fn quiescing_is_acknowledged_once() {
        let mut p = Parent::new(event(8, 4, 1, 100));
        p.params.start_servers = 2;
        p.start();
        p.board.load(0, 5, 0);
        p.board.load(1, 5, 0);
        p.board.quiesce(0);
        let d = p.tick();
        let pid = p.pid_in(0);
        assert_eq!(
            d.messages.first().map(|m| std::format!("{m}")),
            Some(std::format!(
                "Child 0 quiescing: pid {pid}, gen 0, active 1/4, total 2/2/8"
            ))
        );
        assert_eq!(
            (p.retained.active_daemons(), p.retained.total_daemons()),
            (1, 2)
        );
        let d = p.tick();
        assert_eq!(has(&d, |m| matches!(m, Message::ChildQuiescing { .. })), 0);
        assert_eq!(p.retained.active_daemons(), 1);
        // A child that clears its flag again does not become active again.
        p.board.procs[0].quiescing = 0;
        p.tick();
        assert_eq!(p.retained.active_daemons(), 1);
    }

    #[test]
    fn sick_children_without_a_healthy_one_stop_the_server() {
        for healthy in [false, true] {
            let mut p = Parent::new(event(8, 4, 1, 100));
            p.params.start_servers = 2;
            p.start();
            let sick = p.pid_in(0);
            let out = p
                .retained
                .child_exited(&p.params, sick, ExitStatus::Code(7));
            assert!(!out.shutdown && out.spawn.is_empty());
            p.board.cleared(0);
            assert!(p.retained.sick_child_detected());
            p.board
                .load(1, if healthy { 0 } else { 5 }, if healthy { 10 } else { 0 });
            let d = p.tick();
            assert_eq!(d.shutdown, !healthy);
            assert_eq!(has(&d, |m| m.ah() == Some(2324)), usize::from(!healthy));
            assert_eq!(p.retained.sick_child_detected(), !healthy);
        }
    }

    #[test]
    fn records_the_parent_did_not_write_count_for_nothing() {
        let mut p = Parent::new(event(8, 4, 5, 100));
        p.start();
        p.board.load(0, 10, 0);
        assert!(p.tick().spawn.is_empty(), "10 idle threads are enough");
        p.board.procs[0].pid = 31337;
        assert_eq!(
            p.tick().spawn.as_slice(),
            &[1],
            "a foreign record is not idle capacity"
        );
        p.board.procs[0].pid = p.pid_in(0);
        p.board.procs[0].generation = 9;
        assert!(!p.tick().spawn.is_empty());
    }

    #[test]
    fn event_skips_children_not_accepting_worker_does_not() {
        for (mpm, spawns) in [(Mpm::Event, true), (Mpm::Worker, false)] {
            let mut p = Parent::new(event(8, 4, 5, 100));
            p.params.mpm = mpm;
            p.start();
            p.board.load(0, 10, 0);
            p.board.procs[0].not_accepting = true;
            assert_eq!(!p.tick().spawn.is_empty(), spawns, "{mpm:?}");
        }
    }

    /// A board that answers nonsense for anything.
    struct Garbage(u64);
    impl Board for Garbage {
        fn process_slots(&self) -> usize {
            usize::MAX
        }
        fn thread_slots(&self) -> usize {
            usize::MAX
        }
        fn process(&self, slot: usize) -> ProcessView {
            let x = self.0.wrapping_mul(slot as u64 + 1).rotate_left(17);
            ProcessView {
                pid: x as i32,
                generation: (x >> 32) as u32 % 3,
                quiescing: (x >> 8) as u8,
                not_accepting: x & 1 == 0,
            }
        }
        fn worker_status(&self, slot: usize, thread: usize) -> WorkerStatus {
            let x = self.0 ^ (slot as u64 * 31 + thread as u64);
            WorkerStatus::from_u8((x % 13) as u8).unwrap_or(WorkerStatus::Dead)
        }
    }

    #[test]
    fn garbage_boards_cannot_panic_or_break_the_limits() {
        for seed in 0..200u64 {
            for mpm in [Mpm::Event, Mpm::Worker] {
                let mut p = Parent::new(event(16, 4, 5, 30));
                p.params.mpm = mpm;
                p.params.start_servers = 3;
                p.start();
                for round in 0..5 {
                    let d = p.retained.tick(&p.params, &Garbage(seed * 7 + round));
                    p.fork_all(&d.spawn);
                    for &s in &d.stop_gracefully {
                        assert!(p.pid_in(s) > 0);
                    }
                    assert!(p.retained.active_daemons() <= 4);
                }
            }
        }
    }

    #[test]
    fn a_small_board_is_read_only_where_it_exists() {
        let mut p = Parent::new(event(8, 4, 5, 100));
        p.params.start_servers = 4;
        p.start();
        let small = ArrayBoard::new(2, 3);
        let d = p.retained.tick(&p.params, &small);
        assert!(!d.shutdown);
    }
}
