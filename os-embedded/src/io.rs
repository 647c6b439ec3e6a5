//! A connection's I/O state — its socket, the input buffer a request head accumulates in, and
//! the response still to send — and the bounded, never-blocking operations on it that the core's
//! [`Action`](eventmpm_core::conn::Action)s call for. The Unix server's `ConnIo` does the same
//! over file descriptors.
//!
//! Every operation checks readiness before it reads or writes (embedded-io's calls block
//! otherwise) and does at most a fixed number of socket calls.

use eventmpm_core::conn::{HeadRead, Wrote};
use eventmpm_core::http1::response::LAST_CHUNK;
use eventmpm_core::http1::{Limits, Scan, ScanState};

use crate::handler::Handler;
use crate::socket::Socket;

/// Reads per [`ConnIo::read_head`]: one normally takes what the socket has; a second covers a
/// buffer compacted in between.
const HEAD_READS: usize = 2;
/// Socket writes per [`ConnIo::send`], so one fast reader cannot hold the loop.
const WRITES_PER_CALL: usize = 8;
/// Reads per [`drain`].
const DRAIN_READS: usize = 4;
/// Room a chunk's size line and trailing CRLF take around the data in the output buffer.
const CHUNK_FRAMING: usize = 8 + 2 + 2;

/// What the rest of a response comes from, after the bytes in the output buffer.
#[derive(Clone, Copy, Debug, Default)]
pub enum Body {
    /// Nothing.
    #[default]
    None,
    /// Bytes in flash (a file of the tree, or a part of it).
    Flash(&'static [u8]),
    /// The shared page buffer's bytes `pos..end`, leased to this connection.
    Page {
        /// Next byte to send.
        pos: usize,
        /// One past the last.
        end: usize,
    },
    /// A dynamic handler's output, produced as the socket takes it.
    Stream {
        /// Which handler.
        handler: u8,
        /// The handler's position.
        cursor: u64,
        /// Whether each piece goes out as an HTTP/1.1 chunk.
        chunked: bool,
    },
}

/// The result of an output attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// One connection slot's I/O state.
#[derive(Debug)]
pub struct ConnIo<'b> {
    /// The stack's socket index, while a connection holds this slot.
    pub socket: Option<u8>,
    input: &'b mut [u8],
    start: usize,
    end: usize,
    scan: ScanState,
    head_len: Option<usize>,
    output: &'b mut [u8],
    out_pos: usize,
    out_end: usize,
    /// What follows the output buffer.
    pub body: Body,
}

/// What [`ConnIo::send`] may draw on besides the connection's own buffers.
pub struct Sources<'s, 'h> {
    /// The shared page buffer.
    pub page: &'s [u8],
    /// The dynamic handlers.
    pub handlers: &'s mut [&'h mut dyn Handler],
}

impl core::fmt::Debug for Sources<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sources")
            .field("page", &self.page.len())
            .field("handlers", &self.handlers.len())
            .finish()
    }
}

