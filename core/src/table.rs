//! The listener's connection table: a fixed slab of [`Conn`] state machines, their timeout queues
//! and exact counters.
//!
//! The listener thread owns the table alone, as httpd's listener owns its timeout queues (but
//! without httpd's `timeout_mutex`: workers never touch the table; they send [`Handback`]s to the
//! listener, which applies them). Capacity is fixed when the child starts: the caller passes the
//! slot storage, and [`ConnTable::open`] refuses a connection when it is full.
//!
//! Connection ids carry a generation so that an event for a connection that has closed (a stale
//! poller event in the same batch, say) can never reach the connection that reuses its slot.
//!
//! The counters are derived from phase changes as they happen, so they are always exact; httpd
//! copies its counters into the scoreboard only when it processes its timeout queues and they
//! lag (reference §9.5).
//!
//! [`Handback`]: crate::conn::Handback

use crate::admission::Load;
use crate::conn::{Action, Conn, Context, Event, HeadTimeout, Phase, QueueOp};
use crate::time::{Duration, Instant};
use crate::timeouts::{CLASSES, Class, Link, LinkStorage, Timeouts};

const NIL: u32 = u32::MAX;

/// One slot of the table's storage. Create the storage as `[Slot::EMPTY; N]` (or a boxed slice
/// of them) once, at child start.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    conn: Conn,
    link: Link,
    generation: u32,
    next_free: u32,
    live: bool,
}

impl Slot {
    /// An unused slot.
    pub const EMPTY: Slot = Slot {
        conn: Conn::NEW,
        link: Link::UNQUEUED,
        generation: 0,
        next_free: NIL,
        live: false,
    };
}

impl LinkStorage for [Slot] {
    fn slots(&self) -> usize {
        self.len()
    }
    fn link(&self, i: u32) -> &Link {
        &self[i as usize].link
    }
    fn link_mut(&mut self, i: u32) -> &mut Link {
        &mut self[i as usize].link
    }
}

/// A connection's identity: slot index plus the slot's generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

impl ConnId {
    /// The slot index, for the caller's parallel per-connection storage (socket, buffers).
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// The id as a poller token: the slot index in the low [`INDEX_BITS`] bits, the slot's
    /// generation (truncated) above them, and always below [`TOKEN_LIMIT`] — half the range of
    /// a pointer-sized integer, so tokens fit the `udata` of kqueue and event ports on 32-bit
    /// systems too. Tokens whose index part is at or above the table's capacity, and tokens at
    /// or above `TOKEN_LIMIT`, are never connection tokens: the caller may use them for
    /// listeners and wake-ups.
    pub const fn token(self) -> u64 {
        (self.generation as u64 & GENERATION_MASK) << INDEX_BITS | self.index as u64
    }

    /// The id a token stands for (it may be stale; the table checks).
    pub const fn from_token(token: u64) -> ConnId {
        ConnId {
            index: (token & INDEX_MASK) as u32,
            generation: ((token >> INDEX_BITS) & GENERATION_MASK) as u32,
        }
    }
}

/// Bits of a token that hold the slot index: at most 2²⁴ − 1 connections per table.
pub const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
/// Connection tokens are below this; the half of the pointer range above it is the caller's.
pub const TOKEN_LIMIT: u64 = 1 << (usize::BITS - 1);
/// The generation bits a token keeps (7 on 32-bit targets, 39 on 64-bit ones): a stale event
/// must come from a connection closed fewer than 2⁷ slot reuses ago to be mistaken, which no
/// batch of poller events can span.
const GENERATION_MASK: u64 = (TOKEN_LIMIT >> INDEX_BITS) - 1;

/// The table's counters, exact at every moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Counts {
    /// Open connections (httpd's `connection_count`, `ConnsTotal`).
    pub connections: u32,
    /// In a TLS handshake, without a worker: waiting for the TLS layer's input, which is what
    /// httpd's `ConnsAsyncWaitIO` counts (published as `wait_io`).
    pub handshaking: u32,
    /// Receiving a request head, without a worker (ours).
    pub reading: u32,
    /// Owned by a worker.
    pub in_worker: u32,
    /// Waiting for the socket to drain (`ConnsAsyncWriting`).
    pub write_completion: u32,
    /// Idle between requests (`ConnsAsyncKeepAlive`).
    pub keep_alive: u32,
    /// In lingering close (`ConnsAsyncClosing`).
    pub lingering: u32,
}

