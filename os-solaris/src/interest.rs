//! Which direction a registration waits for, and the `port_associate`
//! events that ask for it.

use crate::bits::{POLLIN, POLLOUT, POLLRDHUP};

/// The readiness one oneshot registration waits for.
///
/// One direction at a time: a connection in httpd's event MPM either waits to
/// read (a request head, keep-alive, lingering close) or to write (write
/// completion), never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interest {
    /// Data, end of stream or an error can be read without blocking.
    Read,
    /// The socket can take more bytes without blocking.
    Write,
}

impl Interest {
    /// The `events` argument of `port_associate` for this interest.
    ///
    /// `POLLHUP` and `POLLERR` need no asking: the port always reports them.
    pub(crate) fn events(self) -> i16 {
        match self {
            // RDHUP (illumos) tells a half-closed peer apart from plain data,
            // as EPOLLRDHUP does on Linux; POLLIN fires at end of stream
            // anyway, so it costs nothing.
            Interest::Read => POLLIN | POLLRDHUP,
            // No RDHUP here: a client that shut down its sending side after
            // its request still reads our response, so a half-close must not
            // wake a connection that waits to write.
            Interest::Write => POLLOUT,
        }
    }
}

/// The `port_associate` events of a listening socket: a connection to accept
/// makes it readable.
pub(crate) const LISTENER_EVENTS: i16 = POLLIN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interest_asks_for_exactly_one_direction() {
        for interest in [Interest::Read, Interest::Write] {
            let events = interest.events();
            assert_ne!(events & POLLIN != 0, events & POLLOUT != 0, "{interest:?}");
        }
    }

    #[test]
    fn only_readers_hear_a_half_close() {
        assert_eq!(Interest::Read.events() & POLLRDHUP, POLLRDHUP);
        assert_eq!(Interest::Write.events() & POLLRDHUP, 0);
        assert_eq!(LISTENER_EVENTS & POLLRDHUP, 0);
    }
}
