//! Timeout queues: one FIFO per timeout class, O(1) append, remove and expire.
//!
//! httpd's insight (`struct timeout_queue` in `event.c`): when every entry of a queue has the same
//! timeout and entries are appended with the current time, insertion order *is* expiry order. The
//! head is always the next to expire, so appending, removing a known entry and expiring from the
//! head are all O(1), and no heap or timer wheel is needed. The earliest deadline of the whole set
//! is the minimum over a handful of queue heads, which is what the listener's poll timeout needs;
//! with every queue empty there is no deadline at all, so an idle child never wakes up.
//!
//! The queues are intrusive: each connection slot carries a [`Link`] (previous, next, class,
//! timestamp), and the queues hold only head/tail indices. The caller owns the links (its
//! connection slab, sized at start-up) and passes them in through [`LinkStorage`]. A link is in at
//! most one queue at a time; appending a queued link first removes it.
//!
//! Changing a queue's interval (httpd shortens lingering to 2 s when a child is dying) keeps it
//! ordered, because every entry's deadline moves by the same amount.

use crate::time::{Duration, Instant};

/// The timeout classes, each with its own FIFO and fixed interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Class {
    /// Idle between requests; `KeepAliveTimeout`.
    #[doc(alias = "keepalive_q")]
    KeepAlive = 0,
    /// Reading a request head, first stage: `RequestReadTimeout header=` initial value.
    HeadInitial = 1,
    /// Reading a request head, extended stage for clients that met `MinRate`.
    HeadExtended = 2,
    /// Waiting for the socket to take more of a response; `Timeout`.
    #[doc(alias = "write_completion_q")]
    WriteCompletion = 3,
    /// Lingering close, 30 s (`MAX_SECS_TO_LINGER`).
    #[doc(alias = "linger_q")]
    Linger = 4,
    /// Short lingering close, 2 s (`SECONDS_TO_LINGER`).
    #[doc(alias = "short_linger_q")]
    ShortLinger = 5,
    /// A TLS handshake, first stage: `RequestReadTimeout handshake=` initial value, or `Timeout`
    /// (restarted by each read that brings bytes) when that stage is off.
    HandshakeInitial = 6,
    /// A TLS handshake, extended stage for clients that met the handshake's `MinRate`.
    HandshakeExtended = 7,
}

impl Class {
    /// A short name for diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            Class::KeepAlive => "keep-alive",
            Class::HeadInitial => "request head",
            Class::HeadExtended => "request head (extended)",
            Class::WriteCompletion => "write completion",
            Class::Linger => "lingering close",
            Class::ShortLinger => "short lingering close",
            Class::HandshakeInitial => "TLS handshake",
            Class::HandshakeExtended => "TLS handshake (extended)",
        }
    }
}

/// The number of timeout classes.
pub const CLASSES: usize = 8;

impl Class {
    /// Every class, in index order.
    pub const ALL: [Class; CLASSES] = [
        Class::KeepAlive,
        Class::HeadInitial,
        Class::HeadExtended,
        Class::WriteCompletion,
        Class::Linger,
        Class::ShortLinger,
        Class::HandshakeInitial,
        Class::HandshakeExtended,
    ];

    const fn from_index(i: u8) -> Option<Class> {
        if (i as usize) < CLASSES {
            Some(Class::ALL[i as usize])
        } else {
            None
        }
    }
}

/// The link marker for "in no queue".
const NIL: u32 = u32::MAX;
const NO_CLASS: u8 = u8::MAX;

/// The per-slot part of the queues: where this slot sits, and since when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Link {
    prev: u32,
    next: u32,
    class: u8,
    since: Instant,
}

impl Link {
    /// A link in no queue.
    pub const UNQUEUED: Link = Link {
        prev: NIL,
        next: NIL,
        class: NO_CLASS,
        since: Instant::ZERO,
    };

    /// The queue this link is in, if any.
    pub const fn class(&self) -> Option<Class> {
        Class::from_index(self.class)
    }

    /// When the link was appended to its queue.
    pub const fn since(&self) -> Instant {
        self.since
    }
}

impl Default for Link {
    fn default() -> Link {
        Link::UNQUEUED
    }
}

/// Where the queues find the links: the caller's slab.
pub trait LinkStorage {
    /// The number of slots; valid indices are `0..slots()`.
    fn slots(&self) -> usize;
    /// Slot `i`'s link. `i < slots()` is guaranteed by the queues.
    fn link(&self, i: u32) -> &Link;
    /// Slot `i`'s link, mutably.
    fn link_mut(&mut self, i: u32) -> &mut Link;
}

