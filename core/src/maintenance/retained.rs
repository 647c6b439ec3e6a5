//! What the parent knows about its children, kept across restarts.

use core::fmt;

use super::message::{Counts, Message};
use super::params::{Limits, Mpm, Params};
use super::{MAX_BUCKETS, MAX_SPAWN_RATE};

/// One child the parent forked and has not reaped yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Child {
    /// Its pid, as `fork` returned it.
    pub pid: i32,
    /// The generation it was forked in.
    pub generation: u32,
    /// The listener bucket it serves.
    pub bucket: u16,
    /// The parent has seen it stop: its `quiescing` flag was read (httpd's `quiescing == 2`), or
    /// a restart told it to stop. It no longer counts as active.
    pub stopping: bool,
    /// Maintenance has asked it to stop gracefully and it has not shown `quiescing` yet.
    pub stop_requested: bool,
}

/// The parent's record of one scoreboard slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ChildSlot {
    pub(crate) current: Option<Child>,
    pub(crate) evicted: Option<Child>,
}

impl ChildSlot {
    /// A slot no child has.
    pub const EMPTY: ChildSlot = ChildSlot {
        current: None,
        evicted: None,
    };

    /// The child that owns the slot.
    pub const fn current(&self) -> Option<Child> {
        self.current
    }

    /// Worker MPM only: a stopping child whose slot a new child took over (httpd's "extra"
    /// processes). It still runs and must still be reaped; at most one per slot.
    pub const fn evicted(&self) -> Option<Child> {
        self.evicted
    }
}

/// Why [`Retained::child_started`] refused to record a child. The caller has already forked it,
/// so it must stop and reap that child itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StartError {
    /// The slot is beyond ServerLimit or the parent's slot storage.
    SlotOutOfRange {
        /// The slot given.
        slot: u16,
    },
    /// A pid no fork returns (zero or negative).
    BadPid {
        /// The pid given.
        pid: i32,
    },
    /// The pid is already recorded in another slot.
    DuplicatePid {
        /// The pid given.
        pid: i32,
        /// Where it already is.
        slot: u16,
    },
    /// The slot holds a child that may not be replaced (event: any child; worker: a child that is
    /// not stopping, or a slot already taken over once). httpd's AH03455.
    SlotInUse {
        /// The slot.
        slot: u16,
        /// The child in it.
        pid: i32,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StartError::SlotOutOfRange { slot } => {
                write!(f, "scoreboard slot {slot} is beyond ServerLimit")
            }
            StartError::BadPid { pid } => write!(f, "refusing to record child pid {pid}"),
            StartError::DuplicatePid { pid, slot } => {
                write!(
                    f,
                    "child pid {pid} is already recorded in scoreboard slot {slot}"
                )
            }
            StartError::SlotInUse { slot, pid } => write!(
                f,
                "AH03455: BUG: Scoreboard slot {slot} should be empty but is in use by pid {pid}"
            ),
        }
    }
}

/// The parent's retained state (httpd's `event_retained_data` / `worker_retained_data`): which
/// child it forked into which slot, the daemon counts, the spawn rates and the once-only warnings.
///
/// `S` is the slot storage, one [`ChildSlot`] per scoreboard slot, sized once at first start
/// (`Vec<ChildSlot>`, an array, or `&mut [ChildSlot]`); slots beyond it are never used.
///
/// Everything that leads to a signal or a reused slot comes from here: a pid is recorded only by
/// [`child_started`](Self::child_started), right after the parent's own `fork`.
#[derive(Debug)]
pub struct Retained<S> {
    pub(crate) slots: S,
    pub(crate) generation: u32,
    pub(crate) total: u32,
    pub(crate) active: u32,
    /// One past the highest slot holding a known child; bounds every scan of the slots.
    pub(crate) max_daemon_used: usize,
    pub(crate) rates: [u32; MAX_BUCKETS],
    pub(crate) buckets: usize,
    pub(crate) hold_off: u32,
    pub(crate) maxclients_reported: bool,
    pub(crate) near_maxclients_reported: bool,
    pub(crate) sick_child_detected: bool,
    pub(crate) had_healthy_child: bool,
    pub(crate) successive_kills: u32,
    pub(crate) remaining_to_start: u32,
    pub(crate) was_graceful: bool,
}

