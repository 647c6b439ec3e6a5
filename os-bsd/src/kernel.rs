//! The one call between the decision layer and a kqueue: `kevent`.
//!
//! On the BSDs and macOS the kqueue is the real one (`sys`), and [`Raw`] is
//! rustix's `kqueue::Event`. Elsewhere [`Raw`] is the plain
//! [`Kevent`](crate::kevent::Kevent)
//! itself, and the only kqueue is the test model, so the poller, its
//! changelist and its decoding run unchanged on every host.

use std::fmt;
use std::io;
use std::time::Duration;

/// A kqueue, as the poller uses it.
pub(crate) trait Kernel: Send + Sync + fmt::Debug {
    /// `kevent(kq, changes, events, timeout)`.
    ///
    /// Applies `changes` in order. A change that fails, or that carries
    /// `EV_RECEIPT`, is answered by an `EV_ERROR` entry in `events` with the
    /// errno in `data` (0 for a receipt), and then the call returns those
    /// entries without waiting; if `events` has no room left for such an
    /// entry, the call fails with that errno and the remaining changes are
    /// not applied. Otherwise it waits up to `timeout` (`None`: forever) for
    /// ready knotes and returns how many entries it wrote. An empty `events`
    /// only applies the changes.
    fn kevent(
        &self,
        changes: &[Raw],
        events: &mut [Raw],
        timeout: Option<Duration>,
    ) -> io::Result<usize>;
}

#[cfg(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
))]
pub(crate) use crate::sys::kqueue::{Raw, empty_raw, from_raw, to_raw};

#[cfg(not(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
)))]
pub(crate) use self::plain::{Raw, empty_raw, from_raw, to_raw};

#[cfg(not(any(
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "macos"
)))]
mod plain {
    use std::io;

    use crate::kevent::Kevent;

    /// Without a kernel kqueue, the kernel's entries are plain kevents.
    pub(crate) type Raw = Kevent;

    /// An entry to be overwritten.
    pub(crate) fn empty_raw() -> Raw {
        Kevent::default()
    }

    /// A change in the kernel's form.
    pub(crate) fn to_raw(change: &Kevent) -> io::Result<Raw> {
        Ok(*change)
    }

    /// A kernel entry in plain form.
    pub(crate) fn from_raw(raw: &Raw) -> Kevent {
        *raw
    }
}