impl Counts {
    fn bucket(&mut self, phase: Phase) -> Option<&mut u32> {
        match phase {
            Phase::Handshake => Some(&mut self.handshaking),
            Phase::ReadHead => Some(&mut self.reading),
            Phase::Worker => Some(&mut self.in_worker),
            Phase::WriteCompletion => Some(&mut self.write_completion),
            Phase::KeepAlive => Some(&mut self.keep_alive),
            Phase::Linger => Some(&mut self.lingering),
            Phase::Closed => None,
        }
    }

    /// The admission load these counts describe, given the idle workers.
    pub const fn load(&self, idle_workers: u32) -> Load {
        Load {
            connections: self.connections,
            lingering: self.lingering,
            idle_workers,
        }
    }

    /// The counts as a child's scoreboard record publishes them (nothing here is suspended; a
    /// TLS handshake is what waits for other I/O).
    pub const fn published(&self) -> crate::scoreboard::AsyncCounts {
        crate::scoreboard::AsyncCounts {
            connections: self.connections,
            reading: self.reading,
            write_completion: self.write_completion,
            keep_alive: self.keep_alive,
            lingering_close: self.lingering,
            suspended: 0,
            wait_io: self.handshaking,
        }
    }
}

/// The timeouts a table applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `KeepAliveTimeout`.
    pub keep_alive_timeout: Duration,
    /// `Timeout`: the longest wait for the socket to take more of a response.
    pub timeout: Duration,
    /// `RequestReadTimeout header=…`.
    pub head: HeadTimeout,
    /// `RequestReadTimeout handshake=…`, or `None` when that stage is off (httpd's default): the
    /// TLS handshake's reads are then bounded by [`Settings::timeout`] each.
    pub handshake: Option<HeadTimeout>,
}

/// Lingering close bounds (httpd's `MAX_SECS_TO_LINGER` and `SECONDS_TO_LINGER`).
pub const LINGER: Duration = Duration::from_secs(30);
/// See [`LINGER`].
pub const SHORT_LINGER: Duration = Duration::from_secs(2);

/// The connection table. See the [module documentation](self).
#[derive(Debug)]
pub struct ConnTable<'a> {
    slots: &'a mut [Slot],
    timeouts: Timeouts,
    free: u32,
    counts: Counts,
    ctx: Context,
    kill_keep_alive: bool,
}

