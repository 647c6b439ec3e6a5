//! The simulated world and its main loop: clock, clients, sockets, poller, workers and the
//! listener's table, stepped event by event with the invariants checked after every step.

use std::collections::VecDeque;

use eventmpm_core::admission::Admission;
use eventmpm_core::conn::{MAX_REQUESTS_PER_DISPATCH, Phase};
use eventmpm_core::listener::Listener;
use eventmpm_core::table::{ConnId, ConnTable};
use eventmpm_core::time::{Duration, Instant};
use eventmpm_core::timeouts::Class;

use crate::check::Checker;
use crate::client::Client;
use crate::clock::Clock;
use crate::poller::{EpollModel, Interest, KqueueModel, PollEvent, Poller, Readiness};
use crate::ports::PortsModel;
use crate::prng::Rng;
use crate::report::{Failure, Report};
use crate::scenario::Scenario;
use crate::socket::{End, EndReason, Owner, Wire};
use crate::trace::{Trace, What};
use crate::worker::Pool;
use crate::{PollerKind, Sabotage, SimConfig};

/// The listening socket's poller token: its low 32 bits are above any table capacity.
pub(crate) const LISTEN: u64 = u32::MAX as u64;
/// Rounds of client and worker actions at one instant before the run is declared livelocked.
const ROUNDS_PER_INSTANT: u32 = 100_000;
/// Stale tokens remembered for fault injection.
pub(crate) const RECENT_CLOSED: usize = 8;

/// The sockets as the poller's kernel sees them.
pub(crate) struct View<'b> {
    pub wires: &'b [Wire],
    pub slot_wire: &'b [Option<usize>],
    pub backlog: usize,
}

impl Readiness for View<'_> {
    fn ready(&self, token: u64, interest: Interest) -> bool {
        if token == LISTEN {
            return self.backlog > 0;
        }
        let Some(&Some(wi)) = self.slot_wire.get(ConnId::from_token(token).index()) else {
            return false;
        };
        let Some(w) = self.wires.get(wi) else {
            return false;
        };
        if w.conn.map(ConnId::token) != Some(token) {
            return false;
        }
        match interest {
            Interest::Readable => w.readable(),
            Interest::Writable => w.writable(),
        }
    }
}

/// Everything a run holds.
pub(crate) struct World<'a> {
    pub seed: u64,
    pub sc: &'a Scenario,
    pub cfg: &'a SimConfig,
    pub clock: Clock,
    pub rng: Rng,
    pub table: ConnTable<'a>,
    /// The core's listener rules (admission, stalled workers, expiry): the server's own.
    pub rules: Listener,
    pub poller: Box<dyn Poller>,
    pub wires: Vec<Wire>,
    pub clients: Vec<Client>,
    pub backlog: VecDeque<usize>,
    pub slot_wire: Vec<Option<usize>>,
    pub pool: Pool,
    pub checker: Checker,
    pub trace: Trace,
    pub report: Report,
    pub stopping: bool,
    /// The moment by which every connection open at the stop must have ended.
    pub drain_by: Option<Instant>,
    pub next_client: usize,
    pub next_spurious: Option<Instant>,
    pub next_stale: Option<Instant>,
    pub recent_closed: VecDeque<u64>,
    pub events: Vec<PollEvent>,
    pub step: u64,
    pub handbacks_lost: u32,
    /// With a late-wake fault: the deadline the listener's timer was set for, and when it fires.
    pub timer: Option<(Instant, Instant)>,
}