impl<S: AsRef<[ChildSlot]> + AsMut<[ChildSlot]>> Retained<S> {
    /// Fresh state over `slots` (every entry should be [`ChildSlot::EMPTY`]; whatever is there
    /// is cleared). Generation 0, spawn rates 1.
    pub fn new(mut slots: S) -> Retained<S> {
        slots.as_mut().fill(ChildSlot::EMPTY);
        Retained {
            slots,
            generation: 0,
            total: 0,
            active: 0,
            max_daemon_used: 0,
            rates: [1; MAX_BUCKETS],
            buckets: 1,
            hold_off: 0,
            maxclients_reported: false,
            near_maxclients_reported: false,
            sick_child_detected: false,
            had_healthy_child: false,
            successive_kills: 0,
            remaining_to_start: 0,
            was_graceful: false,
        }
    }

    /// The current generation (httpd's `my_generation`); children forked now get it.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Children forked and not reaped, of any generation, stopping or not.
    pub fn total_daemons(&self) -> u32 {
        self.total
    }

    /// Children not stopping: what the active limit caps.
    pub fn active_daemons(&self) -> u32 {
        self.active
    }

    /// One past the highest slot holding a known child (httpd's `max_daemon_used`, what
    /// `server-status` and reclaim scan up to).
    pub fn max_daemon_used(&self) -> usize {
        self.max_daemon_used
    }

    /// The number of children the next spawning tick of `bucket` may fork (1, 2, 4 … 32 / buckets).
    pub fn idle_spawn_rate(&self, bucket: usize) -> u32 {
        self.rates.get(bucket).copied().unwrap_or(1)
    }

    /// Spawning ticks left before the rate may double again (10 after a graceful restart).
    #[doc(alias = "hold_off_on_exponential_spawning")]
    pub fn hold_off(&self) -> u32 {
        self.hold_off
    }

    /// A child exited with APEXIT_CHILDSICK (or a fatal error in an old generation) and no child
    /// has been seen fully busy since.
    pub fn sick_child_detected(&self) -> bool {
        self.sick_child_detected
    }

    /// Children still to fork for the current generation: after a graceful restart, replacements
    /// for old children that exit, and whatever is left at the next quiet tick.
    pub fn remaining_children_to_start(&self) -> u32 {
        self.remaining_to_start
    }

    /// The parent's record of `slot`, if the storage has it.
    pub fn slot(&self, slot: usize) -> Option<ChildSlot> {
        self.slots.as_ref().get(slot).copied()
    }

