//! A seeded model of a running server, driving [`Retained`](super::Retained) through thousands
//! of ticks, exits, crashes and graceful restarts while checking the invariants after each step.
//!
//! The model: a forked child's record is written at once but its threads start a tick later;
//! children told to stop (by maintenance, by a graceful restart, or by themselves, as with
//! MaxConnectionsPerChild) show `quiescing` and linger a few ticks; some crash; the load
//! wanders. The model keeps its own list of live processes, so the parent's records are checked
//! against the truth rather than against themselves.

extern crate std;
use std::collections::BTreeMap;
use std::vec::Vec;

use crate::scoreboard::WorkerStatus;

use super::testing::Parent;
use super::{Decision, ExitStatus, Mpm, Params};

/// splitmix64: tiny, seedable, good enough to drive a model.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }

    fn chance(&mut self, one_in: u32) -> bool {
        self.next().is_multiple_of(u64::from(one_in))
    }
}

#[derive(Debug, Clone, Copy)]
struct Proc {
    pid: i32,
    slot: u16,
    generation: u32,
    born: u32,
    /// Set once the child stops; it exits at this step.
    exit_at: Option<u32>,
    /// Worker: its slot was taken over.
    evicted: bool,
}

struct Sim {
    p: Parent,
    eff: Params,
    rng: Rng,
    procs: Vec<Proc>,
    t: u32,
    demand: u32,
    /// Model noise (crashes, restarts, self-stops) on or off.
    noisy: bool,
    /// How often each AH number was logged.
    logged: BTreeMap<u16, u32>,
    /// How often each path ran, so the test can show it exercised them.
    seen: BTreeMap<&'static str, u32>,
}

impl Sim {
    fn new(params: Params, seed: u64, noisy: bool) -> Sim {
        let mut sim = Sim {
            p: Parent::new(params),
            eff: params.effective(),
            rng: Rng(seed),
            procs: Vec::new(),
            t: 0,
            demand: 0,
            noisy,
            logged: BTreeMap::new(),
            seen: BTreeMap::new(),
        };
        for _ in 0..8 {
            let batch = sim.p.retained.startup(&sim.p.params);
            if batch.is_empty() {
                break;
            }
            sim.check_spawn(&batch);
            for &s in &batch {
                sim.fork(s);
            }
        }
        sim.render();
        sim.check();
        sim
    }

    fn saw(&mut self, what: &'static str) {
        *self.seen.entry(what).or_default() += 1;
    }

    fn fork(&mut self, slot: u16) {
        self.saw("fork");
        if let Some(owner) = self.procs.iter_mut().find(|q| q.slot == slot && !q.evicted) {
            owner.evicted = true;
            self.saw("takeover");
        }
        let pid = self.p.fork(slot);
        self.procs.push(Proc {
            pid,
            slot,
            generation: self.p.retained.generation(),
            born: self.t,
            exit_at: None,
            evicted: false,
        });
    }

    fn owner(&self, slot: u16) -> Option<&Proc> {
        self.procs.iter().find(|q| q.slot == slot && !q.evicted)
    }

    fn stop(&mut self, pid: i32, linger: u32) {
        let t = self.t;
        if let Some(q) = self.procs.iter_mut().find(|q| q.pid == pid) {
            q.exit_at.get_or_insert(t + linger);
        }
    }

