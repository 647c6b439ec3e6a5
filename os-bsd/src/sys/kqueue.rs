//! The real kqueue: `kqueue()` with close-on-exec, `kevent`, and the
//! conversion between plain kevents and rustix's `kqueue::Event`.
//!
//! rustix builds each BSD's `struct kevent` (NetBSD's `u32` filter and
//! flags, FreeBSD's `ext[4]`, macOS's `intptr_t` data), so nothing here lays
//! one out by hand. Flags are mapped by name to the target's `libc::EV_*`.

use std::ffi::c_void;
use std::fmt;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::ptr;
use std::slice;
use std::time::Duration;

use rustix::event::Timespec;
use rustix::event::kqueue::{self, Event, EventFilter, EventFlags};
use rustix::io::{FdFlags, fcntl_setfd};

use crate::kernel::Kernel;
use crate::kevent::{Filter, Flags, Kevent};

/// One entry of a changelist or an event list, in the kernel's layout.
///
/// A newtype only to be `Send` and `Sync`: see below.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub(crate) struct Raw(Event);

// SAFETY: the one pointer inside a kevent is `udata`, which this crate only
// ever fills with a token (an integer, see `kevent::udata_for`) and never
// dereferences; moving or sharing it across threads moves an integer.
#[allow(unsafe_code)]
unsafe impl Send for Raw {}
// SAFETY: as for `Send`; `Raw` has no interior mutability.
#[allow(unsafe_code)]
unsafe impl Sync for Raw {}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        from_raw(self).fmt(f)
    }
}

/// Our flags and the target's `EV_*` value of each (`u32` on NetBSD, `u16`
/// elsewhere; every one fits in 16 bits).
#[allow(clippy::unnecessary_cast)] // a no-op everywhere but NetBSD
const FLAG_MAP: [(Flags, u16); 10] = [
    (Flags::ADD, libc::EV_ADD as u16),
    (Flags::DELETE, libc::EV_DELETE as u16),
    (Flags::ENABLE, libc::EV_ENABLE as u16),
    (Flags::DISABLE, libc::EV_DISABLE as u16),
    (Flags::ONESHOT, libc::EV_ONESHOT as u16),
    (Flags::CLEAR, libc::EV_CLEAR as u16),
    (Flags::RECEIPT, libc::EV_RECEIPT as u16),
    // rustix names no EV_DISPATCH; its flags keep unnamed bits.
    (Flags::DISPATCH, libc::EV_DISPATCH as u16),
    (Flags::EOF, libc::EV_EOF as u16),
    (Flags::ERROR, libc::EV_ERROR as u16),
];

/// An entry to be overwritten by the kernel.
pub(crate) fn empty_raw() -> Raw {
    Raw(Event::new(
        EventFilter::Read(0),
        EventFlags::empty(),
        ptr::null_mut(),
    ))
}

/// A change in the kernel's form. Fails for a filter this target cannot
/// register (`EVFILT_USER` on NetBSD and OpenBSD, which wake by pipe).
pub(crate) fn to_raw(change: &Kevent) -> io::Result<Raw> {
    let mut bits = 0u16;
    for (flag, native) in FLAG_MAP {
        if change.flags.contains(flag) {
            bits |= native;
        }
    }
    let flags = EventFlags::from_bits_retain(bits);
    // A token, not an address: no provenance.
    let udata = ptr::without_provenance_mut::<c_void>(change.udata);
    let filter = match change.filter {
        Filter::Read => EventFilter::Read(fd(change.ident)?),
        Filter::Write => EventFilter::Write(fd(change.ident)?),
        Filter::User => user(change)?,
        Filter::Other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no such kqueue filter",
            ));
        }
    };
    Ok(Raw(Event::new(filter, flags, udata)))
}

/// A kernel entry in plain form.
pub(crate) fn from_raw(raw: &Raw) -> Kevent {
    let event = &raw.0;
    let (ident, filter, trigger) = match event.filter() {
        EventFilter::Read(fd) => (ident(fd), Filter::Read, false),
        EventFilter::Write(fd) => (ident(fd), Filter::Write, false),
        #[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
        EventFilter::User { ident, flags, .. } => (
            usize::try_from(ident).unwrap_or(usize::MAX),
            Filter::User,
            flags.contains(kqueue::UserFlags::TRIGGER),
        ),
        _ => (0, Filter::Other, false),
    };
    let native = event.flags().bits();
    let mut flags = Flags::empty();
    for (flag, bits) in FLAG_MAP {
        if native & bits == bits {
            flags = flags | flag;
        }
    }
    Kevent {
        ident,
        filter,
        flags,
        trigger,
        data: event.data(),
        udata: event.udata().addr(),
    }
}

fn fd(ident: usize) -> io::Result<RawFd> {
    RawFd::try_from(ident)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "not a file descriptor"))
}

fn ident(fd: RawFd) -> usize {
    usize::try_from(fd).unwrap_or(usize::MAX)
}

#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
fn user(change: &Kevent) -> io::Result<EventFilter> {
    use rustix::event::kqueue::{UserDefinedFlags, UserFlags};
    let ident = isize::try_from(change.ident)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "EVFILT_USER ident too large"))?;
    Ok(EventFilter::User {
        ident,
        // NOTE_FFNOP (0): leave the knote's fflags alone.
        flags: if change.trigger {
            UserFlags::TRIGGER
        } else {
            UserFlags::empty()
        },
        user_flags: UserDefinedFlags::new(0),
    })
}

#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
fn user(_change: &Kevent) -> io::Result<EventFilter> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "no EVFILT_USER in rustix for this system: it wakes by self-pipe",
    ))
}

/// A kqueue file descriptor.
#[derive(Debug)]
pub(crate) struct Kqueue {
    fd: OwnedFd,
}

impl Kqueue {
    /// `kqueue()`, then `FD_CLOEXEC`: rustix's `kqueue()` is the plain call
    /// (FreeBSD's `kqueuex(KQUEUE_CLOEXEC)` and NetBSD's `kqueue1` are not
    /// everywhere). The window between the two only matters to a fork from
    /// another thread, and the child forks nothing after it starts threads.
    pub(crate) fn new() -> io::Result<Kqueue> {
        let fd = kqueue::kqueue()?;
        fcntl_setfd(&fd, FdFlags::CLOEXEC)?;
        Ok(Kqueue { fd })
    }

    /// The kqueue's fd, for the tests.
    #[cfg(test)]
    pub(crate) fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }
}

impl Kernel for Kqueue {
    fn kevent(
        &self,
        changes: &[Raw],
        events: &mut [Raw],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let timeout = timeout.map(|t| Timespec {
            // The poller clamps timeouts to about 24.8 days: both fit.
            tv_sec: t.as_secs() as _,
            tv_nsec: t.subsec_nanos() as _,
        });
        #[allow(unsafe_code)]
        // SAFETY: `Raw` is `repr(transparent)` over `Event`, so a slice of
        // one is a slice of the other with the same length. As for kevent,
        // rustix asks that the fds named by the changes stay valid while
        // registered. The kernel drops a knote when its fd is
        // closed, so it never acts on a closed fd; the poller's contract
        // (delete before close, and delete drops the fd's queued changes)
        // keeps changes from naming closed fds; and `udata` is a token the
        // kernel hands back without dereferencing.
        let count = unsafe {
            let changes = slice::from_raw_parts(changes.as_ptr().cast::<Event>(), changes.len());
            let events =
                slice::from_raw_parts_mut(events.as_mut_ptr().cast::<Event>(), events.len());
            kqueue::kevent_timespec(&self.fd, changes, events, timeout.as_ref())?
        };
        Ok(count)
    }
}
