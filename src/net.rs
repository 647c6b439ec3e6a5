//! Listening sockets, created the portable POSIX way (what differs per OS lives in `sys`).
//!
//! The parent binds every `Listen` address before it drops privileges and before any child
//! exists; children inherit the sockets. Options follow httpd's `make_sock()`: `SO_REUSEADDR`
//! (so a restart can rebind while old connections linger in TIME_WAIT), `SO_KEEPALIVE`,
//! `IPV6_V6ONLY` off for a wildcard IPv6 socket (one socket serves both families, as httpd's
//! `Listen 80` does), the configured send/receive buffer sizes, non-blocking and close-on-exec.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{self as rnet, AddressFamily, sockopt};

/// One socket to listen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenSpec {
    /// The address; an unspecified IPv6 address means "every address of both families".
    pub addr: SocketAddr,
    /// `ListenBacklog`.
    pub backlog: u32,
    /// `SendBufferSize`; 0 = the OS default.
    pub send_buffer: u32,
    /// `ReceiveBufferSize`; 0 = the OS default.
    pub receive_buffer: u32,
}

/// The address `Listen PORT` (no address) means: every local address. IPv6's wildcard with
/// `IPV6_V6ONLY` off covers IPv4 too; hosts without IPv6 fall back to `0.0.0.0`.
pub fn wildcard(port: u16) -> [SocketAddr; 2] {
    [
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    ]
}

/// Create, configure, bind and listen. The socket is non-blocking and close-on-exec.
pub fn bind(spec: &ListenSpec) -> io::Result<TcpListener> {
    let family = match spec.addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd: OwnedFd = crate::sys::stream_socket(family)?;
    sockopt::set_socket_reuseaddr(&fd, true)?;
    sockopt::set_socket_keepalive(&fd, true)?;
    if let SocketAddr::V6(v6) = spec.addr
        && v6.ip().is_unspecified()
    {
        sockopt::set_ipv6_v6only(&fd, false)?;
    }
    // httpd only warns when a buffer size cannot be set (AH00070/AH00071); so do we.
    if spec.send_buffer > 0
        && let Err(e) = sockopt::set_socket_send_buffer_size(&fd, spec.send_buffer as usize)
    {
        log::warn!(
            "make_sock: failed to set SendBufferSize for address {}: {e}",
            spec.addr
        );
    }
    if spec.receive_buffer > 0
        && let Err(e) = sockopt::set_socket_recv_buffer_size(&fd, spec.receive_buffer as usize)
    {
        log::warn!(
            "make_sock: failed to set ReceiveBufferSize for address {}: {e}",
            spec.addr
        );
    }
    // Accepted sockets inherit it on Linux (and the BSDs), saving a setsockopt per connection
    // ([`configure_accepted`]).
    sockopt::set_tcp_nodelay(&fd, true)?;
    rnet::bind(&fd, &spec.addr)?;
    // listen(2) takes an int; the kernel caps it at somaxconn anyway.
    rnet::listen(&fd, spec.backlog.min(i32::MAX as u32) as i32)?;
    Ok(TcpListener::from(fd))
}

/// Options every accepted connection gets: no Nagle delay (responses are written whole, and a
/// delayed last segment costs a keep-alive client 40 ms).
pub fn configure_accepted(sock: &impl AsFd) -> io::Result<()> {
    // Linux copies the listening socket's TCP_NODELAY into each connection it accepts (`bind`
    // sets it there): nothing to do per connection. Elsewhere, set it (the BSDs inherit it too,
    // but only a test on their kernels could tell us, and illumos documents nothing).
    if cfg!(any(target_os = "linux", target_os = "android")) {
        return Ok(());
    }
    sockopt::set_tcp_nodelay(sock, true)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[test]
    fn binds_loopback_nonblocking_with_backlog() {
        let spec = ListenSpec {
            addr: "127.0.0.1:0".parse().unwrap(),
            backlog: 16,
            send_buffer: 4096,
            receive_buffer: 4096,
        };
        let l = bind(&spec).unwrap();
        let addr = l.local_addr().unwrap();
        assert!(sockopt::tcp_nodelay(&l).unwrap());
        // Non-blocking: nothing pending gives WouldBlock instead of hanging the test.
        assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        let (mut s, _) = loop {
            match l.accept() {
                Ok(pair) => break pair,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        };
        configure_accepted(&s).unwrap();
        // Inherited from the listening socket, or set by configure_accepted.
        assert!(sockopt::tcp_nodelay(&s).unwrap());
        s.set_nonblocking(false).unwrap();
        let mut b = [0u8; 1];
        s.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"x");
    }

    #[test]
    fn a_busy_port_is_an_error_not_a_panic() {
        let first = bind(&ListenSpec {
            addr: "127.0.0.1:0".parse().unwrap(),
            backlog: 1,
            send_buffer: 0,
            receive_buffer: 0,
        })
        .unwrap();
        let taken = first.local_addr().unwrap();
        let err = bind(&ListenSpec {
            addr: taken,
            backlog: 1,
            send_buffer: 0,
            receive_buffer: 0,
        });
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::AddrInUse);
    }
}