    /// Every child the parent has forked and not reaped, with its slot: those owning a slot, and
    /// (worker) the stopping ones whose slot was taken over. This is the list to signal and reap
    /// when the server stops.
    pub fn children(&self) -> Children<'_> {
        let used = self.max_daemon_used.min(self.slots.as_ref().len());
        Children {
            slots: &self.slots.as_ref()[..used],
            next: 0,
            evicted_next: false,
        }
    }

    /// The slot of a known child, or `None`. Evicted (worker) children are found too.
    pub fn slot_of(&self, pid: i32) -> Option<u16> {
        self.find(pid).map(|(slot, _)| slot as u16)
    }

    /// Records a child the parent has just forked into `slot` (httpd's `make_child` +
    /// `note_child_started`). Returns a debug line to log, if any.
    ///
    /// The runtime must also write `pid` and [`generation`](Self::generation) into the slot's
    /// scoreboard record, and clear its `quiescing` and `not_accepting`, before the next tick;
    /// until it does, the record does not match and the child's threads are not counted.
    ///
    /// Event refuses a slot that holds a child. Worker accepts one whose child is stopping: the
    /// old child keeps running without a slot (AH00263) and is still reaped through
    /// [`child_exited`](Self::child_exited).
    pub fn child_started(
        &mut self,
        params: &Params,
        slot: u16,
        pid: i32,
    ) -> Result<Option<Message>, StartError> {
        let l = self.limits(params);
        let index = usize::from(slot);
        if index >= l.server_limit {
            return Err(StartError::SlotOutOfRange { slot });
        }
        if pid <= 0 {
            return Err(StartError::BadPid { pid });
        }
        if let Some((at, _)) = self.find(pid) {
            return Err(StartError::DuplicatePid {
                pid,
                slot: at as u16,
            });
        }
        let record = self.slots.as_ref()[index];
        let mut note = None;
        if let Some(old) = record.current {
            let may_take_over = l.mpm == Mpm::Worker && old.stopping && record.evicted.is_none();
            if !may_take_over {
                return Err(StartError::SlotInUse { slot, pid: old.pid });
            }
            note = Some(Message::SlotTakenOver {
                new_pid: pid,
                old_pid: old.pid,
            });
        }
        let child = Child {
            pid,
            generation: self.generation,
            bucket: params.bucket_of(slot),
            stopping: false,
            stop_requested: false,
        };
        let entry = &mut self.slots.as_mut()[index];
        if let Some(old) = entry.current.take() {
            entry.evicted = Some(old);
        }
        entry.current = Some(child);
        self.total = self.total.saturating_add(1);
        self.active = self.active.saturating_add(1);
        self.max_daemon_used = self.max_daemon_used.max(index + 1);
        if l.mpm == Mpm::Event {
            note = Some(Message::ChildStarted {
                slot,
                pid,
                generation: self.generation,
                counts: self.counts(&l),
            });
        }
        Ok(note)
    }

    /// Cold start (and the start after an ungraceful [`restart`](Self::restart)): the slots to
    /// fork the first children into, up to min(StartServers, active limit) children of the
    /// current generation (event: the first free slots below ServerLimit; worker: below the
    /// daemons limit). At most [`MAX_SPAWN_RATE`] per call: call again after recording the
    /// forks until it returns nothing.
    ///
    /// After a [`graceful_restart`](Self::graceful_restart) it returns nothing: the new
    /// generation replaces old children one for one as they exit
    /// ([`child_exited`](Self::child_exited)), and the rest at the first quiet
    /// [`tick`](Self::tick).
    #[doc(alias = "startup_children")]
    pub fn startup(&mut self, params: &Params) -> heapless::Vec<u16, MAX_SPAWN_RATE> {
        let l = self.limits(params);
        self.note_buckets(l.buckets);
        let mut spawn = heapless::Vec::new();
        if self.was_graceful {
            return spawn;
        }
        let want = l.start_servers.min(l.daemons_limit as u32);
        let generation = self.generation;
        let have = self
            .live()
            .filter(|c| c.generation == generation && !c.stopping)
            .count() as u32;
        self.start_children(&l, want.saturating_sub(have), &mut spawn);
        spawn
    }

    /// A graceful restart (SIGUSR1): the next generation begins. Every known child was told to
    /// stop and now counts as stopping; nothing is forked now. Replacements come one for one as
    /// old children exit, and the rest of min(StartServers, active limit) at the first quiet
    /// tick; the spawn rate is held from doubling for the next 10 spawning ticks.
    pub fn graceful_restart(&mut self, params: &Params) -> u32 {
        let l = self.limits(params);
        self.next_generation(&l);
        self.was_graceful = true;
        self.hold_off = 10;
        self.remaining_to_start = l.start_servers.min(l.daemons_limit as u32);
        self.generation
    }

    /// An ungraceful restart (SIGHUP): the next generation begins and every known child counts
    /// as stopping. The runtime stops and reclaims the old children ([`Reclaim`](super::Reclaim)
    /// and [`child_reaped`](Self::child_reaped)), then calls [`startup`](Self::startup).
    pub fn restart(&mut self, params: &Params) -> u32 {
        let l = self.limits(params);
        self.next_generation(&l);
        self.was_graceful = false;
        self.remaining_to_start = 0;
        self.generation
    }

    pub(crate) fn limits(&self, params: &Params) -> Limits {
        Limits::new(params, self.slots.as_ref().len())
    }

    fn next_generation(&mut self, l: &Limits) {
        self.note_buckets(l.buckets);
        self.generation = self.generation.wrapping_add(1);
        self.had_healthy_child = false;
        self.successive_kills = 0;
        let used = self.max_daemon_used.min(self.slots.as_ref().len());
        for entry in &mut self.slots.as_mut()[..used] {
            if let Some(child) = entry.current.as_mut() {
                if !child.stopping {
                    child.stopping = true;
                    self.active = self.active.saturating_sub(1);
                }
                child.stop_requested = true;
            }
        }
    }

    /// New buckets start at the highest rate any bucket has reached, as in httpd, so they fill
    /// as fast as the old ones.
    pub(crate) fn note_buckets(&mut self, buckets: usize) {
        let buckets = buckets.clamp(1, MAX_BUCKETS);
        if buckets > self.buckets {
            let top = self.rates[..self.buckets]
                .iter()
                .copied()
                .max()
                .unwrap_or(1);
            self.rates[self.buckets..buckets].fill(top);
        }
        self.buckets = buckets;
    }

    pub(crate) fn counts(&self, l: &Limits) -> Counts {
        Counts {
            active: self.active,
            active_limit: l.daemons_limit as u32,
            total: self.total,
            max_daemon_used: self.max_daemon_used as u32,
            server_limit: l.server_limit as u32,
        }
    }

    /// The children owning slots.
    pub(crate) fn live(&self) -> impl Iterator<Item = Child> + '_ {
        let used = self.max_daemon_used.min(self.slots.as_ref().len());
        self.slots.as_ref()[..used].iter().filter_map(|s| s.current)
    }

    /// Where `pid` is: its slot, and whether it is the slot's evicted child.
    pub(crate) fn find(&self, pid: i32) -> Option<(usize, bool)> {
        let used = self.max_daemon_used.min(self.slots.as_ref().len());
        self.slots.as_ref()[..used]
            .iter()
            .enumerate()
            .find_map(|(i, s)| match (s.current, s.evicted) {
                (Some(c), _) if c.pid == pid => Some((i, false)),
                (_, Some(e)) if e.pid == pid => Some((i, true)),
                _ => None,
            })
    }

    /// Appends up to `count` slots for new children to `spawn`: the first slots without a child
    /// and not already in `spawn`, below ServerLimit (event) or the daemons limit (worker),
    /// keeping the active children within the limit and the batch within its capacity. Returns
    /// whether it stopped only because the batch was full, so the caller knows to keep the rest.
    pub(crate) fn start_children(
        &self,
        l: &Limits,
        count: u32,
        spawn: &mut heapless::Vec<u16, MAX_SPAWN_RATE>,
    ) -> (u32, bool) {
        let mut started = 0;
        let slots = self.slots.as_ref();
        for (i, entry) in slots.iter().enumerate().take(l.usable_slots()) {
            if started == count {
                break;
            }
            let active = self.active as usize + spawn.len();
            if active >= l.daemons_limit {
                break;
            }
            // A slot whose squatter exited may still hold its evicted child (worker); the slot
            // itself is free again, as in httpd where only the slot's pid is checked.
            if entry.current.is_some() || spawn.contains(&(i as u16)) {
                continue;
            }
            if spawn.push(i as u16).is_err() {
                return (started, true);
            }
            started += 1;
        }
        (started, false)
    }

    /// Drops the child owning `slot`; returns it.
    pub(crate) fn forget_current(&mut self, slot: usize) -> Option<Child> {
        let child = self.slots.as_mut().get_mut(slot)?.current.take()?;
        self.total = self.total.saturating_sub(1);
        if !child.stopping {
            self.active = self.active.saturating_sub(1);
        }
        Some(child)
    }

    /// Drops the evicted child of `slot`; returns it.
    pub(crate) fn forget_evicted(&mut self, slot: usize) -> Option<Child> {
        let child = self.slots.as_mut().get_mut(slot)?.evicted.take()?;
        self.total = self.total.saturating_sub(1);
        if !child.stopping {
            self.active = self.active.saturating_sub(1);
        }
        Some(child)
    }

    /// Recomputes `max_daemon_used` from the records, as httpd does after each maintenance pass.
    pub(crate) fn refresh_max_daemon_used(&mut self) {
        let used = self.max_daemon_used.min(self.slots.as_ref().len());
        self.max_daemon_used = self.slots.as_ref()[..used]
            .iter()
            .rposition(|s| s.current.is_some() || s.evicted.is_some())
            .map_or(0, |i| i + 1);
    }
}

