//! Which direction a registration waits for.

use rustix::event::epoll::EventFlags;

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
    /// The epoll flags for a oneshot registration of this interest.
    pub(crate) fn oneshot_flags(self) -> EventFlags {
        match self {
            // RDHUP lets a half-closed peer be told apart from plain data;
            // EPOLLIN fires on end of stream anyway, so it costs nothing.
            Interest::Read => EventFlags::IN | EventFlags::RDHUP | EventFlags::ONESHOT,
            // No RDHUP here: a client that shut down its sending side after
            // its request still reads our response, so a half-close must not
            // wake a connection that waits to write.
            Interest::Write => EventFlags::OUT | EventFlags::ONESHOT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_interest_is_oneshot_and_one_direction() {
        for interest in [Interest::Read, Interest::Write] {
            let flags = interest.oneshot_flags();
            assert!(flags.contains(EventFlags::ONESHOT));
            assert_ne!(
                flags.contains(EventFlags::IN),
                flags.contains(EventFlags::OUT)
            );
        }
    }
}