impl<'b> ConnIo<'b> {
    /// A slot with these buffers: `input` bounds a request head (a longer one is answered with
    /// 431 or 414), `output` holds a response head and what is produced for it at a time.
    pub fn new(input: &'b mut [u8], output: &'b mut [u8]) -> ConnIo<'b> {
        ConnIo {
            socket: None,
            input,
            start: 0,
            end: 0,
            scan: ScanState::new(),
            head_len: None,
            output,
            out_pos: 0,
            out_end: 0,
            body: Body::None,
        }
    }

    /// The slot takes a new connection on `socket`.
    pub fn open(&mut self, socket: u8) {
        self.reset();
        self.socket = Some(socket);
    }

    /// Forget everything (the connection closed).
    pub fn reset(&mut self) {
        self.socket = None;
        self.start = 0;
        self.end = 0;
        self.scan.reset();
        self.head_len = None;
        self.release_output();
    }

    /// Drop pending output.
    pub fn release_output(&mut self) {
        self.out_pos = 0;
        self.out_end = 0;
        self.body = Body::None;
    }

    /// Bytes received and not consumed.
    pub fn buffered(&self) -> &[u8] {
        &self.input[self.start..self.end]
    }

    /// The complete head, once the scan found one.
    pub fn head(&self) -> Option<&[u8]> {
        self.buffered().get(..self.head_len?)
    }

    /// Drop the first `n` buffered bytes (a consumed head) and get ready for the next request.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        self.scan.reset();
        self.head_len = None;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Scan the buffered bytes for the end of a head.
    pub fn scan(&mut self, limits: &Limits) -> Scan {
        let capacity = self.input.len() - self.start;
        let r = self
            .scan
            .scan(&self.input[self.start..self.end], capacity, limits);
        if let Scan::Complete { head_len } = r {
            self.head_len = Some(head_len);
        }
        r
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Receive request-head bytes: scan what is buffered, read what the socket has, scan again.
    pub fn read_head<S: Socket>(&mut self, sock: &mut S, limits: &Limits) -> HeadRead {
        let mut new_bytes = 0u32;
        for _ in 0..HEAD_READS {
            match self.scan(limits) {
                Scan::Complete { .. } => return HeadRead::Complete,
                Scan::Error(e) => {
                    return HeadRead::Invalid {
                        status: e.status().code(),
                    };
                }
                Scan::Partial => {}
            }
            if self.end == self.input.len() {
                if self.start == 0 {
                    // The scan reports an over-long head before the buffer fills; a safety net.
                    return HeadRead::Invalid { status: 431 };
                }
                self.compact();
                continue;
            }
            match sock.read_ready() {
                Ok(true) => {}
                Ok(false) => break,
                Err(_) => return HeadRead::Closed,
            }
            match sock.read(&mut self.input[self.end..]) {
                Ok(0) | Err(_) => return HeadRead::Closed,
                Ok(n) => {
                    self.end += n;
                    new_bytes = new_bytes.saturating_add(n as u32);
                }
            }
        }
        match self.scan(limits) {
            Scan::Complete { .. } => HeadRead::Complete,
            Scan::Error(e) => HeadRead::Invalid {
                status: e.status().code(),
            },
            Scan::Partial => HeadRead::Partial { new_bytes },
        }
    }

    /// One non-blocking read into the input buffer (a look for a pipelined next request).
    /// Returns bytes read, or `None` at end of stream or on error.
    pub fn read_more<S: Socket>(&mut self, sock: &mut S) -> Option<usize> {
        self.compact();
        if self.end == self.input.len() {
            return Some(0);
        }
        match sock.read_ready() {
            Ok(true) => {}
            Ok(false) => return Some(0),
            Err(_) => return None,
        }
        match sock.read(&mut self.input[self.end..]) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.end += n;
                Some(n)
            }
        }
    }

    /// The complete head (empty if none was found), the bytes buffered after it (the start of a
    /// body, or pipelined requests) and the output buffer, together.
    pub fn head_and_output(&mut self) -> (&[u8], &[u8], &mut [u8]) {
        let len = self.head_len.unwrap_or(0);
        let buffered = &self.input[self.start..self.end];
        let (head, after) = buffered.split_at(len.min(buffered.len()));
        (head, after, &mut *self.output)
    }

    /// The output buffer, to write a response head (and a small body) into.
    pub fn output_mut(&mut self) -> &mut [u8] {
        self.output
    }

    /// Send `output[..len]`, then `body`.
    pub fn set_output(&mut self, len: usize, body: Body) {
        self.out_pos = 0;
        self.out_end = len.min(self.output.len());
        self.body = body;
    }

    /// Whether nothing remains to send.
    pub fn output_empty(&self) -> bool {
        self.out_pos >= self.out_end && matches!(self.body, Body::None)
    }

    /// Whether this connection holds the page buffer.
    pub fn holds_page(&self) -> bool {
        matches!(self.body, Body::Page { .. })
    }

    /// Send pending output, at most eight socket writes.
    pub fn send<S: Socket>(&mut self, sock: &mut S, src: &mut Sources<'_, '_>) -> Sent {
        let mut progress = false;
        for _ in 0..WRITES_PER_CALL {
            if self.out_pos >= self.out_end && !self.refill(src) {
                return Sent::All;
            }
            match sock.write_ready() {
                Ok(true) => {}
                Ok(false) => return Sent::Partial { progress },
                Err(_) => return Sent::Failed,
            }
            let chunk: &[u8] = if self.out_pos < self.out_end {
                &self.output[self.out_pos..self.out_end]
            } else {
                match self.body {
                    Body::Flash(data) => data,
                    Body::Page { pos, end } => src.page.get(pos..end).unwrap_or(&[]),
                    // `refill` turned streams into output bytes.
                    Body::None | Body::Stream { .. } => &[],
                }
            };
            let n = match sock.write(chunk) {
                Ok(n) if n > 0 => n,
                _ => return Sent::Failed,
            };
            progress = true;
            if self.out_pos < self.out_end {
                self.out_pos += n;
            } else {
                match &mut self.body {
                    Body::Flash(data) => {
                        *data = data.get(n..).unwrap_or(&[]);
                        if data.is_empty() {
                            self.body = Body::None;
                        }
                    }
                    Body::Page { pos, end } => {
                        *pos += n;
                        if *pos >= *end {
                            self.body = Body::None;
                        }
                    }
                    Body::None | Body::Stream { .. } => {}
                }
            }
        }
        if self.output_empty() {
            Sent::All
        } else {
            Sent::Partial { progress }
        }
    }

    /// With the output buffer sent: whether more is to come, producing a stream's next piece
    /// into the output buffer.
    fn refill(&mut self, src: &mut Sources<'_, '_>) -> bool {
        let Body::Stream {
            handler,
            cursor,
            chunked,
        } = &mut self.body
        else {
            return !matches!(self.body, Body::None);
        };
        let Some(h) = src.handlers.get_mut(usize::from(*handler)) else {
            self.body = Body::None;
            return false;
        };
        let out = &mut *self.output;
        if !*chunked {
            let n = h.fill(cursor, out);
            if n == 0 {
                self.body = Body::None;
                return false;
            }
            self.out_pos = 0;
            self.out_end = n.min(out.len());
            return true;
        }
        let room = out.len().saturating_sub(CHUNK_FRAMING);
        let n = h.fill(
            cursor,
            &mut out[CHUNK_FRAMING - 2..CHUNK_FRAMING - 2 + room],
        );
        if n == 0 {
            out[..LAST_CHUNK.len()].copy_from_slice(LAST_CHUNK);
            self.out_pos = 0;
            self.out_end = LAST_CHUNK.len();
            self.body = Body::None;
            return true;
        }
        // The size line goes right before the data: "{n:x}\r\n".
        let mut digits = [0u8; 8];
        let mut len = 0;
        let mut v = n;
        loop {
            digits[len] = b"0123456789abcdef"[v & 15];
            len += 1;
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        let start = CHUNK_FRAMING - 2 - len - 2;
        for (i, d) in digits[..len].iter().rev().enumerate() {
            out[start + i] = *d;
        }
        out[CHUNK_FRAMING - 4..CHUNK_FRAMING - 2].copy_from_slice(b"\r\n");
        let data_end = CHUNK_FRAMING - 2 + n;
        out[data_end..data_end + 2].copy_from_slice(b"\r\n");
        self.out_pos = start;
        self.out_end = data_end + 2;
        true
    }

    /// Write completion's step, in the core's terms.
    pub fn write_pending<S: Socket>(&mut self, sock: &mut S, src: &mut Sources<'_, '_>) -> Wrote {
        match self.send(sock, src) {
            Sent::All => {
                self.release_output();
                Wrote::Done {
                    buffered: !self.buffered().is_empty(),
                }
            }
            Sent::Partial { progress: true } => Wrote::Progress,
            Sent::Partial { progress: false } => Wrote::Blocked,
            Sent::Failed => Wrote::Failed,
        }
    }

    /// Best effort, non-blocking: write what the socket takes of `bytes` now (an error page
    /// before closing); the rest is dropped.
    pub fn write_now<S: Socket>(sock: &mut S, bytes: &[u8]) {
        if matches!(sock.write_ready(), Ok(true)) {
            let _ = sock.write(bytes);
        }
    }
}

/// Read and discard what the client sends: `true` once it has finished (end of stream) or the
/// socket failed, `false` when nothing more is there for now.
pub fn drain<S: Socket>(sock: &mut S, scratch: &mut [u8]) -> bool {
    for _ in 0..DRAIN_READS {
        match sock.read_ready() {
            Ok(true) => {}
            Ok(false) => return false,
            Err(_) => return true,
        }
        match sock.read(scratch) {
            Ok(0) | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}