impl<'a> World<'a> {
    pub fn new(seed: u64, sc: &'a Scenario, cfg: &'a SimConfig, table: ConnTable<'a>) -> World<'a> {
        let mut rng = Rng::new(seed ^ 0x005E_ED0F_5EED);
        let capacity = table.capacity();
        let mut poller: Box<dyn Poller> = match cfg.poller {
            PollerKind::Epoll => Box::new(EpollModel::new()),
            PollerKind::Ports { spurious_per_mille } => Box::new(PortsModel::new(
                Rng::new(seed ^ 0x0000_9085_F00D),
                spurious_per_mille,
            )),
            PollerKind::Kqueue => Box::new(KqueueModel::new()),
        };
        poller.listen(LISTEN, true);
        let first = |rng: &mut Rng, every: Option<u64>| {
            every.map(|e| Instant::from_millis(rng.range(1, e.saturating_mul(2))))
        };
        let next_spurious = first(&mut rng, sc.faults.spurious_every_ms);
        let next_stale = first(&mut rng, sc.faults.stale_every_ms);
        World {
            seed,
            sc,
            cfg,
            clock: Clock::new(),
            rng,
            rules: Listener::new(Admission::new(sc.workers, sc.factor)),
            poller,
            wires: Vec::new(),
            clients: sc.clients.iter().cloned().map(Client::new).collect(),
            backlog: VecDeque::new(),
            slot_wire: vec![None; capacity],
            pool: Pool::new(sc.workers as usize),
            checker: Checker::new(capacity, &sc.settings),
            trace: Trace::new(cfg.trace_capacity, cfg.echo_trace),
            report: Report {
                seed,
                clients: sc.clients.len() as u64,
                ..Report::default()
            },
            stopping: false,
            drain_by: None,
            next_client: 0,
            next_spurious,
            next_stale,
            recent_closed: VecDeque::new(),
            events: Vec::new(),
            step: 0,
            handbacks_lost: 0,
            timer: None,
            table,
        }
    }

    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    pub fn sabotaged(&self, s: Sabotage) -> bool {
        self.cfg.sabotage == Some(s)
    }

    pub fn fail(&self, invariant: impl Into<String>) -> Failure {
        Failure {
            seed: self.seed,
            step: self.step,
            at: self.now(),
            invariant: invariant.into(),
            trace: self.trace.entries().copied().collect(),
        }
    }

    pub fn trace(&mut self, what: What) {
        self.trace.push(self.step, self.clock.now(), what);
    }

    pub fn view(&self) -> View<'_> {
        View {
            wires: &self.wires,
            slot_wire: &self.slot_wire,
            backlog: self.backlog.len(),
        }
    }

    pub fn wire_of(&self, id: ConnId) -> Option<usize> {
        let wi = (*self.slot_wire.get(id.index())?)?;
        (self.wires.get(wi)?.conn == Some(id)).then_some(wi)
    }

    pub fn notify(&mut self, wi: usize) {
        let now = self.now();
        if let Some(c) = self.wires.get(wi).map(|w| w.client)
            && let Some(c) = self.clients.get_mut(c)
        {
            c.notify(now);
        }
    }

    /// Record the server's first decision to stop reading requests on `wi`.
    pub fn end_stream(&mut self, wi: usize, reason: EndReason) {
        let now = self.now();
        let Some(w) = self.wires.get(wi) else {
            return;
        };
        if w.end.is_some() {
            return;
        }
        let pending = w
            .conn
            .is_some_and(|id| self.poller.armed(id.token()) == Some(Interest::Readable))
            && w.unread() > 0;
        let end = End {
            reason,
            at: now,
            arrived: w.c2s.len(),
            event_pending: pending,
        };
        self.wires[wi].end = Some(end);
    }

    pub fn stop_due(&self) -> bool {
        !self.stopping
            && self
                .sc
                .stop_ms
                .is_some_and(|ms| self.now() >= Instant::from_millis(ms))
    }

    /// How late the listener's timer may fire.
    pub fn slack(&self) -> Duration {
        Duration::from_millis(self.sc.faults.late_wake_ms.unwrap_or(0))
    }

    /// When the listener's timer fires: at `next_deadline()`, or later with a late-wake fault
    /// (drawn once per deadline).
    fn timer_wake(&mut self) -> Option<Instant> {
        let deadline = self.rules.wake_at(&self.table, self.oldest_queued())?;
        let Some(max) = self.sc.faults.late_wake_ms else {
            return Some(deadline);
        };
        match self.timer {
            Some((d, wake)) if d == deadline => Some(wake),
            _ => {
                // A kill request (deadline zero) is "now", never late.
                let late = if deadline == Instant::ZERO {
                    0
                } else {
                    self.rng.range(0, max)
                };
                let wake = deadline + Duration::from_millis(late);
                self.timer = Some((deadline, wake));
                Some(wake)
            }
        }
    }

    fn listener_has_work(&mut self) -> bool {
        let now = self.now();
        self.stop_due()
            || !self.pool.done.is_empty()
            || self.timer_wake().is_some_and(|t| t <= now)
            || self.poller.has_events(&self.view())
    }

