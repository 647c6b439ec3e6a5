//! One TLS connection's record layer over its non-blocking socket: the handshake and decryption
//! happen as the request head is read (in the listener), encryption as the response is sent (in
//! whichever thread sends it: a worker, or the listener during write completion).
//!
//! Every call is bounded: at most [`READS_PER_CALL`] socket reads, and writes of at most what
//! the connection's send buffer holds ([`SEND_BUFFER`]).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

/// Encrypted bytes a connection may hold for the socket to take. rustls refuses plaintext
/// beyond it, so a response is encrypted at most this far ahead of the client.
pub const SEND_BUFFER: usize = 32 * 1024;
/// Socket reads per [`Session::read`] call: a record of 16 KiB takes a few (rustls reads at
/// most 4 KiB at a time), and a handshake message or two may come first.
const READS_PER_CALL: usize = 16;

/// What a [`Session::read`] brought.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Decrypted bytes. `drained`: the socket read that brought them was short and nothing
    /// decrypted is left in the session, so nothing more is there until the socket is readable
    /// again (a plain read's "short read" rule); otherwise more may be waiting.
    Bytes {
        /// How many.
        n: usize,
        /// See above.
        drained: bool,
    },
    /// The end of the stream: close_notify, or the peer's FIN.
    End,
    /// Nothing decrypted, and the socket is drained (wait for it to be readable).
    Drained,
    /// Nothing decrypted yet, and the socket was not drained within the call's bound: call
    /// again on the connection's next turn.
    Paused,
    /// The client sent a plain HTTP request instead of a ClientHello
    /// ([`super::plain_http`]): the session is unusable, nothing was sent.
    PlainHttp,
}

/// [`Session::flush`] on the connection alone (while the session's other fields are lent out).
fn flush_conn(conn: &mut rustls::ServerConnection, sock: &TcpStream) -> io::Result<bool> {
    while conn.wants_write() {
        match conn.write_tls(&mut &*sock) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// The socket as rustls reads it, noting whether the last read was short (returned less than
/// rustls asked for: the socket had no more then).
struct Probe<'a> {
    sock: &'a TcpStream,
    short: bool,
    /// The session's record of the connection's first bytes.
    first: &'a mut [u8; 8],
    first_len: &'a mut usize,
    /// The session's count of bytes received.
    received: &'a mut u64,
}

impl Read for Probe<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (&*self.sock).read(buf)?;
        self.short = n < buf.len();
        *self.received = self.received.saturating_add(n as u64);
        let have = *self.first_len;
        let take = (self.first.len() - have).min(n);
        self.first[have..have + take].copy_from_slice(&buf[..take]);
        *self.first_len += take;
        Ok(n)
    }
}

/// A TLS server connection.
#[derive(Debug)]
pub struct Session {
    conn: rustls::ServerConnection,
    /// The first bytes the client sent, to tell a plain HTTP request from a broken hello.
    first: [u8; 8],
    /// How many of `first` are known.
    first_len: usize,
    /// close_notify has been queued.
    closed: bool,
    /// Bytes read from the socket so far (records, encrypted): the handshake's MinRate counts
    /// them.
    received: u64,
}

impl Session {
    /// A new server-side connection with `config`. `None` only if rustls cannot start one (it
    /// has nothing to fail on for a server; kept as a refusal rather than a panic).
    pub fn new(config: &Arc<rustls::ServerConfig>) -> Option<Session> {
        let mut conn = rustls::ServerConnection::new(config.clone()).ok()?;
        conn.set_buffer_limit(Some(SEND_BUFFER));
        Some(Session {
            conn,
            first: [0; 8],
            first_len: 0,
            closed: false,
            received: 0,
        })
    }

    /// Whether the handshake is still going on.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Bytes read from the socket so far, as they came (TLS records).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The name the client asked for (SNI), if any.
    pub fn server_name(&self) -> Option<&str> {
        self.conn.server_name()
    }

    /// The negotiated protocol version, once known (`TLSv1.2`, `TLSv1.3`).
    pub fn version(&self) -> Option<&'static str> {
        match self.conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
            rustls::ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
            _ => None,
        }
    }

    /// Read decrypted bytes into `dst`, driving the handshake on the way. An error is a failed
    /// connection (a protocol error has sent its alert first).
    pub fn read(&mut self, sock: &TcpStream, dst: &mut [u8]) -> io::Result<Received> {
        let mut probe = Probe {
            sock,
            short: false,
            first: &mut self.first,
            first_len: &mut self.first_len,
            received: &mut self.received,
        };
        for _ in 0..READS_PER_CALL {
            match self.conn.reader().read(dst) {
                Ok(0) => return Ok(Received::End),
                Ok(n) => {
                    // A short plaintext read emptied the session's plaintext; records not yet
                    // decrypted would have been processed with the ones before them.
                    let drained = probe.short && n < dst.len();
                    return Ok(Received::Bytes { n, drained });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            match self.conn.read_tls(&mut probe) {
                Ok(0) => return Ok(Received::End),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if let Err(e) = self.conn.process_new_packets() {
                if self.conn.is_handshaking()
                    && super::plain_http::looks_like_http(&probe.first[..*probe.first_len])
                {
                    return Ok(Received::PlainHttp);
                }
                // The alert rustls queued for it goes out before the close.
                let _ = flush_conn(&mut self.conn, sock);
                log::debug!("TLS error: {e}");
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // Handshake messages to answer: the server's flight fits an empty socket buffer
            // (a few KiB); one that does not is a connection that cannot progress.
            if flush_conn(&mut self.conn, sock)? {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the handshake's reply did not fit the socket",
                ));
            }
        }
        match self.conn.reader().read(dst) {
            Ok(0) => Ok(Received::End),
            Ok(n) => Ok(Received::Bytes { n, drained: false }),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Received::Paused),
            Err(e) => Err(e),
        }
    }

    /// Encrypt as much of `src` as the send buffer takes, then send. Returns the plaintext
    /// bytes taken; `WouldBlock` when none could be (the socket is full).
    pub fn write(&mut self, sock: &TcpStream, src: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(src)?;
        let blocked = self.flush(sock)?;
        if n == 0 && blocked {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    /// Send encrypted bytes until none is left or the socket is full. `Ok(true)` when some are
    /// still pending (the socket would block).
    pub fn flush(&mut self, sock: &TcpStream) -> io::Result<bool> {
        flush_conn(&mut self.conn, sock)
    }

    /// Whether encrypted bytes wait for the socket.
    pub fn pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Room for plaintext in the send buffer now (a file chunk is read no larger).
    pub fn room(&self) -> usize {
        // rustls does not say; its buffer holds at most SEND_BUFFER, so with nothing pending
        // a whole buffer fits, and with something pending one record's worth still might.
        if self.conn.wants_write() {
            16 * 1024
        } else {
            SEND_BUFFER
        }
    }

    /// Queue the close_notify alert (once) and send what fits: before lingering close's FIN,
    /// or before a close without lingering (a TLS client takes a FIN without it for a
    /// truncation: OpenSSL 3 reports "unexpected eof"). Nothing during the handshake.
    pub fn close(&mut self, sock: &TcpStream) {
        if self.closed || self.conn.is_handshaking() {
            return;
        }
        self.closed = true;
        self.conn.send_close_notify();
        let _ = self.flush(sock);
    }
}
