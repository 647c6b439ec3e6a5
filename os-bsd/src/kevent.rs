//! The decision layer's own `struct kevent`: plain data that means the same
//! on every host, so the layer above it can be tested where no kqueue exists.
//!
//! `struct kevent` differs between the BSDs (NetBSD's `filter` and `flags` are
//! `u32`, FreeBSD 12+ appends `ext[4]`, macOS's `data` is `intptr_t`), so
//! nothing here mirrors a kernel layout. The syscall layer (`sys`) converts
//! to and from rustix's `kqueue::Event`, which knows each layout; the test
//! model reads these values directly.

use core::fmt;
use core::ops::BitOr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::waker::WAKE_TOKEN;

/// The kernel filter a kevent names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub(crate) enum Filter {
    /// `EVFILT_READ`: data, end of stream or a pending connection.
    Read,
    /// `EVFILT_WRITE`: room in the send buffer.
    Write,
    /// `EVFILT_USER`: triggered by `NOTE_TRIGGER`, the waker on FreeBSD,
    /// DragonFly and macOS.
    User,
    /// Any filter this crate never registers; decoded as nothing.
    #[default]
    Other,
}

/// A set of `EV_*` flags.
///
/// The bit values are this crate's own; `sys` maps each flag to the target's
/// `libc::EV_*` by name, never by value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Flags(u16);

impl Flags {
    /// `EV_ADD`: create the knote, or update an existing one's `udata`.
    pub(crate) const ADD: Flags = Flags(1 << 0);
    /// `EV_DELETE`: remove the knote and any event it has queued.
    pub(crate) const DELETE: Flags = Flags(1 << 1);
    /// `EV_ENABLE`: let the knote report again.
    pub(crate) const ENABLE: Flags = Flags(1 << 2);
    /// `EV_DISABLE`: keep the knote but report nothing.
    pub(crate) const DISABLE: Flags = Flags(1 << 3);
    /// `EV_ONESHOT`: delete the knote after its first report.
    pub(crate) const ONESHOT: Flags = Flags(1 << 4);
    /// `EV_CLEAR`: reset the knote's state after each report (edge mode).
    pub(crate) const CLEAR: Flags = Flags(1 << 5);
    /// `EV_RECEIPT`: answer this change with an `EV_ERROR` entry even when
    /// it succeeds (`data` 0), and collect no events in the same call.
    pub(crate) const RECEIPT: Flags = Flags(1 << 6);
    /// `EV_DISPATCH`: disable the knote after each report.
    pub(crate) const DISPATCH: Flags = Flags(1 << 7);
    /// `EV_EOF` (returned): the peer closed its side, or the socket failed.
    pub(crate) const EOF: Flags = Flags(1 << 8);
    /// `EV_ERROR` (returned): a change failed; `data` holds the errno.
    pub(crate) const ERROR: Flags = Flags(1 << 9);