    /// The bound on a graceful stop: a connection may still go through one keep-alive wait, one
    /// head read (no extension), its worker (behind a full dispatch queue), two rounds of write
    /// completion (one already under way, one for the closing response) and two short lingers.
    pub fn stop_bound(&self) -> Duration {
        let c = &self.checker;
        let stage = c
            .interval(Class::HeadInitial)
            .max(c.interval(Class::HeadExtended));
        let read = self
            .sc
            .clients
            .iter()
            .map(|c| c.read_time_ms())
            .max()
            .unwrap_or(0);
        let write = c.interval(Class::WriteCompletion).as_millis() + read;
        let handler = self
            .sc
            .clients
            .iter()
            .flat_map(|c| c.requests.iter().map(|r| r.handler_ms as u64))
            .max()
            .unwrap_or(0);
        let workers = u64::from(self.sc.workers.max(1));
        let worker = ((self.table.capacity() as u64).div_ceil(workers) + 1)
            * u64::from(MAX_REQUESTS_PER_DISPATCH + 1)
            * handler;
        let reaction = self
            .sc
            .clients
            .iter()
            .map(|c| c.reaction_ms)
            .max()
            .unwrap_or(0);
        // A handshake under way at the stop runs its course: as long as its client takes to
        // send it, each wait bounded by its stage (or Timeout), then the head as any.
        let handshake = self
            .sc
            .clients
            .iter()
            .map(|c| c.handshake_time_ms())
            .max()
            .unwrap_or(0)
            + c.interval(Class::HandshakeInitial).as_millis()
            + c.interval(Class::HandshakeExtended).as_millis();
        // Each of the (at most nine) timed waits may fire late by the slack.
        Duration::from_millis(
            handshake
                + 2 * write
                + c.interval(Class::KeepAlive).max(stage).as_millis()
                + stage.as_millis()
                + worker
                + 2 * 2000
                + reaction
                + 9 * self.slack().as_millis(),
        )
    }

    /// Every run ends by then: the stop's bound after the stop (clients arriving later are only
    /// refused), or an hour after the last arrival without a stop.
    fn horizon(&self) -> Instant {
        let last = Instant::from_millis(
            self.sc
                .clients
                .iter()
                .map(|c| c.arrive_ms)
                .max()
                .unwrap_or(0),
        );
        match self.sc.stop_ms {
            Some(ms) => {
                (Instant::from_millis(ms) + self.stop_bound()).max(last) + Duration::from_millis(1)
            }
            None => last + Duration::from_secs(3600),
        }
    }

    fn arrive(&mut self, ci: usize) {
        let now = self.now();
        let window = self.clients[ci].spec.window as u64;
        let wi = self.wires.len();
        let mut wire = Wire::new(ci, window);
        wire.handshake = self.clients[ci]
            .spec
            .handshake
            .map_or(0, |h| h.bytes as usize);
        self.wires.push(wire);
        self.clients[ci].arrive(now, wi);
        self.trace(What::Arrive { client: ci });
        if self.stopping || self.backlog.len() >= self.sc.backlog {
            self.refuse(wi);
        } else {
            self.backlog.push_back(wi);
        }
    }

    pub fn refuse(&mut self, wi: usize) {
        let w = &mut self.wires[wi];
        w.refused = true;
        w.owner = Owner::Gone;
        let ci = w.client;
        self.clients[ci].refuse();
        self.report.refused += 1;
        self.trace(What::Refuse { client: ci });
    }

    fn inject_faults(&mut self) -> bool {
        let now = self.now();
        let mut any = false;
        if let (Some(t), Some(every)) = (self.next_spurious, self.sc.faults.spurious_every_ms)
            && t <= now
        {
            any = true;
            let mut armed = Vec::new();
            self.poller.armed_tokens(&mut armed);
            if !armed.is_empty() {
                let token = self.rng.pick(&armed);
                if self.poller.inject_spurious(token) {
                    self.trace(What::Fault {
                        token,
                        stale: false,
                    });
                }
            }
            self.next_spurious = Some(now + Duration::from_millis(self.rng.range(1, every * 2)));
        }
        if let (Some(t), Some(every)) = (self.next_stale, self.sc.faults.stale_every_ms)
            && t <= now
        {
            any = true;
            if !self.recent_closed.is_empty() {
                let i = self.rng.below(self.recent_closed.len() as u64) as usize;
                let token = self.recent_closed[i];
                self.poller.inject_stale(token);
                self.trace(What::Fault { token, stale: true });
            }
            self.next_stale = Some(now + Duration::from_millis(self.rng.range(1, every * 2)));
        }
        any
    }

