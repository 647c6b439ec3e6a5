//! Socket options whose name or existence differs between systems.

use std::io;
use std::os::fd::BorrowedFd;

/// What httpd's `AcceptFilter` sets elsewhere: hold a new connection back
/// until the client has sent data. illumos and Solaris have no such filter
/// (neither Linux's `TCP_DEFER_ACCEPT` nor the BSDs' `SO_ACCEPTFILTER`), so
/// this does nothing and returns `Ok(())`, whatever `secs` is.
///
/// httpd behaves the same there: its `AcceptFilter` is a no-op on systems
/// without a filter. Connections are accepted as soon as the handshake
/// completes, and the head-read timeouts bound an idle client.
#[doc(alias = "AcceptFilter")]
#[doc(alias = "TCP_DEFER_ACCEPT")]
pub fn set_defer_accept(listener: BorrowedFd<'_>, secs: u32) -> io::Result<()> {
    let _ = (listener, secs);
    Ok(())
}
