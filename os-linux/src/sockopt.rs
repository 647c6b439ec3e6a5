//! Socket options whose name or existence differs between systems.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Makes a listening socket hold a new connection back until the client has
/// sent data, for up to `secs` seconds (Linux `TCP_DEFER_ACCEPT`); `0` turns
/// it off.
///
/// httpd sets this on `http` and `https` listeners by default (30 s) through
/// `AcceptFilter`. The kernel turns `secs` into a count of SYN-ACK
/// retransmissions, so reading the option back may give a different number.
/// Values above `i32::MAX` are clamped. rustix has no wrapper for it, hence
/// libc.
#[doc(alias = "AcceptFilter")]
#[doc(alias = "TCP_DEFER_ACCEPT")]
pub fn set_defer_accept(listener: BorrowedFd<'_>, secs: u32) -> io::Result<()> {
    let value = libc::c_int::try_from(secs).unwrap_or(libc::c_int::MAX);
    // The kernel reads exactly `len` bytes from `value`, which lives across
    // the call.
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    #[allow(unsafe_code)]
    // SAFETY: the fd is borrowed and open for the call; the pointer and
    // length describe one initialised c_int on our stack.
    let rc = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&raw const value).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsFd;

    #[allow(unsafe_code)]
    fn defer_accept(listener: BorrowedFd<'_>) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: value and len are valid for writes and sized for a c_int.
        let rc = unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                (&raw mut value).cast::<libc::c_void>(),
                &mut len,
            )
        };
        assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        value
    }

    #[test]
    fn sets_and_clears_the_option() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert_eq!(defer_accept(listener.as_fd()), 0);
        set_defer_accept(listener.as_fd(), 30).unwrap();
        assert!(defer_accept(listener.as_fd()) >= 30);
        set_defer_accept(listener.as_fd(), 0).unwrap();
        assert_eq!(defer_accept(listener.as_fd()), 0);
    }

    #[test]
    fn huge_values_are_clamped_not_wrapped() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        set_defer_accept(listener.as_fd(), u32::MAX).unwrap();
        assert!(defer_accept(listener.as_fd()) > 0);
    }

    #[test]
    fn a_non_tcp_socket_is_an_error() {
        let (ours, _theirs) = eventmpm_os_testkit::socket_pair();
        assert!(set_defer_accept(ours.as_fd(), 30).is_err());
    }
}
