//! The thin syscall layer: what only compiles on the BSDs and macOS.
//!
//! Everything here turns a decision made elsewhere into a system call; the
//! decisions themselves (which changes, how to decode, when to wake) live in
//! the plain modules and are tested on every host.

pub(crate) mod kqueue;
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
pub(crate) mod sendfile;
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd"))]
pub(crate) mod sockopt;

use crate::waker::WakeMode;

/// `EVFILT_USER` where rustix offers it (FreeBSD, DragonFly, macOS).
#[cfg(any(target_os = "freebsd", target_os = "dragonfly", target_os = "macos"))]
pub(crate) const WAKE_MODE: WakeMode = WakeMode::User;

/// A self-pipe on NetBSD and OpenBSD: rustix has no `EVFILT_USER` there, and
/// NetBSD before 10 has none at all (as in mio and polling).
#[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
pub(crate) const WAKE_MODE: WakeMode = WakeMode::Pipe;
