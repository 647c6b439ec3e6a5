//! The invariant checker's shadow of the table: one [`Shadow`] per open connection, stepped beside
//! the real table, so that every answer, every timeout class and every deadline can be compared
//! with an independent computation.

use eventmpm_core::conn::{Action, Event, HeadTimeout};
use eventmpm_core::table::{ConnId, ConnTable, Settings};
use eventmpm_core::time::{Duration, Instant};
use eventmpm_core::timeouts::{CLASSES, Class};

use crate::model::{Queue, Rules, Shadow};

/// httpd's MAX_SECS_TO_LINGER and SECONDS_TO_LINGER, restated here rather than taken from the core.
const LINGER_MS: u64 = 30_000;
const SHORT_LINGER_MS: u64 = 2_000;

/// The shadow table.
#[derive(Clone, Debug)]
pub(crate) struct Checker {
    slots: Vec<Option<Shadow>>,
    intervals: [Duration; CLASSES],
    rules: Rules,
    kill_pending: bool,
    seq: u64,
    /// Head-read and handshake extensions seen so far.
    pub extensions: u64,
}

fn at_least_1ms(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

impl Checker {
    pub fn new(capacity: usize, settings: &Settings) -> Checker {
        let head = HeadTimeout {
            initial: at_least_1ms(settings.head.initial),
            extended: settings.head.extended.map(at_least_1ms),
            min_rate: settings.head.min_rate,
        };
        let handshake = settings.handshake.map(|h| HeadTimeout {
            initial: at_least_1ms(h.initial),
            extended: h.extended.map(at_least_1ms),
            min_rate: h.min_rate,
        });
        let rules = Rules {
            head,
            handshake,
            stopping: false,
        };
        let mut intervals = [Duration::ZERO; CLASSES];
        intervals[Class::KeepAlive as usize] = at_least_1ms(settings.keep_alive_timeout);
        intervals[Class::HeadInitial as usize] = rules.stage(Class::HeadInitial);
        intervals[Class::HeadExtended as usize] = rules.stage(Class::HeadExtended);
        intervals[Class::WriteCompletion as usize] = at_least_1ms(settings.timeout);
        intervals[Class::Linger as usize] = Duration::from_millis(LINGER_MS);
        intervals[Class::ShortLinger as usize] = Duration::from_millis(SHORT_LINGER_MS);
        intervals[Class::HandshakeInitial as usize] = rules.stage(Class::HandshakeInitial);
        intervals[Class::HandshakeExtended as usize] = rules.stage(Class::HandshakeExtended);
        if handshake.is_none() {
            // Timeout bounds each wait for handshake bytes.
            intervals[Class::HandshakeInitial as usize] = at_least_1ms(settings.timeout);
            intervals[Class::HandshakeExtended as usize] = at_least_1ms(settings.timeout);
        }
        Checker {
            slots: vec![None; capacity],
            intervals,
            rules,
            kill_pending: false,
            seq: 0,
            extensions: 0,
        }
    }

    /// The interval of a class.
    pub fn interval(&self, class: Class) -> Duration {
        self.intervals[class as usize]
    }

    fn deadline(&self, s: &Shadow) -> Option<Instant> {
        s.class.map(|c| s.since + self.interval(c))
    }

    /// The graceful stop: no more head-read extensions, lingering shortened to 2 s.
    pub fn stop(&mut self) {
        self.rules.stopping = true;
        self.intervals[Class::Linger as usize] = Duration::from_millis(SHORT_LINGER_MS);
    }

    /// The shadow of `id`, if it is open.
    pub fn shadow(&self, id: ConnId) -> Option<&Shadow> {
        self.slots
            .get(id.index())
            .and_then(Option::as_ref)
            .filter(|s| s.id == id)
    }

    /// Every open connection's shadow.
    pub fn live(&self) -> impl Iterator<Item = &Shadow> {
        self.slots.iter().flatten()
    }

    fn apply(&mut self, slot: usize, q: Queue, now: Instant) {
        self.seq += 1;
        let seq = self.seq;
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        match q {
            Queue::Keep => {}
            Queue::Enqueue(c) => {
                s.class = Some(c);
                s.since = now;
                s.seq = seq;
            }
            Queue::Dequeue => s.class = None,
        }
        if s.phase == eventmpm_core::conn::Phase::Closed {
            self.slots[slot] = None;
        }
    }

    fn step_slot(
        &mut self,
        slot: usize,
        event: Event,
        now: Instant,
        actual: Action,
    ) -> Result<(), String> {
        let rules = self.rules;
        let Some(s) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return Err(format!("no shadow for slot {slot}"));
        };
        let phase = s.phase;
        let (want, q) = s.step(event, now, &rules);
        if want != actual {
            return Err(format!(
                "conn {slot}: {event:?} in phase {phase:?} answered {actual:?}, the documented \
                 behaviour is {want:?}"
            ));
        }
        self.apply(slot, q, now);
        Ok(())
    }

    /// The table accepted `id` and answered `actual` to `Opened`.
    /// The table accepted `id` (on a TLS port if `event` is [`Event::OpenedTls`]) and answered
    /// `actual` to `event`.
    pub fn opened(
        &mut self,
        id: ConnId,
        now: Instant,
        event: Event,
        actual: Action,
    ) -> Result<(), String> {
        let slot = id.index();
        match self.slots.get_mut(slot) {
            Some(s @ None) => *s = Some(Shadow::new(id, now)),
            Some(Some(old)) => {
                return Err(format!(
                    "the table reused slot {slot} while {:?} is open there",
                    old.id
                ));
            }
            None => return Err(format!("slot {slot} is beyond the capacity")),
        }
        self.step_slot(slot, event, now, actual)
    }

    /// The table answered `actual` to `event` for `id`.
    pub fn event(
        &mut self,
        id: ConnId,
        event: Event,
        now: Instant,
        actual: Action,
    ) -> Result<(), String> {
        if self.shadow(id).is_none() {
            return if actual == Action::Nothing {
                Ok(())
            } else {
                Err(format!(
                    "{event:?} for closed or stale {id:?} answered {actual:?}"
                ))
            };
        }
        self.step_slot(id.index(), event, now, actual)
    }

    /// The listener asked to kill idle keep-alive connections.
    pub fn kill(&mut self) {
        let any = self.live().any(|s| s.class == Some(Class::KeepAlive));
        self.kill_pending = any;
    }

    fn next_due(&self, now: Instant) -> Option<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let s = s.as_ref()?;
                let c = s.class?;
                let d = self.deadline(s)?;
                (d <= now).then_some(((d, c as usize, s.seq), i))
            })
            .min()
            .map(|(_, i)| i)
    }

    /// `ConnTable::expire` returned `(id, actual)`. Returns the event the model applied.
    pub fn expired(&mut self, id: ConnId, actual: Action, now: Instant) -> Result<Event, String> {
        if self.kill_pending {
            let oldest = self
                .live()
                .filter(|s| s.class == Some(Class::KeepAlive))
                .min_by_key(|s| s.seq)
                .map(|s| s.id);
            match oldest {
                Some(o) if o == id => {
                    self.step_slot(id.index(), Event::KeepAliveKilled, now, actual)?;
                    return Ok(Event::KeepAliveKilled);
                }
                Some(o) => {
                    return Err(format!(
                        "killing keep-alive connections returned {id:?} -> {actual:?} before the \
                         oldest idle one {o:?}"
                    ));
                }
                None => self.kill_pending = false,
            }
        }
        for _ in 0..=self.slots.len() {
            let Some(slot) = self.next_due(now) else {
                return Err(format!(
                    "expire returned {id:?} -> {actual:?} at {now:?} but no connection is due \
                     (expired early)"
                ));
            };
            let Some(due) = self.slots[slot] else {
                return Err("internal: due slot vanished".into());
            };
            let class = due.class.unwrap_or(Class::KeepAlive);
            let event = Event::TimedOut(class);
            if due.id == id {
                self.step_slot(slot, event, now, actual)?;
                return Ok(event);
            }
            // The table may have extended an earlier-due head read silently, inside expire.
            self.step_slot(slot, event, now, Action::Nothing)
                .map_err(|_| {
                    format!(
                        "expire returned {id:?} -> {actual:?} but skipped {:?} ({class:?}, due at \
                     {:?}), which the model expires first",
                        due.id,
                        self.deadline(&due)
                    )
                })?;
            self.extensions += 1;
        }
        Err("expire: more due connections than slots".into())
    }

    /// `ConnTable::expire` returned `None`: anything still due must have been extended silently.
    pub fn after_expire(&mut self, now: Instant) -> Result<(), String> {
        if self.kill_pending && self.live().any(|s| s.class == Some(Class::KeepAlive)) {
            return Err(
                "expire stopped while idle keep-alive connections were to be killed".into(),
            );
        }
        self.kill_pending = false;
        for _ in 0..=self.slots.len() {
            let Some(slot) = self.next_due(now) else {
                return Ok(());
            };
            let Some(due) = self.slots[slot] else {
                return Err("internal: due slot vanished".into());
            };
            let class = due.class.unwrap_or(Class::KeepAlive);
            self.step_slot(slot, Event::TimedOut(class), now, Action::Nothing)
                .map_err(|_| {
                    format!(
                        "{:?} passed its deadline {:?} ({class:?}) at {now:?} and expire did not \
                         report it",
                        due.id,
                        self.deadline(&due)
                    )
                })?;
            self.extensions += 1;
        }
        Err("after expire: more due connections than slots".into())
    }

    /// The earliest deadline, computed from the shadows.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.kill_pending {
            return Some(Instant::ZERO);
        }
        self.live().filter_map(|s| self.deadline(s)).min()
    }

    /// Compare with the table, and check that no connection outlived its wait.
    /// `slack` is how late the listener's timer may fire (zero unless a late-wake fault is on).
    pub fn compare(
        &self,
        table: &ConnTable<'_>,
        now: Instant,
        slack: Duration,
    ) -> Result<(), String> {
        let counts = table.counts();
        let live = self.live().count() as u32;
        if live != counts.connections {
            return Err(format!(
                "the table counts {} connections, the model {live}",
                counts.connections
            ));
        }
        for s in self.live() {
            let Some(c) = table.conn(s.id) else {
                return Err(format!("{:?} is open in the model, not in the table", s.id));
            };
            if (c.phase(), c.served(), c.head_bytes()) != (s.phase, s.served, s.head_bytes) {
                return Err(format!(
                    "{:?}: table has phase {:?} served {} head bytes {}, the model {:?} {} {}",
                    s.id,
                    c.phase(),
                    c.served(),
                    c.head_bytes(),
                    s.phase,
                    s.served,
                    s.head_bytes
                ));
            }
            self.within_bounds(s, now, slack)?;
        }
        let want = self.next_deadline();
        let got = table.next_deadline();
        if got != want {
            return Err(format!(
                "next_deadline() is {got:?}, the shadows' earliest deadline is {want:?}"
            ));
        }
        if counts.connections == counts.in_worker && got.is_some() {
            return Err(format!(
                "an idle table (every connection in a worker) has a deadline {got:?}"
            ));
        }
        Ok(())
    }

    fn within_bounds(&self, s: &Shadow, now: Instant, slack: Duration) -> Result<(), String> {
        let Some(class) = s.class else {
            return Ok(());
        };
        let limit = self.interval(class) + slack;
        let waited = now - s.since;
        if waited >= limit {
            let what = match class {
                Class::KeepAlive => "keep-alive idle time reached KeepAliveTimeout",
                Class::HeadInitial => "head read reached its initial stage",
                Class::HeadExtended => "head read reached its extended stage",
                Class::WriteCompletion => "write completion without progress reached Timeout",
                Class::Linger => "lingering close reached 30 s (2 s after the stop)",
                Class::ShortLinger => "short lingering close reached 2 s",
                Class::HandshakeInitial => "a TLS handshake reached its stage (or Timeout)",
                Class::HandshakeExtended => "a TLS handshake reached its extended stage",
            };
            return Err(format!(
                "{:?}: {what}: waiting since {:?}, {waited:?} >= {limit:?} at {now:?} and still \
                 open",
                s.id, s.since
            ));
        }
        // A head's stages, or a handshake's (from the accept: the model starts no head before
        // the handshake ends), end by their maximum whatever the client sends.
        let (what, stages) = match class {
            Class::HeadInitial | Class::HeadExtended => ("head read", Some(self.rules.head)),
            Class::HandshakeInitial | Class::HandshakeExtended => {
                ("TLS handshake", self.rules.handshake)
            }
            _ => ("", None),
        };
        if let Some(h) = stages {
            let max = match (h.min_rate, h.extended) {
                (0, _) => Some(h.initial),
                (_, Some(ext)) => Some(h.initial + ext),
                (_, None) => None,
            };
            if let Some(max) = max
                && now - s.head_start >= max + slack + slack
            {
                return Err(format!(
                    "{:?}: {what} started {:?} outlived its stages ({max:?}) at {now:?}",
                    s.id, s.head_start
                ));
            }
        }
        Ok(())
    }
}
