//! What [`Poller::wait`](crate::Poller::wait) reports: [`Event`] and the
//! buffer [`Events`] that holds a batch of them.

use core::fmt;

use rustix::event::epoll::{self, EventData, EventFlags};

/// The largest [`Events`] capacity; larger requests are clamped to it.
///
/// The listener drains one batch per wait and hands work over in batches, so
/// a batch beyond a few thousand buys nothing but a longer pause between
/// timeout checks. It also keeps `maxevents` far below the kernel's
/// `INT_MAX / sizeof(struct epoll_event)` limit.
pub const MAX_EVENTS: usize = 1 << 16;

/// One readiness report for one token.
///
/// Plain data. The flags are hints taken from the kernel: `readable` on a
/// socket at end of stream means a read answers 0, and a read or write that
/// answers `WouldBlock` despite the report means "re-arm and wait again".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The token given to [`Poller::add`](crate::Poller::add),
    /// [`Poller::rearm`](crate::Poller::rearm) or
    /// [`Poller::add_listener`](crate::Poller::add_listener), or
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN) for a wake-up.
    pub token: u64,
    /// A read will not block (`EPOLLIN`).
    pub readable: bool,
    /// A write will not block (`EPOLLOUT`).
    pub writable: bool,
    /// The peer hung up or shut down its sending side (`EPOLLHUP` or
    /// `EPOLLRDHUP`). Data sent before that may still be waiting to be read.
    pub closed: bool,
    /// The socket has a pending error (`EPOLLERR`); the next I/O call
    /// returns it.
    pub error: bool,
}

impl Event {
    fn from_epoll(raw: &epoll::Event) -> Self {
        // Copy out first: the struct is packed on x86_64, so no references
        // into it.
        let flags = raw.flags;
        let data = raw.data;
        Event {
            token: data.u64(),
            readable: flags.contains(EventFlags::IN),
            writable: flags.contains(EventFlags::OUT),
            closed: flags.intersects(EventFlags::HUP | EventFlags::RDHUP),
            error: flags.contains(EventFlags::ERR),
        }
    }
}

/// A fixed-capacity buffer of events, filled by
/// [`Poller::wait`](crate::Poller::wait).
///
/// Allocated once, by [`Events::with_capacity`]; waiting never allocates.
/// When more registrations are ready than fit, the rest are delivered by the
/// following waits (oneshot registrations that were delivered do not come
/// back, so nothing starves).
#[doc(alias = "epoll_event")]
pub struct Events {
    raw: Box<[epoll::Event]>,
    len: usize,
}

impl Events {
    /// A buffer for up to `capacity` events per wait, clamped to
    /// `1..=`[`MAX_EVENTS`] (the kernel rejects an empty buffer).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_EVENTS);
        let empty = epoll::Event {
            flags: EventFlags::empty(),
            data: EventData::new_u64(0),
        };
        Events {
            raw: vec![empty; capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// How many events one wait can report.
    pub fn capacity(&self) -> usize {
        self.raw.len()
    }

    /// How many events the last wait reported.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last wait reported nothing (timeout or signal).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The events of the last wait, in the kernel's order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            raw: self.filled().iter(),
        }
    }

    /// The whole buffer, for the kernel to write into.
    pub(crate) fn buffer(&mut self) -> &mut [epoll::Event] {
        self.len = 0;
        &mut self.raw
    }

    /// Records how many entries the kernel wrote.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(self.raw.len());
    }

    /// Whether the last wait reported this token.
    pub(crate) fn contains_token(&self, token: u64) -> bool {
        self.filled().iter().any(|raw| {
            let data = raw.data;
            data.u64() == token
        })
    }

    fn filled(&self) -> &[epoll::Event] {
        self.raw.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity())
            .field("events", &self.filled().len())
            .finish()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = Event;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the events of the last wait; see [`Events::iter`].
#[derive(Clone)]
pub struct Iter<'a> {
    raw: core::slice::Iter<'a, epoll::Event>,
}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.raw.next().map(Event::from_epoll)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_clamped_to_at_least_one_and_at_most_the_limit() {
        assert_eq!(Events::with_capacity(0).capacity(), 1);
        assert_eq!(Events::with_capacity(7).capacity(), 7);
        assert_eq!(Events::with_capacity(usize::MAX).capacity(), MAX_EVENTS);
    }

    #[test]
    fn a_new_buffer_reports_nothing() {
        let events = Events::with_capacity(4);
        assert!(events.is_empty());
        assert_eq!(events.iter().count(), 0);
    }

    #[test]
    fn flags_map_to_fields() {
        let raw = epoll::Event {
            flags: EventFlags::IN | EventFlags::RDHUP | EventFlags::ERR,
            data: EventData::new_u64(42),
        };
        let event = Event::from_epoll(&raw);
        assert_eq!(
            event,
            Event {
                token: 42,
                readable: true,
                writable: false,
                closed: true,
                error: true,
            }
        );
        let raw = epoll::Event {
            flags: EventFlags::OUT | EventFlags::HUP,
            data: EventData::new_u64(u64::MAX - 1),
        };
        let event = Event::from_epoll(&raw);
        assert!(event.writable && event.closed && !event.readable && !event.error);
        assert_eq!(event.token, u64::MAX - 1);
    }

    #[test]
    fn set_len_never_exceeds_capacity() {
        let mut events = Events::with_capacity(3);
        let _ = events.buffer();
        events.set_len(10);
        assert_eq!(events.len(), 3);
        assert_eq!(events.iter().len(), 3);
    }
}
