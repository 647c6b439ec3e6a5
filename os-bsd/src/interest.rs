//! Which direction a registration waits for.

use crate::kevent::Filter;

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
    /// The kqueue filter that reports this interest.
    pub(crate) fn filter(self) -> Filter {
        match self {
            Interest::Read => Filter::Read,
            Interest::Write => Filter::Write,
        }
    }

    /// The filter of the other direction, which must stay silent meanwhile.
    pub(crate) fn other_filter(self) -> Filter {
        match self {
            Interest::Read => Filter::Write,
            Interest::Write => Filter::Read,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_interest_has_its_own_filter_and_silences_the_other() {
        for interest in [Interest::Read, Interest::Write] {
            assert_ne!(interest.filter(), interest.other_filter());
            assert!(matches!(interest.filter(), Filter::Read | Filter::Write));
            assert!(matches!(
                interest.other_filter(),
                Filter::Read | Filter::Write
            ));
        }
        assert_eq!(Interest::Read.filter(), Filter::Read);
        assert_eq!(Interest::Write.filter(), Filter::Write);
    }
}