    /// One step: exits, or a quiet tick; then outside events and the load.
    fn step(&mut self) -> bool {
        self.t += 1;
        let mut exits = Vec::new();
        // Now and then a crash storm: a bug that kills several children at once.
        let storm = self.noisy && self.rng.chance(150);
        for q in &self.procs {
            if storm && exits.len() < 4 && q.exit_at.is_none() {
                exits.push((q.pid, ExitStatus::Signal(11)));
                continue;
            }
            if q.exit_at.is_some_and(|at| self.t >= at) {
                exits.push((q.pid, ExitStatus::Code(0)));
            } else if self.noisy && self.rng.chance(300) {
                exits.push((q.pid, ExitStatus::Signal(11)));
            } else if self.noisy && self.rng.chance(4000) {
                exits.push((q.pid, ExitStatus::Code(7)));
            }
        }
        for &(pid, status) in &exits {
            if !self.exit(pid, status) {
                return false;
            }
        }
        if exits.is_empty() {
            let d = self.p.tick();
            self.note(&d.messages);
            self.check_decision(&d);
            if d.shutdown {
                return false;
            }
            for &s in &d.spawn {
                self.fork(s);
            }
            for &s in &d.stop_gracefully {
                self.saw("stop");
                let pid = self.owner(s).map(|q| q.pid).unwrap_or(0);
                let linger = self.rng.range(0, 4);
                self.stop(pid, linger);
            }
        }
        if self.noisy && self.rng.chance(120) {
            self.p.retained.graceful_restart(&self.p.params);
            self.saw("graceful restart");
            let pids: Vec<i32> = self.procs.iter().map(|q| q.pid).collect();
            for pid in pids {
                let linger = self.rng.range(1, 20);
                self.stop(pid, linger);
            }
        }
        if self.noisy {
            let pids: Vec<i32> = self.procs.iter().map(|q| q.pid).collect();
            for pid in pids {
                if self.rng.chance(250) {
                    let linger = self.rng.range(0, 5);
                    self.stop(pid, linger);
                }
            }
            let cap = self.eff.daemons_limit * self.eff.threads_per_child;
            let swing = self.rng.range(0, cap / 4 + 2);
            self.demand = if self.rng.chance(2) {
                (self.demand + swing).min(cap + cap / 3)
            } else {
                self.demand.saturating_sub(swing)
            };
        }
        self.render();
        self.check();
        true
    }

    fn exit(&mut self, pid: i32, status: ExitStatus) -> bool {
        let Some(i) = self.procs.iter().position(|q| q.pid == pid) else {
            return true;
        };
        let q = self.procs.remove(i);
        let out = self.p.retained.child_exited(&self.p.params, pid, status);
        self.note(&out.messages);
        assert!(!out.shutdown, "no fatal exits in this model");
        assert_eq!(
            out.freed,
            (!q.evicted).then_some(q.slot),
            "freed slot of {q:?}"
        );
        if let Some(s) = out.freed {
            self.p.board.cleared(s);
        }
        self.check_spawn(&out.spawn);
        if matches!(status, ExitStatus::Signal(_)) {
            self.saw("crash");
            if !out.spawn.is_empty() {
                self.saw("crash restart");
            }
        }
        if q.evicted {
            self.saw("evicted exit");
        }
        for &s in &out.spawn {
            self.fork(s);
        }
        true
    }

    /// The scoreboard as the children would write it.
    fn render(&mut self) {
        let tpc = self.eff.threads_per_child as usize;
        let current = self.p.retained.generation();
        let serving: Vec<u16> = self
            .procs
            .iter()
            .filter(|q| {
                !q.evicted && q.exit_at.is_none() && q.generation == current && self.t >= q.born + 2
            })
            .map(|q| q.slot)
            .collect();
        let mut left = self.demand as usize;
        let share = left.div_ceil(serving.len().max(1));
        for q in self.procs.clone() {
            if q.evicted {
                continue;
            }
            let s = usize::from(q.slot);
            let threads = &mut self.p.board.threads[s];
            if q.exit_at.is_some() {
                self.p.board.procs[s].quiescing = 1;
                // Finishing requests: some busy, the rest finishing (G) or already gone.
                let busy = (q.pid as usize) % (tpc + 1);
                let gone = busy + (tpc - busy) / 2;
                for (j, st) in threads.iter_mut().enumerate().take(tpc) {
                    *st = if j < busy {
                        WorkerStatus::Write
                    } else if j < gone {
                        WorkerStatus::Graceful
                    } else {
                        WorkerStatus::Dead
                    };
                }
            } else if self.t < q.born + 1 {
                threads.fill(WorkerStatus::Dead);
            } else if self.t < q.born + 2 {
                threads[..tpc].fill(WorkerStatus::Starting);
            } else {
                let busy = if serving.contains(&q.slot) {
                    share.min(left).min(tpc)
                } else {
                    0
                };
                left -= busy;
                for (j, st) in threads.iter_mut().enumerate().take(tpc) {
                    *st = if j < busy {
                        WorkerStatus::Write
                    } else {
                        WorkerStatus::Ready
                    };
                }
                self.p.board.procs[s].not_accepting = self.noisy && self.rng.chance(25);
            }
        }
    }