impl<'a> ConnTable<'a> {
    /// A table over `slots` (every slot is reset). At most 2²⁴ − 1 slots are used.
    pub fn new(slots: &'a mut [Slot], settings: &Settings) -> ConnTable<'a> {
        let len = slots.len().min(INDEX_MASK as usize);
        let slots = &mut slots[..len];
        for (i, s) in slots.iter_mut().enumerate() {
            let next = if i + 1 < len { i as u32 + 1 } else { NIL };
            *s = Slot {
                next_free: next,
                ..Slot::EMPTY
            };
        }
        // A zero interval would expire an entry as it is appended and, for a repeating stage,
        // forever; one millisecond is the clock's resolution.
        let at_least_1ms = |d: Duration| {
            if d == Duration::ZERO {
                Duration::from_millis(1)
            } else {
                d
            }
        };
        let clamp = |t: HeadTimeout| HeadTimeout {
            initial: at_least_1ms(t.initial),
            extended: t.extended.map(at_least_1ms),
            min_rate: t.min_rate,
        };
        let head = clamp(settings.head);
        let handshake = settings.handshake.map(clamp);
        let mut intervals = [Duration::ZERO; CLASSES];
        intervals[Class::KeepAlive as usize] = at_least_1ms(settings.keep_alive_timeout);
        intervals[Class::HeadInitial as usize] = head.initial;
        intervals[Class::HeadExtended as usize] = head.extended.unwrap_or(head.initial);
        intervals[Class::WriteCompletion as usize] = at_least_1ms(settings.timeout);
        intervals[Class::Linger as usize] = LINGER;
        intervals[Class::ShortLinger as usize] = SHORT_LINGER;
        let (first, then) = match handshake {
            Some(h) => (h.initial, h.extended.unwrap_or(h.initial)),
            None => {
                let t = at_least_1ms(settings.timeout);
                (t, t)
            }
        };
        intervals[Class::HandshakeInitial as usize] = first;
        intervals[Class::HandshakeExtended as usize] = then;
        ConnTable {
            free: if len > 0 { 0 } else { NIL },
            slots,
            timeouts: Timeouts::new(intervals),
            counts: Counts::default(),
            ctx: Context {
                head,
                handshake,
                stopping: false,
            },
            kill_keep_alive: false,
        }
    }

    /// The number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Whether every slot is in use.
    pub fn is_full(&self) -> bool {
        self.free == NIL
    }

    /// The counters.
    pub const fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether the child is stopping gracefully.
    pub const fn is_stopping(&self) -> bool {
        self.ctx.stopping
    }

    /// The connection `id` names, if it is still open.
    pub fn conn(&self, id: ConnId) -> Option<&Conn> {
        let s = self.slots.get(id.index as usize)?;
        let generation = (s.generation as u64 & GENERATION_MASK) as u32;
        (s.live && generation == id.generation).then_some(&s.conn)
    }

    /// Take a just-accepted connection. `None` if the table is full (the caller closes the
    /// socket; admission should have stopped accepting before this happens).
    pub fn open(&mut self, now: Instant) -> Option<(ConnId, Action)> {
        self.open_as(Event::Opened, now)
    }

    /// Take a just-accepted connection on a TLS port: it starts in [`Phase::Handshake`], under
    /// the handshake's timeout rather than the request head's. `None` if the table is full.
    pub fn open_tls(&mut self, now: Instant) -> Option<(ConnId, Action)> {
        self.open_as(Event::OpenedTls, now)
    }

    fn open_as(&mut self, opened: Event, now: Instant) -> Option<(ConnId, Action)> {
        let i = self.free;
        let slot = self.slots.get_mut(i as usize)?;
        self.free = slot.next_free;
        slot.next_free = NIL;
        slot.live = true;
        slot.conn = Conn::NEW;
        let id = ConnId {
            index: i,
            generation: (slot.generation as u64 & GENERATION_MASK) as u32,
        };
        self.counts.connections += 1;
        self.counts.reading += 1;
        let action = self.apply(i, opened, now);
        Some((id, action))
    }

    /// Feed an event to connection `id`; returns the I/O to perform. A stale id gets
    /// [`Action::Nothing`]. After [`Action::Close`] the slot is already free.
    pub fn event(&mut self, id: ConnId, event: Event, now: Instant) -> Action {
        if self.conn(id).is_none() {
            return Action::Nothing;
        }
        self.apply(id.index, event, now)
    }

    fn apply(&mut self, i: u32, event: Event, now: Instant) -> Action {
        let slot = &mut self.slots[i as usize];
        let before = slot.conn.phase();
        let step = slot.conn.step(event, &self.ctx);
        let after = slot.conn.phase();
        match step.queue {
            QueueOp::Keep => {}
            QueueOp::Enqueue(class) => self.timeouts.append(&mut *self.slots, i, class, now),
            QueueOp::Dequeue => {
                self.timeouts.remove(&mut *self.slots, i);
            }
        }
        if before != after {
            if let Some(n) = self.counts.bucket(before) {
                *n -= 1;
            }
            if let Some(n) = self.counts.bucket(after) {
                *n += 1;
            }
            // A kill covers the connections idle when it was ordered; once the last of them has
            // left keep-alive (a new request, a timeout) there is nothing for it to do, and a
            // pending kill would make `next_deadline` wake the listener at once for nothing.
            if before == Phase::KeepAlive && self.counts.keep_alive == 0 {
                self.kill_keep_alive = false;
            }
        }
        if after == Phase::Closed {
            self.release(i);
        }
        step.action
    }

    fn release(&mut self, i: u32) {
        let slot = &mut self.slots[i as usize];
        debug_assert!(slot.link.class().is_none());
        slot.live = false;
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free;
        self.free = i;
        self.counts.connections -= 1;
    }

    /// Close idle keep-alive connections at the next [`ConnTable::expire`] calls: no worker was
    /// idle when one was needed (httpd's `workers_were_busy`).
    pub fn kill_keep_alive(&mut self) {
        self.kill_keep_alive = self.counts.keep_alive > 0;
    }

    /// The child starts stopping gracefully: no head-read extensions, and lingering close is
    /// shortened to 2 s as httpd does for a dying child. Keep-alive connections stay until their
    /// next request (answered with `Connection: close` by [`crate::conn::keep_alive`]) or their
    /// timeout, so no request is lost to a race with our FIN.
    pub fn stop(&mut self) {
        self.ctx.stopping = true;
        self.timeouts.set_interval(Class::Linger, SHORT_LINGER);
    }

    /// The earliest moment [`ConnTable::expire`] has work, or `None` when nothing is pending (the
    /// listener may then sleep until an event).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.kill_keep_alive {
            return Some(Instant::ZERO);
        }
        self.timeouts.next_deadline(&*self.slots)
    }

    /// Expire one connection whose time is up (or one idle keep-alive connection being killed)
    /// and return what to do with it. Call until `None`; at most one call per open connection
    /// plus one returns `Some`, since timed-out connections leave their queue or move to a later
    /// deadline.
    pub fn expire(&mut self, now: Instant) -> Option<(ConnId, Action)> {
        self.expire_event(now).map(|(id, _, action)| (id, action))
    }

    /// As [`ConnTable::expire`], with the event that was fed: [`Event::TimedOut`] with the
    /// class whose time was up, or [`Event::KeepAliveKilled`] (for the logs: httpd's AH01382
    /// names the stage that timed out).
    pub fn expire_event(&mut self, now: Instant) -> Option<(ConnId, Event, Action)> {
        if self.kill_keep_alive {
            if let Some(i) = self.timeouts.pop_front(&mut *self.slots, Class::KeepAlive) {
                let event = Event::KeepAliveKilled;
                return Some((self.id(i), event, self.apply(i, event, now)));
            }
            self.kill_keep_alive = false;
        }
        // Head-read extensions return `Nothing` and re-queue the connection at a later deadline;
        // they are handled here, so the loop runs at most once per queued connection.
        for _ in 0..=self.slots.len() {
            let (i, class) = self.timeouts.pop_expired(&mut *self.slots, now)?;
            let id = self.id(i);
            trace!("timeout: {}", class.name());
            match self.apply(i, Event::TimedOut(class), now) {
                Action::Nothing => continue,
                action => return Some((id, Event::TimedOut(class), action)),
            }
        }
        None
    }

    /// The id of the connection open in slot `index`, if any (for a runtime that keeps its own
    /// per-slot state and scans it).
    pub fn id_of(&self, index: usize) -> Option<ConnId> {
        let s = self.slots.get(index)?;
        s.live.then(|| self.id(index as u32))
    }

    fn id(&self, i: u32) -> ConnId {
        ConnId {
            index: i,
            generation: (self.slots[i as usize].generation as u64 & GENERATION_MASK) as u32,
        }
    }

    /// Check every invariant of the table: queues well formed, each connection in exactly the
    /// queue its phase requires (and a worker's in none), counters equal to a recount, the free
    /// list holding exactly the unused slots. O(capacity); for tests and the simulator.
    pub fn validate(&self) -> Result<(), &'static str> {
        self.timeouts.validate(&*self.slots)?;
        let mut recount = Counts::default();
        for s in self.slots.iter() {
            if !s.live {
                if s.link.class().is_some() {
                    return Err("a free slot is queued");
                }
                continue;
            }
            recount.connections += 1;
            let phase = s.conn.phase();
            match recount.bucket(phase) {
                Some(n) => *n += 1,
                None => return Err("a live slot is closed"),
            }
            let ok = matches!(
                (phase, s.link.class()),
                (
                    Phase::ReadHead,
                    Some(Class::HeadInitial | Class::HeadExtended)
                ) | (
                    Phase::Handshake,
                    Some(Class::HandshakeInitial | Class::HandshakeExtended)
                ) | (Phase::Worker, None)
                    | (Phase::WriteCompletion, Some(Class::WriteCompletion))
                    | (Phase::KeepAlive, Some(Class::KeepAlive))
                    | (Phase::Linger, Some(Class::Linger | Class::ShortLinger))
            );
            if !ok {
                return Err("a connection is not in the queue its phase requires");
            }
        }
        if recount != self.counts {
            return Err("counters differ from a recount");
        }
        if self.kill_keep_alive && recount.keep_alive == 0 {
            return Err("a keep-alive kill is pending with no keep-alive connection");
        }
        let (mut i, mut free) = (self.free, 0usize);
        while i != NIL {
            let s = self
                .slots
                .get(i as usize)
                .ok_or("free list index out of range")?;
            if s.live {
                return Err("a live slot is on the free list");
            }
            free += 1;
            if free > self.slots.len() {
                return Err("cycle in the free list");
            }
            i = s.next_free;
        }
        if free + recount.connections as usize != self.slots.len() {
            return Err("free list misses unused slots");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{Handback, HeadRead, Outcome, Wrote};

    fn settings() -> Settings {
        Settings {
            keep_alive_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            head: HeadTimeout::DEFAULT,
            handshake: None,
        }
    }

    /// `RequestReadTimeout handshake=2-4,MinRate=100 header=20-40,MinRate=500`.
    fn with_handshake() -> Settings {
        Settings {
            handshake: Some(HeadTimeout {
                initial: Duration::from_secs(2),
                extended: Some(Duration::from_secs(2)),
                min_rate: 100,
            }),
            ..settings()
        }
    }

    fn at(s: u64) -> Instant {
        Instant::from_millis(s * 1000)
    }

    /// A worker hands `id` back after one request, to wait for the next.
    fn keep_alive_after_a_request(t: &mut ConnTable<'_>, id: ConnId, now: Instant) {
        let handback = Handback {
            served: 1,
            outcome: Outcome::KeepAlive,
        };
        assert_eq!(t.conn(id).map(Conn::phase), Some(Phase::Worker));
        t.event(id, Event::Handback(handback), now);
        assert_eq!(t.conn(id).map(Conn::phase), Some(Phase::KeepAlive));
    }

    #[test]
    fn open_until_full_and_reuse_with_a_new_generation() {
        let mut slots = [Slot::EMPTY; 2];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, act) = t.open(at(0)).unwrap();
        assert_eq!(act, Action::ReadHead);
        let (b, _) = t.open(at(0)).unwrap();
        assert!(t.is_full());
        assert_eq!(t.open(at(0)), None);
        assert_eq!(
            t.event(a, Event::HeadRead(HeadRead::Closed), at(1)),
            Action::Close
        );
        let (c, _) = t.open(at(2)).unwrap();
        assert_eq!(c.index(), a.index());
        assert_ne!(c, a);
        // The old id is stale: its events go nowhere.
        assert_eq!(t.event(a, Event::Ready, at(2)), Action::Nothing);
        assert_eq!(ConnId::from_token(b.token()), b);
        assert_eq!(t.counts().connections, 2);
        t.validate().unwrap();
    }

    #[test]
    fn tokens_fit_half_a_pointer_and_tell_reused_slots_apart() {
        let mut slots = [Slot::EMPTY; 3];
        let mut t = ConnTable::new(&mut slots, &settings());
        let mut previous = None;
        for _ in 0..1000 {
            let (id, _) = t.open(at(0)).unwrap();
            assert!(id.token() < TOKEN_LIMIT);
            assert!(id.token() <= usize::MAX as u64 / 2);
            assert_eq!(ConnId::from_token(id.token()), id);
            if let Some(old) = previous {
                // The slot was reused: the old token no longer reaches it.
                assert_eq!(t.event(old, Event::Ready, at(0)), Action::Nothing);
            }
            assert_eq!(
                t.event(id, Event::HeadRead(HeadRead::Closed), at(0)),
                Action::Close
            );
            previous = Some(id);
        }
        t.validate().unwrap();
    }

    #[test]
    fn counters_follow_phases_exactly() {
        let mut slots = [Slot::EMPTY; 4];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, _) = t.open(at(0)).unwrap();
        let (b, _) = t.open(at(0)).unwrap();
        assert_eq!(t.counts().reading, 2);
        assert_eq!(
            t.event(a, Event::HeadRead(HeadRead::Complete), at(0)),
            Action::Dispatch { served: 0 }
        );
        let c = t.counts();
        assert_eq!((c.reading, c.in_worker), (1, 1));
        let wc = Outcome::WriteCompletion { keep_alive: true };
        t.event(
            a,
            Event::Handback(Handback {
                served: 0,
                outcome: wc,
            }),
            at(1),
        );
        assert_eq!(t.counts().write_completion, 1);
        t.event(a, Event::Wrote(Wrote::Done { buffered: false }), at(2));
        assert_eq!(t.counts().keep_alive, 1);
        assert_eq!(
            t.event(b, Event::HeadRead(HeadRead::Invalid { status: 400 }), at(2)),
            Action::Reject { status: 400 }
        );
        let c = t.counts();
        assert_eq!(
            (c.connections, c.reading, c.keep_alive, c.lingering),
            (2, 0, 1, 1)
        );
        assert_eq!(t.counts().load(3).lingering, 1);
        t.validate().unwrap();
    }

    #[test]
    fn idle_table_has_no_deadline_and_timeouts_fire_in_order() {
        let mut slots = [Slot::EMPTY; 4];
        let mut t = ConnTable::new(&mut slots, &settings());
        assert_eq!(t.next_deadline(), None);
        let (a, _) = t.open(at(0)).unwrap();
        t.event(a, Event::HeadRead(HeadRead::Complete), at(0));
        assert_eq!(
            t.next_deadline(),
            None,
            "a connection in a worker has no deadline"
        );
        keep_alive_after_a_request(&mut t, a, at(1));
        assert_eq!(t.next_deadline(), Some(at(6)));
        assert_eq!(t.expire(at(5)), None);
        assert_eq!(t.expire(at(6)), Some((a, Action::Linger)));
        assert_eq!(t.next_deadline(), Some(at(8)), "short linger is 2 s");
        assert_eq!(t.expire(at(8)), Some((a, Action::Close)));
        assert_eq!(t.next_deadline(), None);
        assert_eq!(t.counts(), Counts::default());
        t.validate().unwrap();
    }

    #[test]
    fn head_extension_is_handled_inside_expire() {
        let mut slots = [Slot::EMPTY; 1];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, _) = t.open(at(0)).unwrap();
        t.event(
            a,
            Event::HeadRead(HeadRead::Partial { new_bytes: 20_000 }),
            at(1),
        );
        // At 20 s the rate was met: no action, but a new deadline at 40 s.
        assert_eq!(t.expire(at(20)), None);
        assert_eq!(t.next_deadline(), Some(at(40)));
        assert_eq!(t.expire(at(40)), Some((a, Action::Reject { status: 408 })));
        t.validate().unwrap();
    }

    #[test]
    fn kill_keep_alive_closes_only_idle_connections() {
        let mut slots = [Slot::EMPTY; 4];
        let mut t = ConnTable::new(&mut slots, &settings());
        let mut ids = [None; 3];
        for id in ids.iter_mut() {
            let (c, _) = t.open(at(0)).unwrap();
            t.event(c, Event::HeadRead(HeadRead::Complete), at(0));
            *id = Some(c);
        }
        let [a, b, c] = ids.map(Option::unwrap);
        keep_alive_after_a_request(&mut t, a, at(0));
        keep_alive_after_a_request(&mut t, b, at(0));
        t.kill_keep_alive();
        assert_eq!(t.next_deadline(), Some(Instant::ZERO));
        let mut killed = [t.expire(at(0)), t.expire(at(0))];
        killed.sort_by_key(|k| k.map(|(id, _)| id.index()));
        assert_eq!(
            killed,
            [Some((a, Action::Linger)), Some((b, Action::Linger))]
        );
        assert_eq!(t.expire(at(0)), None);
        assert_eq!(
            t.conn(c).map(Conn::phase),
            Some(Phase::Worker),
            "busy connections untouched"
        );
        t.validate().unwrap();
    }

    #[test]
    fn a_kill_lapses_when_its_connections_leave_keep_alive() {
        let mut slots = [Slot::EMPTY; 2];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, _) = t.open(at(0)).unwrap();
        t.event(a, Event::HeadRead(HeadRead::Complete), at(0));
        keep_alive_after_a_request(&mut t, a, at(0));
        t.kill_keep_alive();
        assert_eq!(t.next_deadline(), Some(Instant::ZERO));
        // The client's next request arrives before the listener gets round to the kill.
        t.event(a, Event::Ready, at(0));
        t.event(a, Event::HeadRead(HeadRead::Complete), at(0));
        assert_eq!(t.conn(a).map(Conn::phase), Some(Phase::Worker));
        assert_eq!(t.next_deadline(), None, "nothing waits, so nothing is due");
        assert_eq!(t.expire(at(0)), None);
        t.validate().unwrap();
    }

    mod properties {
        use super::*;
        use crate::conn::Wrote;
        use proptest::prelude::*;
        extern crate std;
        use std::vec::Vec;

        fn event() -> impl Strategy<Value = Event> {
            let outcome = prop_oneof![
                Just(Outcome::KeepAlive),
                (0u32..5000).prop_map(|bytes| Outcome::PartialHead { bytes }),
                Just(Outcome::Yield),
                any::<bool>().prop_map(|keep_alive| Outcome::WriteCompletion { keep_alive }),
                Just(Outcome::Linger),
                Just(Outcome::Close),
            ];
            prop_oneof![
                Just(Event::Ready),
                (0u32..20_000).prop_map(|n| Event::HeadRead(HeadRead::Partial { new_bytes: n })),
                (0u32..2_000).prop_map(|n| Event::HeadRead(HeadRead::Handshaking { new_bytes: n })),
                Just(Event::HeadRead(HeadRead::Complete)),
                prop_oneof![Just(400u16), Just(414), Just(431)]
                    .prop_map(|status| Event::HeadRead(HeadRead::Invalid { status })),
                Just(Event::HeadRead(HeadRead::Closed)),
                prop_oneof![
                    Just(Wrote::Progress),
                    Just(Wrote::Blocked),
                    any::<bool>().prop_map(|buffered| Wrote::Done { buffered }),
                    Just(Wrote::Failed)
                ]
                .prop_map(Event::Wrote),
                any::<bool>().prop_map(|eof| Event::Drained { eof }),
                (0u32..3, outcome)
                    .prop_map(|(served, outcome)| Event::Handback(Handback { served, outcome })),
            ]
        }

        #[derive(Debug, Clone)]
        enum Op {
            Open,
            OpenTls,
            Event(usize, Event),
            Advance(u16),
            Expire,
            Kill,
            Stop,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                2 => Just(Op::Open),
                2 => Just(Op::OpenTls),
                8 => (0usize..8, event()).prop_map(|(i, e)| Op::Event(i, e)),
                2 => (0u16..30_000).prop_map(Op::Advance),
                2 => Just(Op::Expire),
                1 => Just(Op::Kill),
                1 => Just(Op::Stop),
            ]
        }

        proptest! {
            /// Any sequence of events, including ones a correct caller would never send (stale
            /// ids, events for other phases), keeps every table invariant: each connection in
            /// exactly the queue its phase requires, exact counters, a sound free list. Nothing
            /// is expired before its deadline, and a table with no waiting connection has none.
            #[test]
            fn arbitrary_event_sequences_keep_the_invariants(ops in proptest::collection::vec(op(), 1..300),
                                                             stage in any::<bool>()) {
                let mut slots = [Slot::EMPTY; 8];
                let settings = if stage { with_handshake() } else { settings() };
                let mut t = ConnTable::new(&mut slots, &settings);
                let mut ids: Vec<ConnId> = Vec::new();
                let mut now = at(0);
                for op in ops {
                    match op {
                        Op::Open | Op::OpenTls => {
                            let opened = if matches!(op, Op::Open) { t.open(now) } else { t.open_tls(now) };
                            if let Some((id, _)) = opened {
                                ids.push(id);
                            } else {
                                prop_assert!(t.is_full());
                            }
                        }
                        Op::Event(i, e) => {
                            if let Some(&id) = ids.get(i % ids.len().max(1)) {
                                let before = t.conn(id).copied();
                                let a = t.event(id, e, now);
                                if before.is_none() {
                                    prop_assert_eq!(a, Action::Nothing, "a stale id changed something");
                                }
                            }
                        }
                        Op::Advance(ms) => now += Duration::from_millis(ms as u64),
                        Op::Expire => {
                            let deadline = t.next_deadline();
                            let mut n = 0;
                            while t.expire(now).is_some() {
                                prop_assert!(deadline.is_some_and(|d| d <= now), "expired before the deadline");
                                n += 1;
                                prop_assert!(n <= 2 * 8 + 1, "expire does not terminate");
                            }
                            prop_assert!(t.next_deadline().is_none_or(|d| d > now));
                        }
                        Op::Kill => t.kill_keep_alive(),
                        Op::Stop => t.stop(),
                    }
                    prop_assert_eq!(t.validate(), Ok(()));
                    let c = t.counts();
                    let waiting = c.handshaking + c.reading + c.write_completion + c.keep_alive + c.lingering;
                    if waiting == 0 {
                        prop_assert_eq!(t.next_deadline(), None, "no waiting connection, yet a deadline");
                    }
                }
            }
        }
    }

    #[test]
    fn a_handshake_has_its_own_stage_and_the_header_clock_starts_when_it_ends() {
        let mut slots = [Slot::EMPTY; 2];
        let mut t = ConnTable::new(&mut slots, &with_handshake());
        let (a, act) = t.open_tls(at(0)).unwrap();
        assert_eq!(act, Action::ReadHead);
        let c = t.counts();
        assert_eq!((c.handshaking, c.reading), (1, 0));
        assert_eq!(t.counts().published().wait_io, 1, "httpd's wait-io column");
        assert_eq!(t.next_deadline(), Some(at(2)), "handshake=2");
        t.event(
            a,
            Event::HeadRead(HeadRead::Handshaking { new_bytes: 300 }),
            at(1),
        );
        assert_eq!(
            t.next_deadline(),
            Some(at(2)),
            "progress keeps the stage's clock"
        );
        // The handshake ends at 1.5 s with part of a head: 20 s from then, not from accept.
        let now = Instant::from_millis(1500);
        assert_eq!(
            t.event(a, Event::HeadRead(HeadRead::Partial { new_bytes: 5 }), now),
            Action::WaitReadable
        );
        let c = t.counts();
        assert_eq!((c.handshaking, c.reading), (0, 1));
        assert_eq!(t.next_deadline(), Some(Instant::from_millis(21_500)));
        assert_eq!(t.expire(at(21)), None);
        assert_eq!(
            t.expire(Instant::from_millis(21_500)),
            Some((a, Action::Reject { status: 408 }))
        );
        t.validate().unwrap();
    }

    #[test]
    fn a_stalled_handshake_is_closed_at_its_stage_and_a_fast_one_extended() {
        let mut slots = [Slot::EMPTY; 2];
        let mut t = ConnTable::new(&mut slots, &with_handshake());
        let (stalled, _) = t.open_tls(at(0)).unwrap();
        let (fast, _) = t.open_tls(at(0)).unwrap();
        t.event(
            stalled,
            Event::HeadRead(HeadRead::Handshaking { new_bytes: 199 }),
            at(1),
        );
        // MinRate=100 over a 2 s stage: 200 bytes earn the extension, 199 do not.
        t.event(
            fast,
            Event::HeadRead(HeadRead::Handshaking { new_bytes: 200 }),
            at(1),
        );
        assert_eq!(t.expire(at(2)), Some((stalled, Action::Linger)));
        assert_eq!(t.expire(at(2)), None, "the fast one moved to its extension");
        assert_eq!(
            t.next_deadline(),
            Some(at(4)),
            "short linger 2 s, extension 2 s"
        );
        let mut due = [t.expire(at(4)), t.expire(at(4))];
        due.sort_by_key(|d| d.map(|(id, _)| id.index()));
        assert_eq!(
            due,
            [Some((stalled, Action::Close)), Some((fast, Action::Linger))]
        );
        t.validate().unwrap();
    }

    #[test]
    fn without_a_handshake_stage_timeout_bounds_each_read() {
        let mut slots = [Slot::EMPTY; 1];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, _) = t.open_tls(at(0)).unwrap();
        assert_eq!(t.next_deadline(), Some(at(60)), "Timeout 60");
        t.event(
            a,
            Event::HeadRead(HeadRead::Handshaking { new_bytes: 0 }),
            at(30),
        );
        assert_eq!(
            t.next_deadline(),
            Some(at(60)),
            "a read that brought nothing"
        );
        t.event(
            a,
            Event::HeadRead(HeadRead::Handshaking { new_bytes: 1 }),
            at(50),
        );
        assert_eq!(t.next_deadline(), Some(at(110)), "bytes restart the wait");
        assert_eq!(t.expire(at(110)), Some((a, Action::Linger)));
        t.validate().unwrap();
    }

    #[test]
    fn plain_connections_ignore_the_handshake_stage() {
        let mut slots = [Slot::EMPTY; 1];
        let mut t = ConnTable::new(&mut slots, &with_handshake());
        let (a, _) = t.open(at(0)).unwrap();
        assert_eq!(t.conn(a).map(Conn::phase), Some(Phase::ReadHead));
        assert_eq!(t.next_deadline(), Some(at(20)), "header=20 from accept");
    }

    #[test]
    fn a_handshake_that_ends_with_a_whole_head_is_dispatched() {
        let mut slots = [Slot::EMPTY; 1];
        let mut t = ConnTable::new(&mut slots, &with_handshake());
        let (a, _) = t.open_tls(at(0)).unwrap();
        assert_eq!(
            t.event(a, Event::HeadRead(HeadRead::Complete), at(1)),
            Action::Dispatch { served: 0 }
        );
        assert_eq!(t.next_deadline(), None);
        let c = t.counts();
        assert_eq!((c.handshaking, c.in_worker), (0, 1));
        t.validate().unwrap();
    }

    #[test]
    fn stopping_shortens_lingering_and_refuses_extensions() {
        let mut slots = [Slot::EMPTY; 2];
        let mut t = ConnTable::new(&mut slots, &settings());
        let (a, _) = t.open(at(0)).unwrap();
        let (b, _) = t.open(at(0)).unwrap();
        t.event(a, Event::HeadRead(HeadRead::Invalid { status: 400 }), at(0));
        t.event(
            b,
            Event::HeadRead(HeadRead::Partial { new_bytes: 50_000 }),
            at(0),
        );
        t.stop();
        assert_eq!(t.next_deadline(), Some(at(2)));
        assert_eq!(t.expire(at(2)), Some((a, Action::Close)));
        assert_eq!(t.expire(at(20)), Some((b, Action::Reject { status: 408 })));
        t.validate().unwrap();
    }
}
