//! The fake socket: one TCP connection as both ends see it, plus the ground truth the checker
//! needs.
//!
//! Client → server bytes are kept whole (`c2s`); the server's side is two offsets into them: what
//! it has read into its input buffer and what it has consumed as requests. Server → client bytes
//! are only counted (their content is the responses' bookkeeping): the client's receive window
//! bounds how much may be in flight, which is what pushes large responses into write completion.

use eventmpm_core::table::ConnId;
use eventmpm_core::time::Instant;

use crate::http::BUFFER;

/// Who holds a connection right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// In the kernel's accept backlog, not yet accepted.
    Backlog,
    /// The listener (waiting in the poller or being handled).
    Listener,
    /// In the bounded dispatch queue, waiting for a worker.
    Queue,
    /// A worker thread (its index).
    Worker(usize),
    /// In the completion queue, handed back but not yet applied by the listener.
    Completion,
    /// Closed by the server, or refused.
    Gone,
}

/// What the client wrote for one request (the checker's ground truth).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentRequest {
    /// Offset of the head's first byte in the client's stream.
    pub start: usize,
    /// Offset just past the head, or `None` for a head that never ends.
    pub head_end: Option<usize>,
    /// A valid request (else malformed or oversized).
    pub valid: bool,
    /// When the whole head had been written.
    pub complete_at: Option<Instant>,
}

/// One response the server produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Response {
    /// The request it answers (index into [`Wire::requests`]), if it answers one.
    pub request: Option<usize>,
    /// The status.
    pub status: u16,
    /// Whether it advertised keep-alive.
    pub keep_alive: bool,
    /// An error answer (400, 408, 431 …) that ends the connection.
    pub error: bool,
    /// Offset just past its last byte in the server → client stream.
    pub end: u64,
    /// All of it has been written.
    pub complete: bool,
    /// When the server decided it (and its keep-alive).
    pub decided_at: Instant,
}

/// Why the server stopped reading requests on a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// A response said `Connection: close`.
    CloseResponse,
    /// An error response to an invalid head (400, 431, 505): nothing after it is owed.
    InvalidHead,
    /// A head read timed out after some bytes (408): the request was not complete in time.
    RequestTimeout,
    /// An idle keep-alive connection timed out or was killed.
    KeepAliveEnded,
    /// A head read timed out before any byte arrived.
    EmptyHeadTimeout,
    /// The client closed or reset its side.
    ClientClosed,
    /// The client stopped reading and the write timed out, or the write failed.
    WriteEnded,
    /// A worker gave up on the connection (its end closed or failed).
    WorkerClosed,
}

/// The server's decision to stop reading requests, and what it knew then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct End {
    /// Why.
    pub reason: EndReason,
    /// When.
    pub at: Instant,
    /// Client bytes that had reached the socket by then.
    pub arrived: usize,
    /// The poller had a read event for the connection that the listener had not received yet
    /// (the request raced the decision).
    pub event_pending: bool,
}

/// One connection.
#[derive(Clone, Debug)]
pub struct Wire {
    /// The client (index into the run's clients).
    pub client: usize,
    /// Every byte the client sent.
    pub c2s: Vec<u8>,
    /// Bytes the server has moved into its input buffer.
    pub srv_read: usize,
    /// Bytes the server has consumed as request heads (or discarded).
    pub srv_consumed: usize,
    /// The client shut down its sending side (or closed).
    pub client_fin: bool,
    /// The client reset the connection.
    pub client_reset: bool,
    /// The most the client lets be in flight towards it (its receive window).
    pub window: u64,
    /// Server → client bytes written.
    pub written: u64,
    /// Server → client bytes the client has read.
    pub client_read: u64,
    /// Bytes of the current response still to write (write completion).
    pub pending_out: u64,
    /// The server shut down its sending side (lingering close).
    pub server_shut_wr: bool,
    /// The server closed the socket.
    pub server_closed: bool,
    /// The client was refused (listener closed, backlog full).
    pub refused: bool,
    /// The table's id once accepted.
    pub conn: Option<ConnId>,
    /// Who holds it.
    pub owner: Owner,
    /// When it was accepted and closed.
    pub accepted_at: Option<Instant>,
    /// See [`Wire::accepted_at`].
    pub closed_at: Option<Instant>,
    /// Ground truth: the requests the client wrote.
    pub requests: Vec<SentRequest>,
    /// The responses the server produced, in order.
    pub responses: Vec<Response>,
    /// The server's first decision to stop reading requests.
    pub end: Option<End>,
    /// The length of the client's TLS handshake, the first bytes of `c2s` (0: plain HTTP).
    pub handshake: usize,
}