    /// Idle threads as maintenance counts them, from the model's truth (event rules).
    fn idle(&self) -> u32 {
        let current = self.p.retained.generation();
        self.procs
            .iter()
            .filter(|q| !q.evicted && q.exit_at.is_none() && q.generation == current)
            .map(|q| {
                let row = &self.p.board.threads[usize::from(q.slot)];
                row.iter()
                    .take(self.eff.threads_per_child as usize)
                    .filter(|s| s.is_idle())
                    .count() as u32
            })
            .sum()
    }

    fn note(&mut self, messages: &[super::Message]) {
        for m in messages {
            if let Some(ah) = m.ah() {
                *self.logged.entry(ah).or_default() += 1;
            }
        }
    }

    fn check_spawn(&self, spawn: &[u16]) {
        let r = &self.p.retained;
        let mut seen = Vec::new();
        for &s in spawn {
            assert!(!seen.contains(&s), "slot {s} named twice in {spawn:?}");
            seen.push(s);
            let alive: Vec<&Proc> = self.procs.iter().filter(|q| q.slot == s).collect();
            match self.eff.mpm {
                Mpm::Event => {
                    assert!(
                        alive.is_empty(),
                        "event forks into slot {s} of live {alive:?}"
                    );
                    assert!(u32::from(s) < self.eff.server_limit);
                }
                Mpm::Worker => {
                    assert!(u32::from(s) < self.eff.daemons_limit);
                    let slot = r.slot(usize::from(s)).unwrap();
                    if let Some(c) = slot.current() {
                        assert!(c.stopping && slot.evicted().is_none(), "squat on {c:?}");
                    }
                }
            }
        }
        if self.eff.mpm == Mpm::Event {
            let active = r.active_daemons() as usize + spawn.len();
            assert!(
                active <= self.eff.daemons_limit as usize,
                "active {active} over the limit"
            );
        }
    }

    fn check_decision(&self, d: &Decision) {
        self.check_spawn(&d.spawn);
        for &s in &d.stop_gracefully {
            let owner = self.owner(s).expect("stop names a slot with a live child");
            assert_eq!(
                self.p
                    .retained
                    .slot(usize::from(s))
                    .unwrap()
                    .current()
                    .unwrap()
                    .pid,
                { owner.pid }
            );
            assert_eq!(owner.generation, self.p.retained.generation());
        }
    }

    fn check(&self) {
        let r = &self.p.retained;
        // The parent's records are exactly the live processes.
        let mut known: Vec<(u16, i32)> = r.children().map(|(s, c)| (s, c.pid)).collect();
        let mut truth: Vec<(u16, i32)> = self.procs.iter().map(|q| (q.slot, q.pid)).collect();
        known.sort_unstable();
        truth.sort_unstable();
        assert_eq!(known, truth, "step {}", self.t);
        for q in &self.procs {
            let slot = r.slot(usize::from(q.slot)).unwrap();
            let rec = if q.evicted {
                slot.evicted()
            } else {
                slot.current()
            };
            assert_eq!(rec.map(|c| c.pid), Some(q.pid));
        }
        // Counters match the records.
        let active = r.children().filter(|(_, c)| !c.stopping).count() as u32;
        assert_eq!(r.total_daemons(), known.len() as u32);
        assert_eq!(r.active_daemons(), active);
        assert!(r.max_daemon_used() <= self.eff.server_limit as usize);
        match self.eff.mpm {
            Mpm::Event => {
                assert!(active <= self.eff.daemons_limit);
                assert!(known.len() <= self.eff.server_limit as usize);
            }
            Mpm::Worker => {
                let owners = self.procs.iter().filter(|q| !q.evicted).count() as u32;
                assert!(owners <= self.eff.daemons_limit);
            }
        }
        for ah in [484, 10159, 286, 287] {
            assert!(
                self.logged.get(&ah).copied().unwrap_or(0) <= 1,
                "AH{ah:05} twice"
            );
        }
    }
}

