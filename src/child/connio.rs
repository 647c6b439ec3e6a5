//! A connection's I/O state: its socket, the input buffer a request head accumulates in, and the
//! output a worker could not write at once. It travels with the connection between the listener
//! and the workers; the core's [`ConnTable`](eventmpm_core::table::ConnTable) holds the decisions.
//!
//! Every socket operation here is non-blocking and bounded: a call does at most a fixed number of
//! system calls, so neither the listener nor a worker ever waits on a client.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::sync::Arc;

use eventmpm_core::conn::{Event, HeadRead, Wrote};
use eventmpm_core::http1::{Limits, Scan, ScanState};
use eventmpm_core::timeouts::Class;

use crate::buffers::{Buf, Pool};
use crate::open_files::OpenFile;
use crate::sys;

/// Reads per [`ConnIo::read_head`] call: one read normally fills what the socket has; a second
/// covers a buffer compacted in between.
const HEAD_READS: usize = 2;
/// System calls per [`Output::send`] call: enough for [`BYTES_PER_CALL`] in
/// [`SENDFILE_CHUNK`]s, so one fast reader of a large file cannot monopolise the listener.
const WRITES_PER_CALL: usize = BYTES_PER_CALL / SENDFILE_CHUNK;
/// Largest sendfile chunk: 64 KiB, loopback's MTU and the most one TCP segment carries.
const SENDFILE_CHUNK: usize = 64 << 10;
/// Bytes per [`Output::send`] call at most (nginx's `sendfile_max_chunk`): a call that reaches
/// it stops with the socket still writable, and the connection takes its next turn after every
/// other ready one's, so one fast reader of a large file cannot hold a thread. 256 KiB was
/// measured best on loopback (wrk -c10 on a 1 MiB file, one CPU: about 1,900 responses/s
/// with 2 MiB or 1 MiB per call, 4,400 with 512 KiB, 5,000 with 256 KiB, 3,700 with 128 KiB):
/// the client reads what one call queued while the next is sent.
const BYTES_PER_CALL: usize = 256 << 10;
/// Bytes of a file read and encrypted at a time for a TLS response: one TLS record.
const TLS_FILE_CHUNK: usize = 16 << 10;
/// Steps per [`Output::send`] call over TLS: [`BYTES_PER_CALL`] in [`TLS_FILE_CHUNK`]s, and
/// the final flush.
const TLS_STEPS_PER_CALL: usize = BYTES_PER_CALL / TLS_FILE_CHUNK + 2;
/// Reads per [`ConnIo::drain`] call (each up to the scratch buffer's size, 32 KiB as httpd's
/// `LINGERING_BUF_SIZE`).
const DRAIN_READS: usize = 4;

/// Buffered request input. `buf[start..end]` are received bytes not yet consumed; the head being
/// scanned starts at `start`.
#[derive(Debug, Default)]
pub struct Input {
    /// The buffer, present only while bytes are buffered or a head is being received.
    pub buf: Option<Buf>,
    /// First unconsumed byte.
    pub start: usize,
    /// One past the last received byte.
    pub end: usize,
    /// End-of-head scan over `buf[start..end]`.
    pub scan: ScanState,
    /// Length of the complete head at `start`, once the scan found it.
    pub head_len: Option<usize>,
}

impl Input {
    /// Bytes received and not consumed.
    pub fn buffered(&self) -> &[u8] {
        match &self.buf {
            Some(b) => &b.as_slice()[self.start..self.end],
            None => &[],
        }
    }

    /// The complete head, if the scan found one.
    pub fn head(&self) -> Option<&[u8]> {
        let len = self.head_len?;
        self.buffered().get(..len)
    }

