//! Accepting one connection without blocking: `accept4` and the errors that
//! only concern the one connection.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{SocketFlags, acceptfrom_with};

/// What one [`accept`] call produced.
#[derive(Debug)]
pub enum Accepted {
    /// A new connection: non-blocking, close-on-exec, with its peer address.
    Socket(OwnedFd, SocketAddr),
    /// No connection is pending (another child or thread may have taken it).
    WouldBlock,
    /// A connection went wrong before it could be accepted (reset, aborted,
    /// unreachable, or the call was interrupted). Nothing to close; the
    /// listener is fine, try again when it is next ready.
    Transient,
}

/// Accepts one pending connection from a non-blocking listening socket.
///
/// Uses `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`, so the new socket needs no
/// further `fcntl`. Errors that concern only the connection being accepted
/// are [`Accepted::Transient`]: httpd's `ap_unixd_accept` list
/// (`ECONNABORTED`, `EPROTO`, `ECONNRESET`, `ETIMEDOUT`, `EHOSTUNREACH`,
/// `ENETUNREACH`), plus `EINTR`, plus `EHOSTDOWN`, `ENONET` and `ENOPROTOOPT`,
/// which Linux's accept(2) lists among the network errors of a pending
/// connection that `accept` passes on and that callers should retry.
///
/// Every other error is returned: `EMFILE`, `ENFILE`, `ENOBUFS` and `ENOMEM`
/// are a resource shortage, which the runtime answers by pausing its accepts
/// for a moment (nginx's rule; httpd stops the child); `ENETDOWN` is, as in
/// httpd, not worth retrying; `EBADF`, `EINVAL` and `ENOTSOCK` are bugs.
/// A peer that is not IPv4 or IPv6 (the listener is not a TCP socket)
/// closes the accepted socket and gives [`io::ErrorKind::Unsupported`].
#[doc(alias = "accept4")]
#[doc(alias = "ap_unixd_accept")]
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<Accepted> {
    match acceptfrom_with(listener, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC) {
        Ok((socket, Some(peer))) => match SocketAddr::try_from(peer) {
            Ok(peer) => Ok(Accepted::Socket(socket, peer)),
            Err(_) => Err(not_ip()),
        },
        Ok((_, None)) => Err(not_ip()),
        Err(errno) => classify(errno),
    }
}

/// Sorts an `accept4` errno into "try later", "this connection only" and
/// "tell the caller".
fn classify(errno: Errno) -> io::Result<Accepted> {
    match errno {
        Errno::AGAIN => Ok(Accepted::WouldBlock),
        Errno::CONNABORTED
        | Errno::PROTO
        | Errno::CONNRESET
        | Errno::TIMEDOUT
        | Errno::HOSTUNREACH
        | Errno::NETUNREACH
        | Errno::INTR
        | Errno::HOSTDOWN
        | Errno::NONET
        | Errno::NOPROTOOPT => Ok(Accepted::Transient),
        other => Err(other.into()),
    }
}

fn not_ip() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "accepted a connection whose peer is not an IPv4 or IPv6 address",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsFd;

    use rustix::fs::{OFlags, fcntl_getfl};
    use rustix::io::{FdFlags, fcntl_getfd};

    fn nonblocking_listener() -> TcpListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        listener
    }

    #[test]
    fn an_empty_listener_would_block() {
        let listener = nonblocking_listener();
        assert!(matches!(
            accept(listener.as_fd()).unwrap(),
            Accepted::WouldBlock
        ));
    }

    #[test]
    fn a_pending_connection_is_accepted_nonblocking_and_cloexec() {
        let listener = nonblocking_listener();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // The handshake completes in the kernel, so the connection is queued
        // once connect returns; no poll needed on loopback.
        let Accepted::Socket(socket, peer) = accept(listener.as_fd()).unwrap() else {
            panic!("expected a socket");
        };
        assert_eq!(peer, client.local_addr().unwrap());
        assert!(fcntl_getfl(&socket).unwrap().contains(OFlags::NONBLOCK));
        assert!(fcntl_getfd(&socket).unwrap().contains(FdFlags::CLOEXEC));
        assert!(matches!(
            accept(listener.as_fd()).unwrap(),
            Accepted::WouldBlock
        ));
    }

    #[test]
    fn ipv6_peers_keep_their_family() {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 loopback on this machine
        };
        listener.set_nonblocking(true).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let Accepted::Socket(_, peer) = accept(listener.as_fd()).unwrap() else {
            panic!("expected a socket");
        };
        assert!(peer.is_ipv6());
        assert_eq!(peer, client.local_addr().unwrap());
    }

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
            assert!(
                matches!(classify(errno), Ok(Accepted::Transient)),
                "{errno:?}"
            );
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
        assert!(matches!(classify(Errno::AGAIN), Ok(Accepted::WouldBlock)));
    }

    #[test]
    fn a_unix_listener_is_refused_without_leaking_the_socket() {
        use rustix::net::{AddressFamily, SocketType, bind, listen, socket_with};
        use rustix::net::{SocketAddrUnix, connect};
        let listener = socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK,
            None,
        )
        .unwrap();
        // Autobind an abstract address: no file system entry to clean up.
        let name = format!("eventmpm-accept-test-{}", std::process::id());
        let addr = SocketAddrUnix::new_abstract_name(name.as_bytes()).unwrap();
        bind(&listener, &addr).unwrap();
        listen(&listener, 4).unwrap();
        // Non-blocking, so a socket left open would fail the read below with
        // WouldBlock instead of hanging the test.
        let client = socket_with(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::NONBLOCK,
            None,
        )
        .unwrap();
        connect(&client, &addr).unwrap();
        let error = accept(listener.as_fd()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Unsupported);
        // The refused socket was closed: the client sees end of stream.
        let mut byte = [0u8; 1];
        assert_eq!(rustix::io::read(&client, &mut byte).unwrap(), 0);
    }
}
