//! What [`Poller::wait`](crate::Poller::wait) reports: [`Event`], the raw
//! `port_event_t` it is decoded from, and the buffer [`Events`].

use core::fmt;

use crate::bits::{POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDHUP, any};
use crate::token;

/// The largest [`Events`] capacity; larger requests are clamped to it.
///
/// The listener drains one batch per wait and hands work over in batches, so
/// a batch beyond a few thousand buys nothing but a longer pause between
/// timeout checks. `port_getn` copies out at most as many events as are
/// queued, so a large buffer costs the kernel nothing extra.
pub const MAX_EVENTS: usize = 1 << 16;

/// One `port_event_t` as `port_getn` writes it.
///
/// Our own type rather than `libc::port_event`, whose user field is a raw
/// pointer: this one is plain data (`Copy`, `Send`, `Sync`), exists on every
/// host so the decoding is tested everywhere, and is what the event-port
/// model writes. The user data is only ever an integer token, so holding it
/// as `usize` loses nothing. On illumos and Solaris a compile-time check
/// proves the layouts identical, field by field.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[doc(alias = "port_event_t")]
pub(crate) struct PortEvent {
    /// `portev_events`: the poll(2) bits that fired, or `port_send`'s events.
    pub(crate) events: i32,
    /// `portev_source`: `PORT_SOURCE_FD`, `PORT_SOURCE_USER`, ...
    pub(crate) source: u16,
    /// `portev_pad`.
    pub(crate) pad: u16,
    /// `portev_object`: the file descriptor of an fd event.
    pub(crate) object: usize,
    /// `portev_user`: the user data given when associating or sending.
    pub(crate) user: usize,
}

#[cfg(any(target_os = "illumos", target_os = "solaris"))]
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<PortEvent>() == size_of::<libc::port_event>());
    assert!(align_of::<PortEvent>() == align_of::<libc::port_event>());
    assert!(offset_of!(PortEvent, events) == offset_of!(libc::port_event, portev_events));
    assert!(offset_of!(PortEvent, source) == offset_of!(libc::port_event, portev_source));
    assert!(offset_of!(PortEvent, pad) == offset_of!(libc::port_event, portev_pad));
    assert!(offset_of!(PortEvent, object) == offset_of!(libc::port_event, portev_object));
    assert!(offset_of!(PortEvent, user) == offset_of!(libc::port_event, portev_user));
};

/// One readiness report for one token.
///
/// Plain data. The flags are hints taken from the kernel: `readable` on a
/// socket at end of stream means a read answers 0, and a read or write that
/// answers `WouldBlock` despite the report means "re-arm and wait again".
/// Event ports are known to report `POLLIN` with nothing to read (illumos
/// bug 6474), and an event queued when the fd became ready is delivered even
/// if it is no longer ready when retrieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event {
    /// The token given to [`Poller::add`](crate::Poller::add),
    /// [`Poller::rearm`](crate::Poller::rearm) or
    /// [`Poller::add_listener`](crate::Poller::add_listener), or
    /// [`WAKE_TOKEN`](crate::WAKE_TOKEN) for a wake-up.
    pub token: u64,
    /// A read will not block (`POLLIN`).
    pub readable: bool,
    /// A write will not block (`POLLOUT`).
    pub writable: bool,
    /// The peer hung up or shut down its sending side (`POLLHUP`, or
    /// `POLLRDHUP` on illumos). Data sent before that may still be waiting
    /// to be read.
    pub closed: bool,
    /// The socket has a pending error (`POLLERR`), or the descriptor is not
    /// open (`POLLNVAL`); the next I/O call returns the error. Also set on a
    /// listener's event when re-associating the listener failed: the poller
    /// has then forgotten it.
    pub error: bool,
}

impl Event {
    pub(crate) fn from_port(raw: &PortEvent) -> Self {
        let bits = raw.events;
        Event {
            token: token::token(raw.user),
            readable: any(bits, POLLIN),
            writable: any(bits, POLLOUT),
            closed: any(bits, POLLHUP | POLLRDHUP),
            error: any(bits, POLLERR | POLLNVAL),
        }
    }
}

/// A fixed-capacity buffer of events, filled by
/// [`Poller::wait`](crate::Poller::wait).
///
/// Allocated once, by [`Events::with_capacity`]; waiting never allocates.
/// When more events are queued than fit, the rest stay queued in the port for
/// the following waits, in order, so nothing starves.
#[doc(alias = "port_event")]
pub struct Events {
    raw: Box<[PortEvent]>,
    len: usize,
}

impl Events {
    /// A buffer for up to `capacity` events per wait, clamped to
    /// `1..=`[`MAX_EVENTS`] (`port_getn` treats an empty buffer as a query).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.clamp(1, MAX_EVENTS);
        Events {
            raw: vec![PortEvent::default(); capacity].into_boxed_slice(),
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

    /// The events of the last wait, in the port's order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            raw: self.filled().iter(),
        }
    }

    /// The whole buffer, for the port to write into; forgets the last batch.
    pub(crate) fn buffer(&mut self) -> &mut [PortEvent] {
        self.len = 0;
        &mut self.raw
    }

    /// Records how many entries the port wrote.
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(self.raw.len());
    }

    /// The entries of the last batch, for the poller to finish (listener
    /// re-association) before the caller sees them.
    pub(crate) fn filled_mut(&mut self) -> &mut [PortEvent] {
        self.raw.get_mut(..self.len).unwrap_or(&mut [])
    }

    fn filled(&self) -> &[PortEvent] {
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
    raw: core::slice::Iter<'a, PortEvent>,
}

impl fmt::Debug for Iter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl Iterator for Iter<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        self.raw.next().map(Event::from_port)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.raw.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{WAKE_TOKEN, WAKE_USER};

    fn raw(events: i16, user: usize) -> PortEvent {
        PortEvent {
            events: i32::from(events),
            user,
            ..PortEvent::default()
        }
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
    fn poll_bits_map_to_fields() {
        let event = Event::from_port(&raw(POLLIN | POLLRDHUP, 42));
        assert_eq!(
            event,
            Event {
                token: 42,
                readable: true,
                writable: false,
                closed: true,
                error: false,
            }
        );
        let event = Event::from_port(&raw(POLLOUT | POLLHUP | POLLERR, 7));
        assert!(event.writable && event.closed && event.error && !event.readable);
        let event = Event::from_port(&raw(POLLNVAL, 7));
        assert!(event.error && !event.readable && !event.writable && !event.closed);
    }

    #[test]
    fn the_wake_users_data_decodes_to_the_wake_token() {
        let event = Event::from_port(&raw(POLLIN, WAKE_USER));
        assert_eq!(event.token, WAKE_TOKEN);
        assert!(event.readable);
    }

    #[test]
    fn unknown_high_bits_are_ignored() {
        let event = Event::from_port(&PortEvent {
            events: 0x7fff_0000,
            ..PortEvent::default()
        });
        assert!(!(event.readable || event.writable || event.closed || event.error));
    }

    #[test]
    fn set_len_never_exceeds_capacity_and_buffer_forgets_the_batch() {
        let mut events = Events::with_capacity(3);
        let _ = events.buffer();
        events.set_len(10);
        assert_eq!(events.len(), 3);
        assert_eq!(events.iter().len(), 3);
        assert_eq!(events.filled_mut().len(), 3);
        let _ = events.buffer();
        assert!(events.is_empty());
    }
}