impl Wire {
    /// A fresh connection for `client` with the given receive window.
    pub fn new(client: usize, window: u64) -> Wire {
        Wire {
            client,
            c2s: Vec::new(),
            srv_read: 0,
            srv_consumed: 0,
            client_fin: false,
            client_reset: false,
            window: window.max(1),
            written: 0,
            client_read: 0,
            pending_out: 0,
            server_shut_wr: false,
            server_closed: false,
            refused: false,
            conn: None,
            owner: Owner::Backlog,
            accepted_at: None,
            closed_at: None,
            requests: Vec::new(),
            responses: Vec::new(),
            end: None,
            handshake: 0,
        }
    }

    /// Whether the server has not yet received the whole handshake.
    pub fn handshaking(&self) -> bool {
        self.srv_read < self.handshake
    }

    /// One non-blocking read of handshake bytes: the session takes them, none reaches the
    /// request buffer. Returns the bytes read.
    pub fn read_handshake(&mut self) -> usize {
        if self.client_reset {
            return 0;
        }
        let n = self
            .c2s
            .len()
            .min(self.handshake)
            .saturating_sub(self.srv_read);
        self.srv_read += n;
        self.srv_consumed = self.srv_read;
        n
    }

    /// The server's buffered, unconsumed input.
    pub fn buffer(&self) -> &[u8] {
        self.c2s
            .get(self.srv_consumed..self.srv_read)
            .unwrap_or_default()
    }

    /// Client bytes in the socket, not yet read by the server.
    pub fn unread(&self) -> usize {
        self.c2s.len().saturating_sub(self.srv_read)
    }

    /// Readable for the server: data, end of stream or an error.
    pub fn readable(&self) -> bool {
        self.unread() > 0 || self.client_fin || self.client_reset
    }

    /// Room the client's window leaves for more output.
    pub fn space(&self) -> u64 {
        self.window
            .saturating_sub(self.written.saturating_sub(self.client_read))
    }

    /// Writable for the server: room, or an error to report.
    pub fn writable(&self) -> bool {
        self.space() > 0 || self.client_reset
    }

    /// One non-blocking read into the server's buffer (at most [`BUFFER`] buffered); returns the
    /// bytes moved.
    pub fn read_into_buffer(&mut self) -> usize {
        if self.client_reset {
            return 0;
        }
        let room = BUFFER.saturating_sub(self.srv_read - self.srv_consumed);
        let n = self.unread().min(room);
        self.srv_read += n;
        n
    }

    /// Whether the server's reads have reached the client's end of stream (or a reset).
    pub fn at_eof(&self) -> bool {
        self.client_reset || (self.client_fin && self.unread() == 0)
    }

    /// One non-blocking write of up to `n` bytes; returns the bytes written (0 when full).
    pub fn write(&mut self, n: u64) -> u64 {
        let n = n.min(self.space());
        self.written += n;
        n
    }

    /// Read and discard everything the client has sent (lingering close); returns whether the
    /// client's end of stream has been reached.
    pub fn drain(&mut self) -> bool {
        if !self.client_reset {
            self.srv_read = self.c2s.len();
        }
        self.srv_consumed = self.srv_read;
        self.at_eof()
    }

    /// Whether the client has read everything and sees the server's end of stream.
    pub fn client_sees_eof(&self) -> bool {
        self.client_read >= self.written && (self.server_shut_wr || self.server_closed)
    }

    /// The request whose head starts at the server's consumed offset.
    pub fn request_at_consumed(&self) -> Option<usize> {
        self.requests
            .iter()
            .position(|r| r.start == self.srv_consumed)
    }

    /// Responses the client has read completely.
    pub fn responses_read(&self) -> usize {
        self.responses
            .iter()
            .take_while(|r| r.complete && r.end <= self.client_read)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_limits_writes_and_reading_frees_it() {
        let mut w = Wire::new(0, 100);
        assert_eq!(w.write(150), 100);
        assert!(!w.writable());
        assert_eq!(w.write(1), 0);
        w.client_read = 40;
        assert_eq!(w.space(), 40);
        w.client_reset = true;
        assert!(w.writable(), "an error is reported as writable");
    }

    #[test]
    fn reads_are_bounded_by_the_buffer_and_drain_discards() {
        let mut w = Wire::new(0, 1);
        w.c2s = vec![b'x'; BUFFER + 10];
        assert!(w.readable());
        assert_eq!(w.read_into_buffer(), BUFFER);
        assert_eq!(w.read_into_buffer(), 0, "buffer full");
        assert_eq!(w.buffer().len(), BUFFER);
        assert!(!w.drain());
        assert_eq!((w.unread(), w.buffer().len()), (0, 0));
        w.client_fin = true;
        assert!(w.drain());
    }
}
