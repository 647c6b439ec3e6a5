//! The event-port calls the poller makes, as a trait, and how the answer of
//! `port_getn` is read.
//!
//! The poller's logic ([`Driver`](crate::driver::Driver)) is written against
//! this trait, so it runs unchanged over the real port on illumos and Solaris
//! and over the in-repo model of event ports in every host's tests.

use std::os::fd::RawFd;
use std::time::Duration;

use rustix::io::Errno;

use crate::event::PortEvent;

/// The `nget` argument of every `port_getn`: return as soon as one event is
/// queued.
///
/// More would make a wait hold back events that are ready. It would also
/// widen a trap: a wait that times out returns `ETIME` with whatever fewer
/// events it retrieved, which rustix's `getn` throws away. With one, that
/// still happens when an event races the timeout, so the poller reads `nget`
/// itself (see [`Got`] and [`settle`]).
pub(crate) const MIN_EVENTS: u32 = 1;

/// What `port_getn` answered: how many entries it says it wrote, and the
/// error it returned, if any.
///
/// Both at once because `ETIME` comes with events: illumos's `port_getn`
/// copies out the events queued by the time the timer fired and sets `nget`
/// to their count before failing with `ETIME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Got {
    /// `*nget` after the call. Only meaningful on success and on `ETIME`:
    /// other errors leave it at the `min_events` passed in.
    pub(crate) retrieved: usize,
    /// The errno of a failed call.
    pub(crate) error: Option<Errno>,
}

/// The operations of one event port.
pub(crate) trait Port: Send + Sync {
    /// `port_associate(port, PORT_SOURCE_FD, fd, events, user)`: arm `fd` for
    /// one event of `events` (plus `POLLHUP` and `POLLERR`), replacing its
    /// events, user data and any event queued but not yet retrieved.
    fn associate(&self, fd: RawFd, events: i16, user: usize) -> Result<(), Errno>;

    /// `port_dissociate(port, PORT_SOURCE_FD, fd)`: forget `fd` and drop its
    /// queued event. `ENOENT` if `fd` had no active association, which
    /// includes an fd whose event has been retrieved.
    fn dissociate(&self, fd: RawFd) -> Result<(), Errno>;

    /// `port_getn(port, buffer, buffer.len(), &nget = min_events, timeout)`:
    /// block until `min_events` events are queued or `timeout` passes
    /// (`None`: forever; zero: only poll), then retrieve up to
    /// `buffer.len()` of them.
    fn getn(&self, buffer: &mut [PortEvent], min_events: u32, timeout: Option<Duration>) -> Got;

    /// `port_send(port, events, user)`: queue one `PORT_SOURCE_USER` event.
    fn send(&self, events: i16, user: usize) -> Result<(), Errno>;
}

/// How many events a `port_getn` answer delivered into a buffer of
/// `capacity` entries, or the error to report.
///
/// `ETIME` is a timeout, and `EINTR` a signal: both are `Ok`, not errors. On
/// `ETIME` the count is kept, since events that raced the timeout were
/// retrieved and are dequeued for good; a fd event lost here would leave its
/// connection dissociated forever, and a lost wake-up would leave the waker's
/// flag set so that every later wake-up is skipped. On `EINTR` nothing was
/// retrieved and `nget` is stale, so the count is zero.
pub(crate) fn settle(got: Got, capacity: usize) -> Result<usize, Errno> {
    match got.error {
        None | Some(Errno::TIME) => Ok(got.retrieved.min(capacity)),
        Some(Errno::INTR) => Ok(0),
        Some(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(retrieved: usize, error: Option<Errno>) -> Got {
        Got { retrieved, error }
    }

    #[test]
    fn success_delivers_what_was_retrieved() {
        assert_eq!(settle(got(3, None), 8), Ok(3));
        assert_eq!(settle(got(0, None), 8), Ok(0), "a zero-timeout poll");
    }

    #[test]
    fn a_timeout_keeps_the_events_that_raced_it() {
        assert_eq!(settle(got(0, Some(Errno::TIME)), 8), Ok(0));
        assert_eq!(settle(got(2, Some(Errno::TIME)), 8), Ok(2));
    }

    #[test]
    fn a_signal_delivers_nothing_whatever_nget_says() {
        assert_eq!(
            settle(got(MIN_EVENTS as usize, Some(Errno::INTR)), 8),
            Ok(0)
        );
    }

    #[test]
    fn other_errors_are_returned() {
        for errno in [Errno::BADF, Errno::INVAL, Errno::FAULT] {
            assert_eq!(settle(got(1, Some(errno)), 8), Err(errno));
        }
    }

    #[test]
    fn the_count_never_exceeds_the_buffer() {
        assert_eq!(settle(got(100, None), 8), Ok(8));
        assert_eq!(settle(got(100, Some(Errno::TIME)), 8), Ok(8));
    }
}