impl LinkStorage for [Link] {
    fn slots(&self) -> usize {
        self.len()
    }
    fn link(&self, i: u32) -> &Link {
        &self[i as usize]
    }
    fn link_mut(&mut self, i: u32) -> &mut Link {
        &mut self[i as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Queue {
    first: u32,
    last: u32,
    len: u32,
    interval: Duration,
}

impl Queue {
    const EMPTY: Queue = Queue {
        first: NIL,
        last: NIL,
        len: 0,
        interval: Duration::ZERO,
    };
}

/// The set of timeout queues. Storage-free: the links live in the caller's slab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    queues: [Queue; CLASSES],
}

impl Timeouts {
    /// Empty queues with the given interval per class (indexed as [`Class::ALL`]).
    pub const fn new(intervals: [Duration; CLASSES]) -> Timeouts {
        let mut queues = [Queue::EMPTY; CLASSES];
        let mut i = 0;
        while i < CLASSES {
            queues[i].interval = intervals[i];
            i += 1;
        }
        Timeouts { queues }
    }

    /// The interval of `class`.
    pub const fn interval(&self, class: Class) -> Duration {
        self.queues[class as usize].interval
    }

    /// Change the interval of `class`. Entries keep their order; their deadlines all move.
    pub fn set_interval(&mut self, class: Class, interval: Duration) {
        self.queues[class as usize].interval = interval;
    }

    /// Entries in `class`.
    pub const fn len(&self, class: Class) -> u32 {
        self.queues[class as usize].len
    }

    /// Whether every queue is empty.
    pub fn is_empty(&self) -> bool {
        self.queues.iter().all(|q| q.len == 0)
    }

    /// Put slot `i` at the tail of `class`, stamped `now`. A slot already queued is moved.
    ///
    /// A queue stays in expiry order only if stamps never decrease. A `now` earlier than the
    /// tail's — a caller that read the clock before another reading it appended with, as the
    /// listener's turn does around an accept burst — is stamped as the tail's instead: that entry
    /// expires that much later (milliseconds), never out of order.
    pub fn append<S: LinkStorage + ?Sized>(
        &mut self,
        links: &mut S,
        i: u32,
        class: Class,
        now: Instant,
    ) {
        debug_assert!((i as usize) < links.slots());
        self.remove(links, i);
        let q = &mut self.queues[class as usize];
        let now = match q.last {
            NIL => now,
            last => now.max(links.link(last).since),
        };
        let old_last = q.last;
        *links.link_mut(i) = Link {
            prev: old_last,
            next: NIL,
            class: class as u8,
            since: now,
        };
        if old_last == NIL {
            q.first = i;
        } else {
            links.link_mut(old_last).next = i;
        }
        q.last = i;
        q.len += 1;
    }

    /// Take slot `i` out of whatever queue holds it; returns that queue's class.
    pub fn remove<S: LinkStorage + ?Sized>(&mut self, links: &mut S, i: u32) -> Option<Class> {
        let link = *links.link(i);
        let class = link.class()?;
        let q = &mut self.queues[class as usize];
        if link.prev == NIL {
            q.first = link.next;
        } else {
            links.link_mut(link.prev).next = link.next;
        }
        if link.next == NIL {
            q.last = link.prev;
        } else {
            links.link_mut(link.next).prev = link.prev;
        }
        q.len -= 1;
        *links.link_mut(i) = Link::UNQUEUED;
        Some(class)
    }

    /// The deadline of the head of `class`, if the queue is not empty.
    pub fn head_deadline<S: LinkStorage + ?Sized>(
        &self,
        links: &S,
        class: Class,
    ) -> Option<Instant> {
        let q = &self.queues[class as usize];
        (q.first != NIL).then(|| links.link(q.first).since + q.interval)
    }

    /// The earliest deadline over all queues: the listener sleeps until then, or forever if
    /// `None`.
    pub fn next_deadline<S: LinkStorage + ?Sized>(&self, links: &S) -> Option<Instant> {
        Class::ALL
            .iter()
            .filter_map(|&c| self.head_deadline(links, c))
            .min()
    }

    /// Remove and return the entry with the earliest deadline if that deadline is at or before
    /// `now`, with its class. Call until `None` to expire everything due, in deadline order; each
    /// call is O(number of classes).
    pub fn pop_expired<S: LinkStorage + ?Sized>(
        &mut self,
        links: &mut S,
        now: Instant,
    ) -> Option<(u32, Class)> {
        let (deadline, class) = Class::ALL
            .into_iter()
            .filter_map(|c| Some((self.head_deadline(links, c)?, c as u8)))
            .min()?;
        if deadline > now {
            return None;
        }
        let class = Class::ALL[class as usize];
        let i = self.queues[class as usize].first;
        self.remove(links, i);
        Some((i, class))
    }

    /// Remove and return the head of `class` whatever its deadline (httpd's "kill all keep-alive
    /// connections" walks a queue this way).
    pub fn pop_front<S: LinkStorage + ?Sized>(
        &mut self,
        links: &mut S,
        class: Class,
    ) -> Option<u32> {
        let i = self.queues[class as usize].first;
        if i == NIL {
            return None;
        }
        self.remove(links, i);
        Some(i)
    }

    /// Check the queues' structure against the links: lists well formed, lengths right, each
    /// queue in timestamp order, every queued link in exactly the queue its class names. O(slots);
    /// for tests and the simulator.
    pub fn validate<S: LinkStorage + ?Sized>(&self, links: &S) -> Result<(), &'static str> {
        let mut total = 0usize;
        for class in Class::ALL {
            let q = &self.queues[class as usize];
            let (mut i, mut prev, mut n) = (q.first, NIL, 0u32);
            let mut last_since = Instant::ZERO;
            while i != NIL {
                if i as usize >= links.slots() {
                    return Err("queue index out of range");
                }
                let l = links.link(i);
                if l.class() != Some(class) {
                    return Err("link class differs from its queue");
                }
                if l.prev != prev {
                    return Err("broken prev pointer");
                }
                if l.since < last_since {
                    return Err("queue not in timestamp order");
                }
                last_since = l.since;
                n += 1;
                if n as usize > links.slots() {
                    return Err("cycle in queue");
                }
                prev = i;
                i = l.next;
            }
            if prev != q.last {
                return Err("tail pointer wrong");
            }
            if n != q.len {
                return Err("length wrong");
            }
            total += n as usize;
        }
        let queued = (0..links.slots() as u32)
            .filter(|&i| links.link(i).class().is_some())
            .count();
        if queued != total {
            return Err("a link claims a queue that does not hold it");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    extern crate std;
    use std::vec::Vec;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    fn intervals(secs: u64) -> [Duration; CLASSES] {
        [Duration::from_secs(secs); CLASSES]
    }

    #[test]
    fn fifo_expiry_and_deadlines() {
        let mut links = [Link::UNQUEUED; 4];
        let mut t = Timeouts::new(intervals(5));
        assert_eq!(
            t.next_deadline(&links[..]),
            None,
            "idle queues have no deadline"
        );
        t.append(&mut links[..], 2, Class::KeepAlive, ms(1000));
        t.append(&mut links[..], 0, Class::KeepAlive, ms(2000));
        t.append(&mut links[..], 1, Class::Linger, ms(1500));
        assert_eq!(t.next_deadline(&links[..]), Some(ms(6000)));
        assert_eq!(t.pop_expired(&mut links[..], ms(5999)), None);
        assert_eq!(
            t.pop_expired(&mut links[..], ms(6000)),
            Some((2, Class::KeepAlive))
        );
        assert_eq!(t.next_deadline(&links[..]), Some(ms(6500)));
        assert_eq!(
            t.pop_expired(&mut links[..], ms(9000)),
            Some((1, Class::Linger))
        );
        assert_eq!(
            t.pop_expired(&mut links[..], ms(9000)),
            Some((0, Class::KeepAlive))
        );
        assert_eq!(t.pop_expired(&mut links[..], ms(9000)), None);
        assert!(t.is_empty());
        assert_eq!(t.validate(&links[..]), Ok(()));
    }

    #[test]
    fn an_earlier_stamp_than_the_tails_is_stamped_as_the_tail() {
        // The listener reads the clock once per turn but again for an accept burst: a later
        // append in the same turn may carry the turn's older reading.
        let mut links = [Link::UNQUEUED; 3];
        let mut t = Timeouts::new(intervals(5));
        t.append(&mut links[..], 0, Class::HeadInitial, ms(1007));
        t.append(&mut links[..], 1, Class::HeadInitial, ms(1003));
        assert_eq!(t.validate(&links[..]), Ok(()));
        assert_eq!(t.pop_expired(&mut links[..], ms(6006)), None);
        assert_eq!(
            t.pop_expired(&mut links[..], ms(6007)),
            Some((0, Class::HeadInitial))
        );
        assert_eq!(
            t.pop_expired(&mut links[..], ms(6007)),
            Some((1, Class::HeadInitial)),
            "stamped 1007, not 1003: expires with the entry ahead of it, in order"
        );
    }

    #[test]
    fn remove_from_middle_and_reappend_moves_to_tail() {
        let mut links = [Link::UNQUEUED; 3];
        let mut t = Timeouts::new(intervals(1));
        for i in 0..3 {
            t.append(&mut links[..], i, Class::WriteCompletion, ms(i as u64));
        }
        assert_eq!(t.remove(&mut links[..], 1), Some(Class::WriteCompletion));
        assert_eq!(
            t.remove(&mut links[..], 1),
            None,
            "removing twice is harmless"
        );
        t.append(&mut links[..], 0, Class::WriteCompletion, ms(10));
        assert_eq!(t.validate(&links[..]), Ok(()));
        assert_eq!(t.pop_front(&mut links[..], Class::WriteCompletion), Some(2));
        assert_eq!(t.pop_front(&mut links[..], Class::WriteCompletion), Some(0));
        assert_eq!(t.pop_front(&mut links[..], Class::WriteCompletion), None);
    }

    #[test]
    fn shortening_an_interval_keeps_order_and_moves_deadlines() {
        let mut links = [Link::UNQUEUED; 2];
        let mut t = Timeouts::new(intervals(30));
        t.append(&mut links[..], 0, Class::Linger, ms(0));
        t.append(&mut links[..], 1, Class::Linger, ms(100));
        t.set_interval(Class::Linger, Duration::from_secs(2));
        assert_eq!(t.next_deadline(&links[..]), Some(ms(2000)));
        assert_eq!(
            t.pop_expired(&mut links[..], ms(2100)),
            Some((0, Class::Linger))
        );
        assert_eq!(
            t.pop_expired(&mut links[..], ms(2100)),
            Some((1, Class::Linger))
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append(u32, u8),
        Remove(u32),
        Advance(u16),
        Expire,
        PopFront(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u32..16, 0u8..CLASSES as u8).prop_map(|(i, c)| Op::Append(i, c)),
            (0u32..16).prop_map(Op::Remove),
            (0u16..3000).prop_map(Op::Advance),
            Just(Op::Expire),
            (0u8..CLASSES as u8).prop_map(Op::PopFront),
        ]
    }

    proptest! {
        /// Random operations against a naive model (a list of (slot, class, since)): same
        /// membership, the same entries expire, the next deadline is the model's minimum, and
        /// nothing is ever expired early.
        #[test]
        fn matches_a_naive_model(ops in proptest::collection::vec(op(), 1..200),
                                 secs in proptest::array::uniform8(1u64..5)) {
            let ivals = secs.map(Duration::from_secs);
            let mut links = [Link::UNQUEUED; 16];
            let mut t = Timeouts::new(ivals);
            let mut model: Vec<(u32, Class, Instant)> = Vec::new();
            let mut now = ms(0);
            for op in ops {
                match op {
                    Op::Append(i, c) => {
                        let c = Class::ALL[c as usize];
                        t.append(&mut links[..], i, c, now);
                        model.retain(|e| e.0 != i);
                        model.push((i, c, now));
                    }
                    Op::Remove(i) => {
                        let got = t.remove(&mut links[..], i);
                        let want = model.iter().find(|e| e.0 == i).map(|e| e.1);
                        prop_assert_eq!(got, want);
                        model.retain(|e| e.0 != i);
                    }
                    Op::Advance(d) => now += Duration::from_millis(d as u64),
                    Op::Expire => {
                        while let Some((i, c)) = t.pop_expired(&mut links[..], now) {
                            let pos = model.iter().position(|e| e.0 == i);
                            prop_assert!(pos.is_some());
                            let (_, mc, since) = model.remove(pos.unwrap());
                            prop_assert_eq!(mc, c);
                            prop_assert!(since + ivals[c as usize] <= now, "expired early");
                        }
                        for e in &model {
                            prop_assert!(e.2 + ivals[e.1 as usize] > now, "missed an expiry");
                        }
                    }
                    Op::PopFront(c) => {
                        let c = Class::ALL[c as usize];
                        let got = t.pop_front(&mut links[..], c);
                        let want = model.iter().position(|e| e.1 == c);
                        prop_assert_eq!(got, want.map(|p| model[p].0));
                        if let Some(p) = want { model.remove(p); }
                    }
                }
                prop_assert_eq!(t.validate(&links[..]), Ok(()));
                let want = model.iter().map(|e| e.2 + ivals[e.1 as usize]).min();
                prop_assert_eq!(t.next_deadline(&links[..]), want);
            }
        }
    }
}
