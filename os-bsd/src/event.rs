//! What [`Poller::wait`](crate::Poller::wait) reports: [`Event`] and the
//! buffer [`Events`] that holds a batch of them.

use core::fmt;

use crate::decode::{Decoded, decode};
use crate::kernel::{self, Raw};
use crate::waker::WAKE_TOKEN;

/// The largest [`Events`] capacity; larger requests are clamped to it.
///
/// The listener drains one batch per wait and hands work over in batches, so
/// a batch beyond a few thousand buys nothing but a longer pause between
/// timeout checks. It also keeps `nevents` far below `INT_MAX`, which
/// `kevent` takes it as on every BSD but NetBSD.
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
    /// A read will not block (`EVFILT_READ`).
    pub readable: bool,
    /// A write will not block (`EVFILT_WRITE`).
    pub writable: bool,
    /// The peer hung up or shut down its side (`EV_EOF`). Data sent before
    /// that may still be waiting to be read.
    pub closed: bool,
    /// A change for this token failed (an `EV_ERROR` entry); the next I/O
    /// call on the fd returns the reason, or the fd is gone.
    pub error: bool,
}

impl Event {
    /// An event with every flag clear, to fill in.
    pub(crate) const fn new(token: u64) -> Event {
        Event {
            token,
            readable: false,
            writable: false,
            closed: false,
            error: false,
        }
    }
}

/// What one batch of kernel entries turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Decoding {
    /// Entries that were dropped (receipts, `ENOENT`, `EPIPE`, unknown).
    pub(crate) skipped: usize,
    /// Whether the waker's knote fired.
    pub(crate) woke: bool,
}

/// A fixed-capacity buffer of events, filled by
/// [`Poller::wait`](crate::Poller::wait).
///
/// Allocated once, by [`Events::with_capacity`]; waiting never allocates.
/// It holds the kernel's raw entries and the decoded events side by side.
/// When more knotes are ready than fit, the rest are delivered by the
/// following waits (dispatched knotes that were delivered do not come back,
/// so nothing starves).
#[doc(alias = "kevent")]
pub struct Events {
    raw: Box<[Raw]>,
    ready: Box<[Event]>,
    len: usize,
}

impl Events {
    /// A buffer for up to `capacity` events per wait, clamped to
    /// `1..=`[`MAX_EVENTS`] (an empty event list would make `kevent` only
    /// submit changes, never wait).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_EVENTS);
        Events {
            raw: vec![kernel::empty_raw(); capacity].into_boxed_slice(),
            ready: vec![Event::new(0); capacity].into_boxed_slice(),
            len: 0,
        }
    }

    /// How many events one wait can report.
    pub fn capacity(&self) -> usize {
        self.ready.len()
    }

    /// How many events the last wait reported.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the last wait reported nothing (timeout, signal, or only
    /// entries that mean nothing to the caller).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The events of the last wait, in the kernel's order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            ready: self.filled().iter(),
        }
    }

    /// Forgets the last wait's events.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Room left for events in this wait.
    pub(crate) fn room(&self) -> usize {
        self.capacity() - self.len
    }

    /// Appends one event; `false` (and nothing stored) when full.
    pub(crate) fn push(&mut self, event: Event) -> bool {
        match self.ready.get_mut(self.len) {
            Some(slot) => {
                *slot = event;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The kernel's output buffer for the room that is left, so that the
    /// entries it writes always decode into free slots.
    pub(crate) fn kernel_buffer(&mut self) -> &mut [Raw] {
        let room = self.room();
        self.raw.get_mut(..room).unwrap_or(&mut [])
    }

    /// Decodes the first `count` entries of [`Events::kernel_buffer`] into
    /// events, keeping at most one wake-up event.
    pub(crate) fn decode_kernel(&mut self, count: usize) -> Decoding {
        let mut decoding = Decoding::default();
        let count = count.min(self.room());
        for i in 0..count {
            let Some(raw) = self.raw.get(i) else { break };
            match decode(&kernel::from_raw(raw)) {
                Decoded::Ready(event) => {
                    // Cannot fail: `count` was bounded by the room left.
                    self.push(event);
                }
                Decoded::Wake => {
                    if !decoding.woke {
                        self.push(Event {
                            readable: true,
                            ..Event::new(WAKE_TOKEN)
                        });
                    }
                    decoding.woke = true;
                }
                Decoded::Skip => decoding.skipped += 1,
            }
        }
        decoding
    }

    fn filled(&self) -> &[Event] {
        self.ready.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("capacity", &self.capacity())
            .field("events", &self.filled())
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
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    ready: core::slice::Iter<'a, Event>,
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.ready.next().copied()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ready.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::{Filter, Flags, Kevent, WAKE_UDATA};

    fn put(events: &mut Events, entries: &[Kevent]) -> Decoding {
        let buffer = events.kernel_buffer();
        for (slot, entry) in buffer.iter_mut().zip(entries) {
            *slot = kernel::to_raw(entry).unwrap();
        }
        let count = entries.len().min(buffer.len());
        events.decode_kernel(count)
    }

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
    fn kernel_entries_decode_in_order_and_skips_leave_no_gaps() {
        let mut events = Events::with_capacity(8);
        let receipt = Kevent {
            flags: Flags::ERROR,
            ..Kevent::fd(3, Filter::Read, Flags::empty(), 1)
        };
        let decoding = put(
            &mut events,
            &[
                Kevent::fd(4, Filter::Write, Flags::empty(), 2),
                receipt,
                Kevent::fd(5, Filter::Read, Flags::EOF, 3),
            ],
        );
        assert_eq!(decoding.skipped, 1);
        assert!(!decoding.woke);
        let got: Vec<_> = events
            .iter()
            .map(|e| (e.token, e.readable, e.writable, e.closed))
            .collect();
        assert_eq!(got, [(2, false, true, false), (3, true, false, true)]);
    }

    #[test]
    fn one_wake_event_however_many_wake_entries() {
        let mut events = Events::with_capacity(4);
        let wake = Kevent::user(0, Flags::empty(), false, WAKE_UDATA);
        let decoding = put(&mut events, &[wake, wake]);
        assert!(decoding.woke);
        let tokens: Vec<_> = events.iter().map(|e| e.token).collect();
        assert_eq!(tokens, [WAKE_TOKEN]);
        assert!(events.iter().all(|e| e.readable));
    }

    #[test]
    fn the_kernel_only_gets_the_room_that_is_left() {
        let mut events = Events::with_capacity(3);
        assert!(events.push(Event {
            error: true,
            ..Event::new(1)
        }));
        assert_eq!(events.kernel_buffer().len(), 2);
        assert!(events.push(Event::new(2)));
        assert!(events.push(Event::new(2)));
        assert!(!events.push(Event::new(2)), "a full buffer refuses");
        assert_eq!(events.kernel_buffer().len(), 0);
        // Claiming more entries than there is room decodes nothing extra.
        assert_eq!(events.decode_kernel(10), Decoding::default());
        assert_eq!(events.len(), 3);
        events.clear();
        assert!(events.is_empty());
        assert_eq!(events.kernel_buffer().len(), 3);
    }
}