    /// Every flag with its C name, for mapping and printing.
    pub(crate) const ALL: [(Flags, &'static str); 10] = [
        (Flags::ADD, "EV_ADD"),
        (Flags::DELETE, "EV_DELETE"),
        (Flags::ENABLE, "EV_ENABLE"),
        (Flags::DISABLE, "EV_DISABLE"),
        (Flags::ONESHOT, "EV_ONESHOT"),
        (Flags::CLEAR, "EV_CLEAR"),
        (Flags::RECEIPT, "EV_RECEIPT"),
        (Flags::DISPATCH, "EV_DISPATCH"),
        (Flags::EOF, "EV_EOF"),
        (Flags::ERROR, "EV_ERROR"),
    ];

    /// No flags.
    pub(crate) const fn empty() -> Flags {
        Flags(0)
    }

    /// Whether every flag of `other` is set here.
    pub(crate) const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = f.debug_set();
        for (flag, name) in Flags::ALL {
            if self.contains(flag) && flag != Flags::empty() {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

/// One change to submit or one entry the kernel returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Kevent {
    /// The file descriptor, or the `EVFILT_USER` identifier.
    pub(crate) ident: usize,
    /// Which filter of `ident`.
    pub(crate) filter: Filter,
    /// `EV_*` flags: actions on input, state on output.
    pub(crate) flags: Flags,
    /// `NOTE_TRIGGER` in `fflags`: fire an `EVFILT_USER` knote.
    pub(crate) trigger: bool,
    /// Filter data on output (bytes readable, backlog length), or the errno
    /// of an `EV_ERROR` entry.
    pub(crate) data: i64,
    /// The token, carried in the pointer-sized `udata`.
    pub(crate) udata: usize,
}

impl Kevent {
    /// A change to the `filter` knote of the file descriptor `ident`.
    pub(crate) const fn fd(ident: usize, filter: Filter, flags: Flags, udata: usize) -> Kevent {
        Kevent {
            ident,
            filter,
            flags,
            trigger: false,
            data: 0,
            udata,
        }
    }

    /// A change to the `EVFILT_USER` knote `ident`.
    pub(crate) const fn user(ident: usize, flags: Flags, trigger: bool, udata: usize) -> Kevent {
        Kevent {
            ident,
            filter: Filter::User,
            flags,
            trigger,
            data: 0,
            udata,
        }
    }

    /// Whether this entry names a knote of file descriptor `ident`.
    pub(crate) fn is_fd(&self, ident: usize) -> bool {
        self.ident == ident && matches!(self.filter, Filter::Read | Filter::Write)
    }
}

/// The `udata` that marks the waker's knote: the all-ones pointer value.
///
/// On 64-bit targets it is [`WAKE_TOKEN`] itself; on 32-bit ones it is the
/// only token above `u32::MAX - 1` that [`udata_for`] would otherwise allow.
pub(crate) const WAKE_UDATA: usize = usize::MAX;

/// The `udata` that carries `token`.
///
/// Refuses [`WAKE_TOKEN`], and on 32-bit targets any token that does not fit
/// a pointer (it would come back truncated, as another connection's token).
pub(crate) fn udata_for(token: u64) -> io::Result<usize> {
    if token == WAKE_TOKEN {
        return Err(invalid("token u64::MAX is reserved for wake-ups"));
    }
    match usize::try_from(token) {
        Ok(udata) if udata != WAKE_UDATA => Ok(udata),
        _ => Err(invalid(
            "kqueue carries tokens in a pointer: this token does not fit",
        )),
    }
}

/// The token a returned `udata` carries; [`WAKE_UDATA`] is [`WAKE_TOKEN`].
pub(crate) fn token_of(udata: usize) -> u64 {
    if udata == WAKE_UDATA {
        WAKE_TOKEN
    } else {
        // usize is at most 64 bits on every target this crate supports.
        udata as u64
    }
}

/// The kevent `ident` of a file descriptor.
pub(crate) fn ident_of(fd: BorrowedFd<'_>) -> io::Result<usize> {
    usize::try_from(fd.as_raw_fd()).map_err(|_| invalid("negative file descriptor"))
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_combine_and_compare() {
        let flags = Flags::ADD | Flags::ENABLE | Flags::DISPATCH;
        assert!(flags.contains(Flags::ADD | Flags::DISPATCH));
        assert!(!flags.contains(Flags::DISABLE));
        assert!(!flags.contains(Flags::ADD | Flags::DISABLE));
        assert!(Flags::empty().contains(Flags::empty()));
    }

    #[test]
    fn every_flag_is_a_distinct_single_bit() {
        let mut seen = 0u16;
        for (flag, _) in Flags::ALL {
            assert_eq!(flag.0.count_ones(), 1, "{flag:?}");
            assert_eq!(seen & flag.0, 0, "{flag:?} reused");
            seen |= flag.0;
        }
    }

    #[test]
    fn flags_print_their_c_names() {
        let text = format!("{:?}", Flags::ADD | Flags::EOF);
        assert_eq!(text, "{EV_ADD, EV_EOF}");
    }

    #[test]
    fn tokens_round_trip_through_udata() {
        // The widest token a pointer carries, below the reserved wake-up word.
        let widest = usize::MAX as u64 - 1;
        for token in [0u64, 1, 7, u64::from(u16::MAX), widest / 2, widest] {
            let udata = udata_for(token).unwrap();
            assert_eq!(token_of(udata), token);
        }
    }

    #[test]
    fn tokens_past_the_widest_are_refused() {
        // The all-ones pointer is the wake-up's; on 32-bit targets every wider token is refused
        // too (on 64-bit ones both are u64::MAX).
        let all_ones = usize::MAX as u64;
        for token in [all_ones, all_ones.saturating_add(1), u64::MAX] {
            let error = udata_for(token).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{token}");
        }
    }

    #[test]
    fn the_wake_token_is_reserved_and_decodes_back() {
        let error = udata_for(WAKE_TOKEN).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(token_of(WAKE_UDATA), WAKE_TOKEN);
    }

    #[test]
    fn idents_of_fds_are_their_numbers() {
        let file = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsFd;
        let ident = ident_of(file.as_fd()).unwrap();
        assert_eq!(ident as i32, file.as_raw_fd());
    }

    #[test]
    fn fd_changes_are_told_apart_from_user_ones() {
        let read = Kevent::fd(5, Filter::Read, Flags::ADD, 1);
        let user = Kevent::user(5, Flags::ADD, false, 1);
        assert!(read.is_fd(5));
        assert!(!read.is_fd(6));
        assert!(!user.is_fd(5));
    }
}
