//! Turning one returned kevent into what the caller sees.

use rustix::io::Errno;

use crate::event::Event;
use crate::kevent::{Filter, Flags, Kevent, token_of};
use crate::waker::WAKE_TOKEN;

/// What one kernel entry means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Report this event.
    Ready(Event),
    /// The waker's knote fired: report one [`WAKE_TOKEN`] event and let the
    /// waker drain and reset.
    Wake,
    /// Nothing for the caller.
    Skip,
}

/// Decodes one entry of a `kevent` event list.
///
/// - The filter gives the direction: `EVFILT_READ` is `readable`,
///   `EVFILT_WRITE` is `writable`.
/// - `EV_EOF` is `closed`. kqueue sets it with the data still buffered
///   (`data` counts the bytes left to read), so a reader still drains before
///   it sees end of stream. The socket error FreeBSD puts in `fflags` next
///   to `EV_EOF` is not read: rustix does not expose `fflags`, and the next
///   read or write returns that error anyway.
/// - An `EV_ERROR` entry is a change from the changelist that failed, with
///   the errno in `data` and the change's own `udata`: an `error` event for
///   that token, so the connection tries its I/O and learns the reason
///   instead of waiting for an event that will never come. Except, as in
///   polling and mio: `data` 0 (the receipt of a change that worked),
///   `ENOENT` (a knote that was already gone, which is what the change
///   wanted) and `EPIPE` (a pipe whose other end closed before its
///   `EVFILT_WRITE` was added: the write reports it) are dropped.
/// - The waker's `udata` is a wake-up whatever the filter (`EVFILT_USER`, or
///   `EVFILT_READ` on the self-pipe), even as an error entry: a wake-up too
///   many costs a look at an empty queue, a lost one stalls the listener.
/// - Filters this crate never registers are dropped.
pub(crate) fn decode(entry: &Kevent) -> Decoded {
    let token = token_of(entry.udata);
    if entry.flags.contains(Flags::ERROR) {
        if ignored_error(entry.data) {
            return Decoded::Skip;
        }
        if token == WAKE_TOKEN {
            return Decoded::Wake;
        }
        return direction(entry.filter, token).map_or(Decoded::Skip, |event| {
            Decoded::Ready(Event {
                error: true,
                ..event
            })
        });
    }
    if token == WAKE_TOKEN {
        return Decoded::Wake;
    }
    direction(entry.filter, token).map_or(Decoded::Skip, |event| {
        Decoded::Ready(Event {
            closed: entry.flags.contains(Flags::EOF),
            ..event
        })
    })
}

/// Whether an `EV_ERROR` entry's errno means nothing went wrong for us.
pub(crate) fn ignored_error(errno: i64) -> bool {
    errno == 0
        || errno == i64::from(Errno::NOENT.raw_os_error())
        || errno == i64::from(Errno::PIPE.raw_os_error())
}

fn direction(filter: Filter, token: u64) -> Option<Event> {
    let event = Event::new(token);
    match filter {
        Filter::Read => Some(Event {
            readable: true,
            ..event
        }),
        Filter::Write => Some(Event {
            writable: true,
            ..event
        }),
        Filter::User | Filter::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kevent::WAKE_UDATA;

    fn errno(errno: Errno) -> i64 {
        i64::from(errno.raw_os_error())
    }

    fn failed(filter: Filter, udata: usize, data: i64) -> Kevent {
        Kevent {
            flags: Flags::ERROR,
            data,
            ..Kevent::fd(7, filter, Flags::empty(), udata)
        }
    }

    #[test]
    fn the_filter_gives_the_direction() {
        let read = decode(&Kevent::fd(3, Filter::Read, Flags::DISPATCH, 11));
        let write = decode(&Kevent::fd(3, Filter::Write, Flags::DISPATCH, 12));
        assert_eq!(
            read,
            Decoded::Ready(Event {
                readable: true,
                ..Event::new(11)
            })
        );
        assert_eq!(
            write,
            Decoded::Ready(Event {
                writable: true,
                ..Event::new(12)
            })
        );
    }

    #[test]
    fn eof_is_closed_and_keeps_the_direction() {
        let entry = Kevent {
            data: 42,
            ..Kevent::fd(3, Filter::Read, Flags::EOF | Flags::DISPATCH, 5)
        };
        let Decoded::Ready(event) = decode(&entry) else {
            panic!("EV_EOF must be reported");
        };
        assert!(event.readable && event.closed && !event.error && !event.writable);
        let entry = Kevent::fd(3, Filter::Write, Flags::EOF, 5);
        let Decoded::Ready(event) = decode(&entry) else {
            panic!("EV_EOF must be reported");
        };
        assert!(event.writable && event.closed && !event.readable);
    }

    #[test]
    fn failed_changes_are_errors_for_their_token() {
        for (filter, readable) in [(Filter::Read, true), (Filter::Write, false)] {
            for code in [Errno::BADF, Errno::NOMEM, Errno::INVAL] {
                let Decoded::Ready(event) = decode(&failed(filter, 9, errno(code))) else {
                    panic!("{code:?} must be reported");
                };
                assert_eq!(event.token, 9);
                assert!(event.error, "{code:?}");
                assert!(!event.closed);
                assert_eq!(event.readable, readable);
                assert_eq!(event.writable, !readable);
            }
        }
    }

    #[test]
    fn receipts_enoent_and_epipe_are_dropped() {
        for data in [0, errno(Errno::NOENT), errno(Errno::PIPE)] {
            for filter in [Filter::Read, Filter::Write] {
                assert_eq!(decode(&failed(filter, 9, data)), Decoded::Skip, "{data}");
            }
        }
    }

    #[test]
    fn the_wakers_entries_are_wake_ups() {
        let user = Kevent::user(0, Flags::CLEAR, false, WAKE_UDATA);
        let pipe = Kevent::fd(4, Filter::Read, Flags::empty(), WAKE_UDATA);
        assert_eq!(decode(&user), Decoded::Wake);
        assert_eq!(decode(&pipe), Decoded::Wake);
        assert_eq!(
            decode(&failed(Filter::User, WAKE_UDATA, errno(Errno::NOMEM))),
            Decoded::Wake
        );
    }

    #[test]
    fn unknown_filters_are_dropped() {
        assert_eq!(
            decode(&Kevent::fd(1, Filter::Other, Flags::empty(), 3)),
            Decoded::Skip
        );
        assert_eq!(
            decode(&Kevent::user(1, Flags::empty(), false, 3)),
            Decoded::Skip
        );
        assert_eq!(
            decode(&failed(Filter::Other, 3, errno(Errno::BADF))),
            Decoded::Skip
        );
    }
}