    /// Everything (other than the listener) due at the current instant.
    fn due(&mut self) -> Result<(), Failure> {
        let now = self.now();
        for _ in 0..ROUNDS_PER_INSTANT {
            let mut any = self.inject_faults();
            while let Some(c) = self.clients.get(self.next_client) {
                if Instant::from_millis(c.spec.arrive_ms) > now {
                    break;
                }
                let ci = self.next_client;
                self.next_client += 1;
                self.arrive(ci);
                any = true;
            }
            for t in 0..self.pool.threads.len() {
                if self.pool.threads[t]
                    .as_ref()
                    .is_some_and(|j| j.until <= now)
                {
                    self.worker_finish(t)?;
                    any = true;
                }
            }
            for ci in 0..self.clients.len() {
                if self.clients[ci].wake.is_some_and(|w| w <= now) {
                    self.client_act(ci);
                    any = true;
                }
            }
            if !any {
                return Ok(());
            }
        }
        Err(self.fail("livelock: clients and workers kept acting at one instant"))
    }

    fn client_act(&mut self, ci: usize) {
        let now = self.now();
        let Some(wi) = self.clients[ci].wire else {
            self.clients[ci].wake = None;
            return;
        };
        let acted = self.clients[ci].act(now, &mut self.wires[wi]);
        if acted.reset {
            self.report.resets += 1;
        }
        if acted != Default::default() {
            self.trace(What::Client { client: ci, acted });
        }
    }