fn random_params(rng: &mut Rng) -> Params {
    let mpm = if rng.chance(2) {
        Mpm::Event
    } else {
        Mpm::Worker
    };
    let tpc = rng.range(1, 8);
    let daemons_limit = if rng.chance(4) {
        rng.range(20, 48)
    } else {
        rng.range(1, 10)
    };
    let server_limit = rng.range(daemons_limit, daemons_limit * 2 + 2);
    let spare_children = if rng.chance(3) { 12 } else { 3 };
    let min = rng.range(1, tpc * spare_children);
    Params {
        mpm,
        server_limit,
        thread_limit: tpc + rng.range(0, 2),
        threads_per_child: tpc,
        max_workers: if rng.chance(5) {
            rng.range(1, 100)
        } else {
            daemons_limit * tpc
        },
        daemons_limit,
        min_spare_threads: min,
        max_spare_threads: rng.range(0, min + tpc * 4),
        start_servers: rng.range(0, 6),
        num_buckets: if rng.chance(4) { rng.range(2, 3) } else { 1 },
    }
}

#[test]
fn invariants_hold_across_seeds() {
    let mut shutdowns = 0;
    let mut seen: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut logged: BTreeMap<u16, u32> = BTreeMap::new();
    for seed in 0..160u64 {
        let mut rng = Rng(seed ^ 0x5eed);
        let params = random_params(&mut rng);
        let mut sim = Sim::new(params, seed, true);
        for _ in 0..250 {
            if !sim.step() {
                shutdowns += 1;
                break;
            }
        }
        for (k, v) in sim.seen {
            *seen.entry(k).or_default() += v;
        }
        for (k, v) in sim.logged {
            *logged.entry(k).or_default() += v;
        }
    }
    // The model reached every path it is meant to test.
    for what in [
        "fork",
        "takeover",
        "stop",
        "graceful restart",
        "crash",
        "crash restart",
        "evicted exit",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) >= 5,
            "{what}: {seen:?}"
        );
    }
    for ah in [484, 286, 3490, 288, 486, 289, 10392, 10393] {
        assert!(
            logged.contains_key(&ah),
            "AH{ah:05} never logged: {logged:?}"
        );
    }
    // Sick children only end a run when no child was ever fully busy since; rare here.
    assert!(shutdowns < 40, "{shutdowns} runs ended early");
}

#[test]
fn idle_settles_between_min_and_max_spare_under_steady_load() {
    for seed in 0..40u64 {
        for mpm in [Mpm::Event, Mpm::Worker] {
            let params = Params {
                mpm,
                server_limit: 40,
                thread_limit: 10,
                threads_per_child: 10,
                max_workers: 200,
                daemons_limit: 20,
                min_spare_threads: 25,
                max_spare_threads: 60,
                start_servers: 2,
                num_buckets: 1,
            };
            let mut sim = Sim::new(params, seed, false);
            sim.demand = Rng(seed).range(0, 120);
            for step in 0..90 {
                assert!(sim.step());
                if step >= 45 {
                    let idle = sim.idle();
                    assert!(
                        (25..=60).contains(&idle),
                        "{mpm:?} seed {seed} step {step}: idle {idle} with demand {}",
                        sim.demand
                    );
                }
            }
        }
    }
}
