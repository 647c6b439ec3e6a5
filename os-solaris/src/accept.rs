//! Accepting one connection without blocking: `accept4` and the errors that
//! only concern the one connection.

use std::io;
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
use std::net::SocketAddr;
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::io::Errno;

/// What one [`accept`] call produced.
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
#[derive(Debug)]
pub enum Accepted {
    /// A new connection: non-blocking, close-on-exec, with its peer address.
    Socket(OwnedFd, SocketAddr),
    /// No connection is pending (another child or thread may have taken it,
    /// or the listener's event was stale).
    WouldBlock,
    /// A connection went wrong before it could be accepted (reset, aborted,
    /// unreachable, or the call was interrupted). Nothing to close; the
    /// listener is fine, try again when it is next ready.
    Transient,
}

/// Accepts one pending connection from a non-blocking listening socket.
///
/// Uses `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` (illumos; Solaris 11.4), so
/// the new socket needs no further `fcntl`. Errors that concern only the
/// connection being accepted are [`Accepted::Transient`]: httpd's
/// `ap_unixd_accept` list (`ECONNABORTED`; `EPROTO`, which Solaris's STREAMS
/// sockets return for a connection reset before it was accepted;
/// `ECONNRESET`, `ETIMEDOUT`, `EHOSTUNREACH`, `ENETUNREACH`), plus `EINTR`,
/// `EHOSTDOWN`, `ENONET` and `ENOPROTOOPT`, kept for the same list on every
/// system (an errno a system never returns costs nothing).
///
/// Every other error is returned: `EMFILE`, `ENFILE`, `ENOBUFS` and `ENOMEM`
/// are a resource shortage (the runtime pauses its accepts for a moment);
/// `ENETDOWN` is not worth retrying; `EBADF`, `EINVAL` and `ENOTSOCK` are
/// bugs. A peer that is not IPv4 or IPv6 closes the accepted socket and gives
/// [`io::ErrorKind::Unsupported`].
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
#[doc(alias = "accept4")]
#[doc(alias = "ap_unixd_accept")]
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<Accepted> {
    use rustix::net::{SocketFlags, acceptfrom_with};

    let not_ip = || {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "accepted a connection whose peer is not an IPv4 or IPv6 address",
        )
    };
    match acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
        Ok((socket, Some(peer))) => match SocketAddr::try_from(peer) {
            Ok(peer) => Ok(Accepted::Socket(socket, peer)),
            Err(_) => Err(not_ip()),
        },
        Ok((_, None)) => Err(not_ip()),
        Err(errno) => match classify(errno)? {
            Transient::WouldBlock => Ok(Accepted::WouldBlock),
            Transient::Connection => Ok(Accepted::Transient),
        },
    }
}

/// An `accept4` failure that is not the caller's concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transient {
    /// Nothing to accept.
    WouldBlock,
    /// Only the one connection failed.
    Connection,
}

/// Sorts an `accept4` errno into "try later", "this connection only" and
/// "tell the caller".
pub(crate) fn classify(errno: Errno) -> io::Result<Transient> {
    match errno {
        Errno::AGAIN => Ok(Transient::WouldBlock),
        Errno::CONNABORTED
        | Errno::PROTO
        | Errno::CONNRESET
        | Errno::TIMEDOUT
        | Errno::HOSTUNREACH
        | Errno::NETUNREACH
        | Errno::INTR
        | Errno::HOSTDOWN
        | Errno::NONET
        | Errno::NOPROTOOPT => Ok(Transient::Connection),
        other => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_connection_errors_are_transient() {
        for errno in [
            Errno::CONNABORTED,
            Errno::PROTO,
            Errno::CONNRESET,
            Errno::TIMEDOUT,
            Errno::HOSTUNREACH,
            Errno::NETUNREACH,
            Errno::INTR,
            Errno::HOSTDOWN,
            Errno::NONET,
            Errno::NOPROTOOPT,
        ] {
            assert_eq!(classify(errno).unwrap(), Transient::Connection, "{errno:?}");
        }
    }

    #[test]
    fn resource_shortages_and_bugs_are_errors() {
        for errno in [
            Errno::MFILE,
            Errno::NFILE,
            Errno::NOBUFS,
            Errno::NOMEM,
            Errno::NETDOWN,
            Errno::BADF,
            Errno::INVAL,
            Errno::NOTSOCK,
        ] {
            let error = classify(errno).unwrap_err();
            assert_eq!(error.raw_os_error(), Some(errno.raw_os_error()));
        }
    }

    #[test]
    fn again_is_would_block() {
        assert_eq!(classify(Errno::AGAIN).unwrap(), Transient::WouldBlock);
    }
}