/// Iterator over every known child and its slot; see [`Retained::children`].
#[derive(Debug, Clone)]
pub struct Children<'a> {
    slots: &'a [ChildSlot],
    next: usize,
    evicted_next: bool,
}

impl Iterator for Children<'_> {
    type Item = (u16, Child);

    fn next(&mut self) -> Option<(u16, Child)> {
        // Bounded by two steps per slot.
        while let Some(entry) = self.slots.get(self.next) {
            let slot = self.next as u16;
            if !self.evicted_next {
                self.evicted_next = true;
                if let Some(c) = entry.current {
                    return Some((slot, c));
                }
            }
            self.evicted_next = false;
            self.next += 1;
            if let Some(c) = entry.evicted {
                return Some((slot, c));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{Parent, event, worker};
    use super::*;
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn startup_clamps_to_the_limit_and_uses_the_first_free_slots() {
        let mut p = Parent::new(event(16, 3, 5, 100));
        p.params.start_servers = 5;
        assert_eq!(p.start(), [0, 1, 2]);
        assert_eq!(p.retained.active_daemons(), 3);
        // Worker: slots below its daemons limit only.
        let mut p = Parent::new(worker(16, 2, 5, 100));
        p.params.start_servers = 3;
        assert_eq!(p.start(), [0, 1]);
    }

    #[test]
    fn startup_comes_in_batches_of_32() {
        let mut p = Parent::new(event(64, 40, 5, 1000));
        p.params.start_servers = 40;
        let first = p.retained.startup(&p.params);
        assert_eq!(first.len(), 32);
        p.fork_all(&first);
        let second = p.retained.startup(&p.params);
        assert_eq!(second.as_slice(), (32..40).collect::<Vec<u16>>().as_slice());
        p.fork_all(&second);
        assert!(p.retained.startup(&p.params).is_empty());
    }

    #[test]
    fn after_an_ungraceful_restart_survivors_keep_their_slots() {
        let mut p = Parent::new(event(16, 3, 5, 100));
        p.params.start_servers = 3;
        p.start();
        let survivor = p.pid_in(1);
        assert_eq!(p.retained.restart(&p.params), 1);
        for s in [0, 2] {
            let pid = p.pid_in(s);
            p.retained.child_reaped(pid);
            p.board.cleared(s);
        }
        assert_eq!(p.retained.active_daemons(), 0);
        let batch = p.retained.startup(&p.params);
        assert_eq!(batch.as_slice(), &[0, 2, 3]);
        assert_eq!(p.pid_in(1), survivor);
    }

    #[test]
    fn child_started_refuses_what_it_cannot_track() {
        let mut p = Parent::new(event(4, 2, 5, 100));
        p.start();
        let pid = p.pid_in(0);
        let params = p.params;
        let r = &mut p.retained;
        assert_eq!(
            r.child_started(&params, 4, 50),
            Err(StartError::SlotOutOfRange { slot: 4 })
        );
        assert_eq!(
            r.child_started(&params, 1, 0),
            Err(StartError::BadPid { pid: 0 })
        );
        assert_eq!(
            r.child_started(&params, 1, pid),
            Err(StartError::DuplicatePid { pid, slot: 0 })
        );
        let e = r.child_started(&params, 0, 51).unwrap_err();
        assert_eq!(
            std::format!("{e}"),
            std::format!(
                "AH03455: BUG: Scoreboard slot 0 should be empty but is in use by pid {pid}"
            )
        );
        // Worker refuses a child that is not stopping.
        let wparams = worker(4, 2, 5, 100);
        let mut w = Retained::new(vec![ChildSlot::EMPTY; 4]);
        w.child_started(&wparams, 0, 60).unwrap();
        assert_eq!(
            w.child_started(&wparams, 0, 61),
            Err(StartError::SlotInUse { slot: 0, pid: 60 })
        );
        assert_eq!(r.total_daemons(), 1);
    }

    #[test]
    fn event_logs_each_start_with_the_counts() {
        let params = event(16, 4, 5, 100);
        let mut r = Retained::new(vec![ChildSlot::EMPTY; 16]);
        let note = r.child_started(&params, 2, 321).unwrap();
        assert_eq!(
            note.map(|m| std::format!("{m}")).as_deref(),
            Some("Child 2 started: pid 321, gen 0, active 1/4, total 1/3/16")
        );
        let wparams = worker(16, 4, 5, 100);
        assert_eq!(
            r.child_started(&wparams, 3, 322),
            Ok(None),
            "worker logs no start line"
        );
    }

    #[test]
    fn new_buckets_start_at_the_highest_rate() {
        let mut r = Retained::new([ChildSlot::EMPTY; 8]);
        r.rates[0] = 8;
        r.note_buckets(3);
        assert_eq!((r.idle_spawn_rate(1), r.idle_spawn_rate(2)), (8, 8));
        assert_eq!(r.idle_spawn_rate(99), 1);
    }

    #[test]
    fn children_lists_evicted_ones_too() {
        let params = worker(4, 2, 5, 100);
        let mut r = Retained::new(vec![ChildSlot::EMPTY; 4]);
        r.child_started(&params, 1, 10).unwrap();
        r.slots[1].current.as_mut().unwrap().stopping = true;
        r.active -= 1;
        r.child_started(&params, 1, 11).unwrap();
        r.child_started(&params, 0, 12).unwrap();
        let all: Vec<(u16, i32)> = r.children().map(|(s, c)| (s, c.pid)).collect();
        assert_eq!(all, [(0, 12), (1, 11), (1, 10)]);
        assert_eq!(r.slot_of(10), Some(1));
    }
}