    fn next_time(&mut self) -> Option<Instant> {
        let timer = self.timer_wake();
        let arrival = self
            .clients
            .get(self.next_client)
            .map(|c| Instant::from_millis(c.spec.arrive_ms));
        let stop = (!self.stopping)
            .then_some(self.sc.stop_ms.map(Instant::from_millis))
            .flatten();
        let clients = self.clients.iter().filter_map(|c| c.wake).min();
        let workers = self.pool.threads.iter().flatten().map(|j| j.until).min();
        [
            arrival,
            stop,
            clients,
            workers,
            self.next_spurious,
            self.next_stale,
            timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn describe_unfinished(&self) -> String {
        let Some((ci, c)) = self
            .clients
            .iter()
            .enumerate()
            .find(|(_, c)| c.end.is_none())
        else {
            return String::new();
        };
        let w = c.wire.and_then(|wi| self.wires.get(wi));
        format!(
            " (first: client {ci}, {:?}; its socket: {:?})",
            c.spec.behaviour,
            w.map(|w| (
                w.conn,
                w.owner,
                w.client_fin,
                w.client_reset,
                w.server_shut_wr,
                w.server_closed,
                w.written,
                w.client_read,
                w.responses.len(),
                w.requests.len()
            ))
        )
    }

    fn finished(&self) -> bool {
        self.next_client == self.clients.len()
            && self.backlog.is_empty()
            && self.table.counts().connections == 0
            && self.clients.iter().all(|c| c.end.is_some())
    }

    /// Run to the end, checking after every step.
    pub fn run(mut self) -> Result<Report, Failure> {
        let horizon = self.horizon();
        let mut at_instant = 0u32;
        loop {
            self.step += 1;
            if self.step > self.cfg.max_steps {
                return Err(self.fail(format!(
                    "bounded work: the run did not end within {} steps",
                    self.cfg.max_steps
                )));
            }
            self.due()?;
            if self.listener_has_work() {
                self.iteration()?;
            }
            self.check()?;
            if self.finished() {
                return self.finish();
            }
            let now = self.now();
            let more_now = self.listener_has_work()
                || self
                    .clients
                    .iter()
                    .any(|c| c.wake.is_some_and(|w| w <= now))
                || self.pool.threads.iter().flatten().any(|j| j.until <= now);
            if more_now {
                at_instant += 1;
                if at_instant > ROUNDS_PER_INSTANT {
                    return Err(
                        self.fail("livelock: the listener kept finding work at one instant")
                    );
                }
                continue;
            }
            at_instant = 0;
            let Some(next) = self.next_time() else {
                return Err(self.fail(format!(
                    "stuck: nothing can happen any more, yet {} connections are open and {} \
                     clients unfinished{}",
                    self.table.counts().connections,
                    self.clients.iter().filter(|c| c.end.is_none()).count(),
                    self.describe_unfinished()
                )));
            };
            if next > horizon {
                return Err(self.fail(format!(
                    "the run did not end within its simulated-time bound {horizon:?} (next event \
                     at {next:?}, {} connections open)",
                    self.table.counts().connections
                )));
            }
            self.clock.advance_to(next).map_err(|e| self.fail(e))?;
        }
    }

    /// The invariants that must hold after every step.
    fn check(&mut self) -> Result<(), Failure> {
        let now = self.now();
        self.table
            .validate()
            .map_err(|e| self.fail(format!("table.validate(): {e}")))?;
        self.checker
            .compare(&self.table, now, self.slack())
            .map_err(|e| self.fail(e))?;
        self.check_ownership()
    }

    fn check_ownership(&self) -> Result<(), Failure> {
        let mut held = vec![0u32; self.table.capacity()];
        let mut hold = |id: ConnId, wi: usize, owner: Owner| -> Result<(), Failure> {
            if let Some(h) = held.get_mut(id.index()) {
                *h += 1;
            }
            let w = self.wires.get(wi).map(|w| (w.conn, w.owner));
            if w != Some((Some(id), owner)) {
                return Err(self.fail(format!(
                    "{id:?} is held as {owner:?} but its socket says {w:?}"
                )));
            }
            Ok(())
        };
        for j in &self.pool.queue {
            hold(j.id, j.wire, Owner::Queue)?;
        }
        for (t, j) in self.pool.threads.iter().enumerate() {
            if let Some(j) = j {
                hold(j.id, j.wire, Owner::Worker(t))?;
            }
        }
        for &(id, wi, _) in &self.pool.done {
            hold(id, wi, Owner::Completion)?;
        }
        for s in self.checker.live() {
            let n = held.get(s.id.index()).copied().unwrap_or(0);
            let armed = self.poller.armed(s.id.token());
            if s.phase == Phase::Worker {
                if n != 1 {
                    return Err(self.fail(format!(
                        "{:?} is in a worker's phase but {n} worker-side parties hold it (lost \
                         or duplicated)",
                        s.id
                    )));
                }
                if armed.is_some() {
                    return Err(self.fail(format!(
                        "{:?} is owned by a worker but armed in the poller",
                        s.id
                    )));
                }
            } else {
                let want = if s.phase == Phase::WriteCompletion {
                    Interest::Writable
                } else {
                    Interest::Readable
                };
                let wi = self.wire_of(s.id);
                let owner = wi.and_then(|wi| self.wires.get(wi)).map(|w| w.owner);
                if n != 0 || owner != Some(Owner::Listener) || armed != Some(want) {
                    return Err(self.fail(format!(
                        "{:?} in phase {:?} must be the listener's alone and armed for {want:?}; \
                         held by {n} worker-side parties, owner {owner:?}, armed {armed:?}",
                        s.id, s.phase
                    )));
                }
            }
        }
        let live = self.checker.live().count();
        let held_total: u32 = held.iter().sum();
        let in_worker = self
            .checker
            .live()
            .filter(|s| s.phase == Phase::Worker)
            .count() as u32;
        if held_total != in_worker {
            return Err(self.fail(format!(
                "worker-side parties hold {held_total} connections, {in_worker} of the {live} \
                 open ones are in a worker's phase"
            )));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Report, Failure> {
        if self.poller.registrations() != 0 {
            return Err(self.fail(format!(
                "{} poller registrations outlived their connections",
                self.poller.registrations()
            )));
        }
        if !self.pool.queue.is_empty()
            || !self.pool.done.is_empty()
            || self.pool.threads.iter().any(Option::is_some)
        {
            return Err(self.fail("work left in the worker pool at the end"));
        }
        for (wi, w) in self.wires.iter().enumerate() {
            if !(w.server_closed || w.refused) {
                return Err(self.fail(format!("connection {wi} was never closed")));
            }
        }
        for c in &self.clients {
            if c.end.is_none() {
                return Err(self.fail("a client never finished"));
            }
        }
        self.report.steps = self.step;
        self.report.end = self.now();
        self.report.extensions = self.checker.extensions;
        for w in &self.wires {
            self.report.requests += w
                .requests
                .iter()
                .filter(|r| r.valid && r.complete_at.is_some())
                .count() as u64;
            self.report.error_responses += w.responses.iter().filter(|r| r.error).count() as u64;
        }
        Ok(self.report)
    }
}
