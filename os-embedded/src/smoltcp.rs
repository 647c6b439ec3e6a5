//! The smoltcp adapter: [`Sockets`] over a `SocketSet` and a fixed list of TCP socket handles.
//!
//! smoltcp has no accept backlog: a SYN that finds no socket in `Listen` is answered with a reset.
//! A socket that has left `Listen` is the accepted connection. When the runtime lets go of one,
//! the socket is closed gracefully and becomes reusable once it reaches `TIME-WAIT` or `CLOSED`
//! (smoltcp would keep it in `TIME-WAIT` for 10 s; by then the client's FIN has been acknowledged,
//! so the socket is reset and reused instead, which is what a server's `SO_REUSEADDR` amounts to).

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;

use crate::socket::{Socket, SocketState, Sockets};

/// An error from a smoltcp socket, in embedded-io's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The connection was reset or is no longer open for this direction.
    Closed,
    /// The operation would have blocked: the caller did not check readiness first.
    NotReady,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Error::Closed => "connection closed",
            Error::NotReady => "socket not ready",
        })
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Closed => ErrorKind::ConnectionReset,
            Error::NotReady => ErrorKind::Other,
        }
    }
}

/// One TCP socket lent out for an operation.
#[derive(Debug)]
pub struct TcpIo<'s, 'a>(pub &'s mut tcp::Socket<'a>);

impl ErrorType for TcpIo<'_, '_> {
    type Error = Error;
}

impl Read for TcpIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.0.can_recv() {
            return self.0.recv_slice(buf).map_err(|_| Error::Closed);
        }
        if !self.0.may_recv() {
            // The client's FIN (or a reset): end of stream.
            return Ok(0);
        }
        Err(Error::NotReady)
    }
}

impl ReadReady for TcpIo<'_, '_> {
    fn read_ready(&mut self) -> Result<bool, Error> {
        Ok(self.0.can_recv() || !self.0.may_recv())
    }
}

impl Write for TcpIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.0.may_send() {
            return Err(Error::Closed);
        }
        match self.0.send_slice(buf) {
            Ok(0) => Err(Error::NotReady),
            Ok(n) => Ok(n),
            Err(_) => Err(Error::Closed),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        // smoltcp sends at its next poll; nothing is held back here.
        Ok(())
    }
}

impl WriteReady for TcpIo<'_, '_> {
    fn write_ready(&mut self) -> Result<bool, Error> {
        // Not able to send at all is "ready": the write reports the error at once.
        Ok(self.0.can_send() || !self.0.may_send())
    }
}

impl Socket for TcpIo<'_, '_> {
    fn shutdown(&mut self) {
        self.0.close();
    }

    fn abort(&mut self) {
        self.0.abort();
    }
}

/// [`Sockets`] over a smoltcp `SocketSet`: the runtime's sockets are `handles[i]`.
#[derive(Debug)]
pub struct SmolSockets<'s, 'a, 'h> {
    set: &'s mut SocketSet<'a>,
    handles: &'h [SocketHandle],
}

impl<'s, 'a, 'h> SmolSockets<'s, 'a, 'h> {
    /// The runtime's view of `handles` in `set`.
    pub fn new(set: &'s mut SocketSet<'a>, handles: &'h [SocketHandle]) -> Self {
        SmolSockets { set, handles }
    }

    fn tcp(&mut self, i: usize) -> &mut tcp::Socket<'a> {
        self.set.get_mut::<tcp::Socket<'a>>(self.handles[i])
    }
}

impl<'a> Sockets for SmolSockets<'_, 'a, '_> {
    type Socket<'x>
        = TcpIo<'x, 'a>
    where
        Self: 'x;

    fn len(&self) -> usize {
        self.handles.len()
    }

    fn state(&mut self, i: usize) -> SocketState {
        let s = self.tcp(i);
        match s.state() {
            // A handshake in progress is still the listener's: the connection is taken once
            // established (before that, smoltcp reports it as not readable and at end of
            // stream).
            tcp::State::Listen | tcp::State::SynReceived => SocketState::Listening,
            tcp::State::Closed => SocketState::Free,
            tcp::State::TimeWait => {
                // Our ACK of the client's FIN went out with the poll that got here.
                s.abort();
                SocketState::Free
            }
            tcp::State::Established | tcp::State::CloseWait => SocketState::Arrived,
            tcp::State::SynSent
            | tcp::State::FinWait1
            | tcp::State::FinWait2
            | tcp::State::Closing
            | tcp::State::LastAck => SocketState::Closing,
        }
    }

    fn listen(&mut self, i: usize, port: u16) -> bool {
        let s = self.tcp(i);
        if s.state() != tcp::State::Closed {
            s.abort();
        }
        s.listen(port).is_ok()
    }

    fn unlisten(&mut self, i: usize) {
        let s = self.tcp(i);
        // Only a socket still waiting: a handshake in progress is let through.
        if s.state() == tcp::State::Listen {
            s.abort();
        }
    }

    fn release(&mut self, i: usize) {
        let s = self.tcp(i);
        match s.state() {
            // Both FINs are out and ours awaits its ACK: let it finish (bounded by the socket's
            // timeout, set when it started listening).
            tcp::State::Closing | tcp::State::LastAck => {}
            // The client closed first (it went away between requests): answer its FIN with ours
            // rather than a reset; the socket is free once that is acknowledged.
            tcp::State::CloseWait => s.close(),
            // Done, or closed without (or after a timed-out) lingering: free it now.
            _ => s.abort(),
        }
    }

    fn socket(&mut self, i: usize) -> TcpIo<'_, 'a> {
        TcpIo(self.tcp(i))
    }
}