    /// Drop the first `n` buffered bytes (a consumed head and body) and get ready to scan the
    /// next request.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        self.scan.reset();
        self.head_len = None;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Return the buffer to its pool if nothing is buffered (idle connections hold no
    /// buffer).
    pub fn release_if_empty(&mut self) {
        if self.start == self.end {
            self.buf = None;
            self.start = 0;
            self.end = 0;
        }
    }

    /// Give the buffer back whatever it holds (the connection is closing).
    pub fn release(&mut self) {
        self.buf = None;
        self.start = 0;
        self.end = 0;
    }

    /// Scan the buffered bytes for the end of a head. The head may grow to the longest the
    /// limits allow ([`Limits::max_head_len`]); [`ConnIo::read_head`] grows the buffer for it.
    pub fn scan(&mut self, limits: &Limits) -> Scan {
        let Some(buf) = &self.buf else {
            return Scan::Partial;
        };
        let r = self.scan.scan(
            &buf.as_slice()[self.start..self.end],
            max_head(limits),
            limits,
        );
        if let Scan::Complete { head_len } = r {
            self.head_len = Some(head_len);
        }
        r
    }

    /// Move the unconsumed bytes to the front so the buffer has room at its end. Scan offsets
    /// are relative to `start`, so they stay valid.
    fn compact(&mut self) {
        if let Some(b) = &mut self.buf
            && self.start > 0
        {
            b.as_mut_slice().copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

/// The longest head `limits` allow, as a buffer length.
fn max_head(limits: &Limits) -> usize {
    usize::try_from(limits.max_head_len()).unwrap_or(usize::MAX)
}

/// Response bytes held in memory.
#[derive(Debug)]
pub enum Mem {
    /// In a pool buffer (a response head, a small file's contents).
    Pooled(Buf),
    /// In a heap vector (a generated page such as server-status).
    Heap(Vec<u8>),
}

impl Mem {
    fn bytes(&self) -> &[u8] {
        match self {
            Mem::Pooled(b) => b.as_slice(),
            Mem::Heap(v) => v,
        }
    }
}

/// Output a worker could not write at once: memory first, then a file range.
#[derive(Debug, Default)]
pub struct Output {
    /// In-memory bytes `mem[pos..end]` still to send.
    pub mem: Option<(Mem, usize, usize)>,
    /// A file range `[offset, end)` to send after the memory part (the file may be shared
    /// with the open-file cache and other responses: only offset-based sends touch it).
    pub file: Option<(Arc<OpenFile>, u64, u64)>,
    /// The last [`Output::send`] stopped because the socket would block (its owner then
    /// knows the socket is not writable until an edge says so: [`Readiness::write`]).
    pub blocked: bool,
}

impl Output {
    /// Whether nothing remains to send.
    pub fn is_empty(&self) -> bool {
        self.mem.is_none() && self.file.is_none()
    }

    /// Queue `mem[..end]` after what is pending. Responses to pipelined requests are held
    /// back and sent together (`Responded::Held`): appended in the pending pool buffer while it
    /// has room, else joined in one heap buffer (a response larger than the room, or a socket
    /// that filled up meanwhile: rare).
    pub fn push_mem(&mut self, mem: Mem, end: usize) {
        debug_assert!(
            self.file.is_none(),
            "a file range is always the last thing queued"
        );
        let Some((old, pos, old_end)) = self.mem.take() else {
            self.mem = Some((mem, 0, end));
            return;
        };
        let new = &mem.bytes()[..end];
        self.mem = Some(match old {
            Mem::Pooled(mut b) if b.len() - old_end >= new.len() => {
                b.as_mut_slice()[old_end..old_end + new.len()].copy_from_slice(new);
                (Mem::Pooled(b), pos, old_end + new.len())
            }
            old => {
                let mut v = Vec::with_capacity(old_end - pos + new.len());
                v.extend_from_slice(&old.bytes()[pos..old_end]);
                v.extend_from_slice(new);
                let len = v.len();
                (Mem::Heap(v), 0, len)
            }
        });
    }

    /// Queue the file range `[start, end)` after what is pending; nothing may follow it until
    /// it is sent.
    pub fn push_file(&mut self, file: Arc<OpenFile>, start: u64, end: u64) {
        debug_assert!(self.file.is_none());
        self.file = Some((file, start, end));
    }

    /// Room left after what is pending in memory, in its pool buffer (0 in a heap buffer,
    /// which never grows in place).
    pub fn room(&self) -> usize {
        match &self.mem {
            Some((Mem::Pooled(b), _, end)) => b.len() - end,
            Some((Mem::Heap(_), _, _)) => 0,
            None => usize::MAX,
        }
    }

    /// Drop what remains (a pooled buffer returns to its pool).
    pub fn release(&mut self) {
        self.mem = None;
        self.file = None;
    }

    /// Account one write of a send loop (plain or TLS): spend the budget, note progress, drop
    /// the part that is all sent. `Some` ends the call (the socket would block, or failed).
    #[inline]
    fn settle(
        &mut self,
        result: io::Result<usize>,
        budget: &mut usize,
        progress: &mut bool,
    ) -> Option<Sent> {
        match result {
            Ok(n) => {
                *budget = budget.saturating_sub(n);
                *progress |= n > 0;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.blocked = true;
                return Some(Sent::Partial {
                    progress: *progress,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Some(Sent::Failed),
        }
        if matches!(&self.mem, Some((_, pos, end)) if pos >= end) {
            self.mem = None;
        } else if matches!(&self.file, Some((_, offset, end)) if offset >= end) {
            self.file = None;
        }
        None
    }

    /// Send what remains on `sock`, at most [`WRITES_PER_CALL`] system calls. (It takes the
    /// socket apart from its [`ConnIo`] so a request parsed from the connection's input can
    /// stay borrowed meanwhile.)
    pub fn send(&mut self, sock: &TcpStream, tls: Option<&mut crate::tls::Session>) -> Sent {
        if let Some(tls) = tls {
            return self.send_tls(sock, tls);
        }
        self.blocked = false;
        let mut progress = false;
        let mut budget = BYTES_PER_CALL;
        for _ in 0..WRITES_PER_CALL {
            if budget == 0 {
                break;
            }
            // Memory first, then the file range: one system call either way.
            let result = match (&mut self.mem, &mut self.file) {
                (Some((mem, pos, end)), file) => {
                    let want = (*end - *pos).min(budget);
                    sys::send(sock, &mem.bytes()[*pos..*pos + want], file.is_some())
                        .inspect(|&n| *pos += n)
                }
                (None, Some((file, offset, end))) => {
                    let want = (*end - *offset).min(SENDFILE_CHUNK.min(budget) as u64) as usize;
                    match sys::sendfile(sock.as_fd(), file.file.as_fd(), offset, want) {
                        // The file shrank under the response: the promised length cannot be met.
                        Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                        r => r,
                    }
                }
                (None, None) => return Sent::All,
            };
            if let Some(done) = self.settle(result, &mut budget, &mut progress) {
                return done;
            }
        }
        if self.is_empty() {
            Sent::All
        } else {
            Sent::Partial { progress }
        }
    }
}

/// A connection's TLS session, if it has one, taken by `&mut` (no cell borrow at run time).
pub fn session(
    tls: &mut Option<Box<RefCell<crate::tls::Session>>>,
) -> Option<&mut crate::tls::Session> {
    tls.as_mut().map(|c| c.get_mut())
}

/// One read of request bytes into `room` (non-empty), from the socket or decrypted from it,
/// keeping `ready` up to date. `Ok(0)` is the end of the stream; `WouldBlock` means nothing is
/// there now.
fn recv(
    sock: &TcpStream,
    tls: Option<&mut crate::tls::Session>,
    ready: &mut Readiness,
    room: &mut [u8],
) -> io::Result<usize> {
    use crate::tls::Received;
    let want = room.len();
    let Some(tls) = tls else {
        let r = (&*sock).read(room);
        match &r {
            Ok(n) => ready.read(*n, want),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.read(0, want),
            Err(_) => {}
        }
        return r;
    };
    // A short plaintext read says nothing about the socket by itself (records, and bytes rustls
    // holds already): readiness is cleared when the socket would block, or when the session
    // saw a short socket read and kept nothing decrypted.
    match tls.read(sock, room)? {
        Received::Bytes { n, drained } => {
            if drained {
                ready.read(0, want);
            }
            Ok(n)
        }
        Received::End => Ok(0),
        Received::Drained => {
            ready.read(0, want);
            Err(io::ErrorKind::WouldBlock.into())
        }
        Received::Paused => Err(io::ErrorKind::WouldBlock.into()),
        // A kind no socket read gives: read_head answers with mod_ssl's page.
        Received::PlainHttp => Err(io::ErrorKind::Unsupported.into()),
    }
}

impl Output {
    /// [`Output::send`] over TLS: memory is encrypted as it is, a file range is read
    /// ([`TLS_FILE_CHUNK`] at a time, on the stack) and encrypted — sendfile cannot encrypt —
    /// into the session's bounded send buffer, which is drained as the socket takes it. Bounded
    /// as a plain send: [`BYTES_PER_CALL`] of plaintext per call.
    fn send_tls(&mut self, sock: &TcpStream, tls: &mut crate::tls::Session) -> Sent {
        self.blocked = false;
        let mut progress = false;
        let mut budget = BYTES_PER_CALL;
        let mut chunk = [0u8; TLS_FILE_CHUNK];
        for _ in 0..TLS_STEPS_PER_CALL {
            let result = match (&mut self.mem, &mut self.file) {
                (Some((mem, pos, end)), _) if budget > 0 => {
                    let want = (*end - *pos).min(budget).min(tls.room());
                    tls.write(sock, &mem.bytes()[*pos..*pos + want])
                        .inspect(|&n| *pos += n)
                }
                (None, Some((file, offset, end))) if budget > 0 => {
                    let want = (*end - *offset)
                        .min(TLS_FILE_CHUNK.min(budget).min(tls.room()) as u64)
                        as usize;
                    match std::os::unix::fs::FileExt::read_at(
                        &file.file,
                        &mut chunk[..want],
                        *offset,
                    ) {
                        // The file shrank under the response: the promised length cannot be met.
                        Ok(0) => Err(io::ErrorKind::UnexpectedEof.into()),
                        Ok(n) => tls
                            .write(sock, &chunk[..n])
                            .inspect(|&m| *offset += m as u64),
                        Err(e) => Err(e),
                    }
                }
                // Everything is encrypted, or the call's budget is spent: send what is.
                _ => match tls.flush(sock) {
                    Ok(false) => break,
                    Ok(true) => {
                        self.blocked = true;
                        return Sent::Partial { progress };
                    }
                    Err(_) => return Sent::Failed,
                },
            };
            if let Some(done) = self.settle(result, &mut budget, &mut progress) {
                return done;
            }
        }
        if self.is_empty() && !tls.pending() {
            Sent::All
        } else {
            Sent::Partial { progress }
        }
    }
}

/// A connection's I/O state.
#[derive(Debug)]
pub struct ConnIo {
    /// The client socket (non-blocking).
    pub sock: TcpStream,
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address on this connection.
    pub local: SocketAddr,
    /// Whether the socket is registered with the listener's poller.
    pub registered: bool,
    /// What the socket is known to be ready for: kept for every poller (a read that drained
    /// the socket spares the look-ahead read, [`ConnIo::next_request`]), and what an
    /// edge-triggered one ([`crate::sys::EDGE_TRIGGERED`]) relies on, since it reports each
    /// change once.
    pub ready: Readiness,
    /// Buffered input.
    pub input: Input,
    /// Pending output.
    pub output: Output,
    /// The TLS session on an `https` listener's connection (boxed: a plain connection carries
    /// only the pointer). In a cell so a CGI exchange can write through it while the request
    /// it answers still borrows the input; everything else takes it by `&mut` ([`session`]).
    pub tls: Option<Box<RefCell<crate::tls::Session>>>,
    /// A plain HTTP request came where a ClientHello belonged: its rejection is mod_ssl's page,
    /// sent in plain text ([`ConnIo::rejection`]).
    pub plain_http: bool,
}

/// What follows a response on a kept-alive connection ([`ConnIo::next_request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextRequest {
    /// A complete head is buffered (or a malformed one, for the listener to reject).
    Complete,
    /// Part of a head is buffered: this many bytes.
    Partial(u32),
    /// Nothing is buffered.
    Idle,
    /// The client closed the connection, or the socket failed.
    Closed,
}

/// A socket's readiness as far as the edges reported and the I/O since tell (nginx's
/// `ready` flags). An edge sets a flag; an operation that would have blocked clears it, and so
/// does a read that returned less than it asked for (the socket was empty then: a request the
/// client sent before that read came with it, and any byte that arrives later is a new edge) —
/// unless the peer has closed its side, whose edge came once and whose end of stream a further
/// read must still see. A read that filled its room leaves it set: more may be waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// A read may find bytes or the end of the stream.
    pub read: bool,
    /// A write may find room.
    pub write: bool,
    /// The peer shut down its sending side (or the socket failed).
    pub peer_closed: bool,
}

impl Readiness {
    /// A new connection: nothing is known, so both directions are tried before waiting.
    pub const UNKNOWN: Readiness = Readiness {
        read: true,
        write: true,
        peer_closed: false,
    };

    /// A read of `room` bytes returned `n` (or would block, `n == 0`).
    pub fn read(&mut self, n: usize, room: usize) {
        if n < room && !self.peer_closed {
            self.read = false;
        }
    }
}

/// The result of an output attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Everything went out.
    All,
    /// The socket is full; something remains.
    Partial {
        /// Whether any byte went out in this call.
        progress: bool,
    },
    /// The socket failed.
    Failed,
}

impl ConnIo {
    /// A freshly accepted connection.
    pub fn new(sock: TcpStream, peer: SocketAddr, local: SocketAddr) -> ConnIo {
        ConnIo {
            sock,
            peer,
            local,
            registered: false,
            ready: Readiness::UNKNOWN,
            input: Input::default(),
            output: Output::default(),
            tls: None,
            plain_http: false,
        }
    }

    /// The response rejecting this connection's request with `status`, as `site` says
    /// ([`crate::site::Site::rejection`]).
    pub fn rejection(&self, status: u16, site: &crate::site::Site) -> Vec<u8> {
        if self.plain_http {
            crate::tls::plain_http::response()
        } else {
            site.rejection(self.local, status)
        }
    }

    /// Serve this connection over TLS with `server` (before anything is read). `false` if no
    /// session could be started.
    pub fn start_tls(&mut self, server: &crate::tls::Server) -> bool {
        self.tls = crate::tls::Session::new(server).map(|s| Box::new(RefCell::new(s)));
        self.tls.is_some()
    }

    /// Receive request-head bytes: scan what is buffered, read what the socket has, scan again.
    pub fn read_head(&mut self, pool: &'static Pool, limits: &Limits) -> HeadRead {
        if self.input.buf.is_none() {
            match pool.take() {
                Some(b) => self.input.buf = Some(b),
                // Every buffer is in use: the table is sized so this cannot happen; refuse
                // the request rather than wait.
                None => return HeadRead::Invalid { status: 503 },
            }
        }
        let mut new_bytes = 0u32;
        let received_before = session(&mut self.tls).map_or(0, |t| t.received());
        for _ in 0..HEAD_READS {
            match self.input.scan(limits) {
                Scan::Complete { .. } => return HeadRead::Complete,
                Scan::Error(e) => {
                    return HeadRead::Invalid {
                        status: e.status().code(),
                    };
                }
                Scan::Partial => {}
            }
            let Some(buf) = &mut self.input.buf else {
                break;
            };
            if self.input.end == buf.len() {
                if self.input.start > 0 {
                    self.input.compact();
                    continue;
                }
                // A head larger than a pool buffer: double the buffer, up to the longest head
                // the limits allow (the scan refuses a longer one before it gets here).
                let max = max_head(limits);
                if buf.len() >= max {
                    return HeadRead::Invalid { status: 431 };
                }
                if !buf.grow(buf.len().saturating_mul(2).min(max)) {
                    // Other connections hold the child's whole budget for large heads.
                    log::warn!(
                        "no memory left for a large request head from {} ({} bytes so far)",
                        self.peer,
                        buf.len()
                    );
                    return HeadRead::Invalid { status: 503 };
                }
                continue;
            }
            let Some(buf) = &mut self.input.buf else {
                break;
            };
            let room = &mut buf.as_mut_slice()[self.input.end..];
            match recv(&self.sock, session(&mut self.tls), &mut self.ready, room) {
                Ok(0) => return HeadRead::Closed,
                Ok(n) => {
                    self.input.end += n;
                    new_bytes = new_bytes.saturating_add(n as u32);
                    if !self.ready.read {
                        // Drained: a second read would only say so.
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Unsupported && self.tls.is_some() => {
                    log::info!(
                        "[client {}] AH01996: SSL handshake failed: HTTP spoken on HTTPS port; trying to send HTML error page",
                        self.peer
                    );
                    // The session is done with: the answer goes out in plain text.
                    self.tls = None;
                    self.plain_http = true;
                    return HeadRead::Invalid { status: 400 };
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return HeadRead::Closed,
            }
        }
        match self.input.scan(limits) {
            Scan::Complete { .. } => HeadRead::Complete,
            Scan::Error(e) => HeadRead::Invalid {
                status: e.status().code(),
            },
            Scan::Partial => {
                self.input.release_if_empty();
                match session(&mut self.tls) {
                    Some(tls) if tls.is_handshaking() => HeadRead::Handshaking {
                        new_bytes: (tls.received() - received_before).min(u32::MAX as u64) as u32,
                    },
                    _ => HeadRead::Partial { new_bytes },
                }
            }
        }
    }

    /// Log what the listener's expiry did to this connection as httpd logs it: mod_reqtimeout's
    /// AH01382 for a handshake or request head that ran out of time (at info, with the client),
    /// nothing for the other timeouts (httpd logs none for them).
    pub fn log_expiry(&self, event: Event) {
        let stage = match event {
            Event::TimedOut(Class::HandshakeInitial | Class::HandshakeExtended) => "handshake",
            Event::TimedOut(Class::HeadInitial | Class::HeadExtended) => "header",
            _ => return,
        };
        log::info!(
            "[client {}] AH01382: Request {stage} read timeout",
            self.peer
        );
    }

    /// Whether the TLS client named a host (SNI); `None` for a plain connection.
    pub fn sent_sni(&self) -> Option<bool> {
        let tls = self.tls.as_ref()?;
        Some(tls.borrow().server_name().is_some())
    }

    /// Whether this connection speaks TLS (it starts with a handshake).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// After a response on a connection that stays open: is the next request already here?
    /// Scans what is buffered (pipelined bytes) and reads once more only if the last read
    /// filled its room. After a shorter read the socket was empty, and a request sent before
    /// it would have come with it: a read now would nearly always find nothing (an EAGAIN per
    /// request), so the poller watches for the next request instead.
    pub fn next_request(&mut self, pool: &'static Pool, limits: &Limits) -> NextRequest {
        match self.input.scan(limits) {
            // A complete head — or one the listener must reject, which it does on Yield.
            Scan::Complete { .. } | Scan::Error(_) => return NextRequest::Complete,
            Scan::Partial => {}
        }
        if self.ready.read {
            match self.read_more(pool) {
                None => return NextRequest::Closed,
                Some(0) => {}
                Some(_) => {
                    if let Scan::Complete { .. } | Scan::Error(_) = self.input.scan(limits) {
                        return NextRequest::Complete;
                    }
                }
            }
        }
        match self.input.buffered().len() {
            0 => NextRequest::Idle,
            n => NextRequest::Partial(n as u32),
        }
    }

    /// One non-blocking read into the input buffer (a worker's look for a pipelined or quick
    /// next request). Returns bytes read, or `None` at end of stream or on error.
    pub fn read_more(&mut self, pool: &'static Pool) -> Option<usize> {
        if self.input.buf.is_none() {
            self.input.buf = Some(pool.take()?);
        }
        self.input.compact();
        let buf = self.input.buf.as_mut()?;
        let room = &mut buf.as_mut_slice()[self.input.end..];
        if room.is_empty() {
            return Some(0);
        }
        let r = loop {
            match recv(&self.sock, session(&mut self.tls), &mut self.ready, room) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        match r {
            Ok(0) => None,
            Ok(n) => {
                self.input.end += n;
                Some(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.input.release_if_empty();
                Some(0)
            }
            Err(_) => None,
        }
    }

    /// Send pending output, at most [`WRITES_PER_CALL`] system calls.
    pub fn send(&mut self) -> Sent {
        let sent = self.output.send(&self.sock, session(&mut self.tls));
        if self.output.blocked {
            self.ready.write = false;
        }
        sent
    }

    /// Write completion's step: send, and say what happened in the core's terms.
    pub fn write_pending(&mut self) -> Wrote {
        match self.send() {
            Sent::All => {
                self.output.release();
                Wrote::Done {
                    buffered: !self.input.buffered().is_empty(),
                }
            }
            Sent::Partial { progress: true } => Wrote::Progress,
            Sent::Partial { progress: false } => Wrote::Blocked,
            Sent::Failed => Wrote::Failed,
        }
    }

    /// Best-effort, non-blocking write of a small response (an error page from the listener);
    /// whatever does not fit now is dropped, since the connection is closing anyway.
    pub fn write_now(&mut self, bytes: &[u8]) {
        match session(&mut self.tls) {
            // Before the handshake is done nothing can be sent: the error is dropped with it
            // (httpd, too, only closes a connection whose handshake failed or timed out).
            Some(tls) if tls.is_handshaking() => {}
            Some(tls) => {
                let _ = tls.write(&self.sock, bytes);
            }
            None => {
                let _ = self.sock.write(bytes);
            }
        }
    }

    /// Lingering close's first step: send our FIN (after TLS's close_notify), keep reading.
    pub fn shutdown_write(&mut self) -> bool {
        if let Some(tls) = session(&mut self.tls) {
            tls.close(&self.sock);
        }
        self.sock.shutdown(Shutdown::Write).is_ok()
    }

    /// Before the socket closes: a TLS connection says close_notify (a no-op after lingering
    /// close's, or for a plain connection).
    pub fn close_notify(&mut self) {
        if let Some(tls) = session(&mut self.tls) {
            tls.close(&self.sock);
        }
    }

    /// Read and discard what the client sends. `true` once the client has finished (end of
    /// stream) or the socket failed; `false` when nothing more is there for now.
    pub fn drain(&mut self, scratch: &mut [u8]) -> bool {
        for _ in 0..DRAIN_READS {
            match self.sock.read(scratch) {
                Ok(0) => return true,
                Ok(n) => {
                    self.ready.read(n, scratch.len());
                    if !self.ready.read {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.ready.read(0, scratch.len());
                    return false;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
        false
    }

    /// Return every buffer to the pool (the connection is closing).
    pub fn release(&mut self) {
        self.input.release();
        self.output.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    /// A connected loopback pair: the client's end and the server's connection.
    fn pair() -> (TcpStream, ConnIo) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (sock, peer) = l.accept().unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        (client, ConnIo::new(sock, peer, local))
    }

    /// Wait until `n` bytes are ready on the server's socket (at most 5 s, in 10 ms steps).
    fn wait_for(io: &ConnIo, n: usize) {
        let mut b = vec![0u8; n];
        for _ in 0..500 {
            if io.sock.peek(&mut b).unwrap_or(0) >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{n} bytes never arrived");
    }

    /// Read the first request head (one read) and consume it, as a response does.
    fn first_request(io: &mut ConnIo, pool: &'static Pool) {
        assert_eq!(io.read_head(pool, &Limits::DEFAULT), HeadRead::Complete);
        io.input.consume(REQ.len());
    }

    #[test]
    fn no_look_ahead_read_after_a_read_that_drained_the_socket() {
        let pool = Pool::new(1024, 2, 2, 0);
        let (mut client, mut io) = pair();
        client.write_all(REQ).unwrap();
        wait_for(&io, REQ.len());
        first_request(&mut io, pool);
        assert!(!io.ready.read, "27 bytes into 1024 bytes of room");
        // The next request arrives after the first was read: the look-ahead must not read it,
        // the poller reports it.
        client.write_all(REQ).unwrap();
        wait_for(&io, REQ.len());
        assert_eq!(io.next_request(pool, &Limits::DEFAULT), NextRequest::Idle);
        let mut b = [0u8; 64];
        assert_eq!(io.sock.peek(&mut b).unwrap(), REQ.len(), "still unread");
    }

    #[test]
    fn pipelined_bytes_already_buffered_are_still_scanned() {
        let pool = Pool::new(1024, 2, 2, 0);
        let (mut client, mut io) = pair();
        client.write_all(&[REQ, REQ].concat()).unwrap();
        wait_for(&io, 2 * REQ.len());
        first_request(&mut io, pool);
        assert!(!io.ready.read);
        assert_eq!(
            io.next_request(pool, &Limits::DEFAULT),
            NextRequest::Complete
        );
    }

    #[test]
    fn after_a_read_that_filled_the_buffer_the_look_ahead_reads() {
        // 40 bytes of room: the first read takes the first request and 13 bytes of the second.
        let pool = Pool::new(40, 2, 2, 0);
        let (mut client, mut io) = pair();
        client.write_all(&[REQ, REQ].concat()).unwrap();
        wait_for(&io, 2 * REQ.len());
        first_request(&mut io, pool);
        assert!(io.ready.read, "the read filled its room");
        assert_eq!(
            io.next_request(pool, &Limits::DEFAULT),
            NextRequest::Complete
        );
        assert!(!io.ready.read, "the rest was shorter than the room");
    }
}
