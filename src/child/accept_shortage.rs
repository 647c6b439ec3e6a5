//! What both MPMs' listeners do when `accept` fails for lack of descriptors or memory: pause
//! accepting for the core's [`PAUSE`] and retry, keep serving the connections already open, and
//! log the episode once when it begins and once when it is over ([`AcceptPause`]). The event
//! listener keeps its pause in the core's listener rules; the worker MPM's accept-only listener
//! in an [`AcceptShortage`].
//!
//! httpd answers the same errors by stopping the child gracefully (`resource_shortage`), so the
//! parent replaces it, and the replacement meets the same limit: children churn while the
//! connections they cannot take wait in the backlog. A paused listener leaves them there for a
//! child with descriptors to spare, or for itself once its own connections have ended.

use std::io;

use eventmpm_core::accept_pause::{AcceptPause, PAUSE, Recovered};
use eventmpm_core::time::Instant;

/// Whether an accept error is a resource shortage that passes as connections end (EMFILE,
/// ENFILE) or as the kernel frees memory (ENOBUFS, ENOMEM), rather than a fault of the
/// listening socket.
pub fn is_shortage(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Log the start of an episode: httpd's wording for a failed accept (unixd.c), then what we do
/// instead of exiting.
pub fn log_began(e: &io::Error) {
    log::error!(
        "({}){e}: AH02179: apr_socket_accept: (client socket); not accepting new connections \
         in this process for {PAUSE} at a time until this passes, serving the open ones",
        e.raw_os_error().unwrap_or(0)
    );
}

/// Log the end of an episode.
pub fn log_over(r: Recovered) {
    log::warn!(
        "accepting new connections again after a resource shortage: {} accept attempts \
         refused over {}",
        r.refused,
        r.lasted
    );
}

/// The accept pause of the worker MPM's listener thread, with its log lines.
#[derive(Debug, Default)]
pub struct AcceptShortage {
    pause: AcceptPause,
}

impl AcceptShortage {
    /// No shortage seen.
    pub const fn new() -> AcceptShortage {
        AcceptShortage {
            pause: AcceptPause::new(),
        }
    }

    /// An accept failed with `e` at `now`. A shortage pauses accepting (logged when it begins
    /// an episode) and returns `true`; any other error returns `false` for the caller to handle.
    pub fn failed(&mut self, e: &io::Error, now: Instant) -> bool {
        if !is_shortage(e) {
            return false;
        }
        if self.pause.shortage(now) {
            log_began(e);
        }
        true
    }

    /// A connection was accepted at `now`: logs the end of an episode in progress.
    pub fn accepted(&mut self, now: Instant) {
        if let Some(r) = self.pause.accepted(now) {
            log_over(r);
        }
    }

    /// Whether accepting is paused.
    pub const fn paused(&self) -> bool {
        self.pause.paused()
    }

    /// When the pause ends (`None` while not paused): the listener's wait must not outlast it.
    pub const fn deadline(&self) -> Option<Instant> {
        self.pause.deadline()
    }

    /// End the pause if its deadline has come; returns whether it did.
    pub fn expire(&mut self, now: Instant) -> bool {
        self.pause.expire(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_and_memory_shortages_pause_and_other_errors_do_not() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let mut s = AcceptShortage::new();
            assert!(s.failed(&io::Error::from_raw_os_error(errno), Instant::ZERO));
            assert!(s.paused());
        }
        for errno in [libc::EBADF, libc::EINVAL, libc::ENOTSOCK, libc::ENETDOWN] {
            let mut s = AcceptShortage::new();
            assert!(!s.failed(&io::Error::from_raw_os_error(errno), Instant::ZERO));
            assert!(!s.paused());
        }
        let mut s = AcceptShortage::new();
        assert!(!s.failed(&io::Error::other("not an OS error"), Instant::ZERO));
    }
}
