//! One request's exchange with its script: the request body from the client to the script's
//! stdin, the script's stdout to its header block and then to the client, its stderr to the error
//! log — all at once, from one worker thread, with poll(2).
//!
//! Moving every stream at once means a script may answer while it still reads its input (a
//! filter such as `cat` works on a body of any size; httpd's mod_cgi writes the whole body before
//! it reads any output, so such a script deadlocks there until Timeout). Memory is bounded: at
//! most [`CHUNK`] bytes of body and of output are held at a time, and output is read from the
//! script only once the previous piece has gone to the client, so a slow client slows the script
//! down rather than filling memory.
//!
//! Lifetime:
//! - `Timeout` (or `CGIScriptTimeout`) without any progress — nothing from the script, nothing
//!   taken by the client, no body byte moved — ends the exchange: the script's process group is
//!   killed, a response not yet begun is 504 (httpd's "Script timed out before returning
//!   headers"), one already begun is cut off (the connection closes, so a client sees a chunked
//!   body without its last chunk, or fewer bytes than Content-Length).
//! - A client that goes away (end of stream or an error on the socket; with `POLLRDHUP` this is
//!   noticed even while the script is silent) ends it the same way, without a response.
//! - `Expect: 100-continue` is answered with `100 Continue` before the body is read.
//! - A chunked body is decoded with the core's decoder, which enforces `LimitRequestBody`.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::time::{Duration, Instant};

use eventmpm_core::http1::chunked::{BodyError, Decoder};
use eventmpm_core::http1::response::{CONTINUE, LAST_CHUNK, chunk_header};
use eventmpm_core::http1::{BodyFraming, Limits};

use super::headers::{self, HeadError, ScriptHead};
use super::process::{self, Pipes, Running};

/// Bytes moved per read or write, and the most held per direction.
pub const CHUNK: usize = 32 * 1024;
/// Longest stderr line logged as one (a longer one is logged in pieces).
const ERR_LINE: usize = 8 * 1024;
/// Reads of stderr after the script has been reaped (a grandchild may keep it open).
const STDERR_TAIL_READS: usize = 16;

/// The request body as the exchange receives it.
#[derive(Debug, Clone, Copy)]
pub struct RequestBody<'a> {
    /// How it is framed.
    pub framing: BodyFraming,
    /// Bytes already received after the head (the start of the body, perhaps more).
    pub buffered: &'a [u8],
    /// The client waits for `100 Continue` before sending it.
    pub expects_continue: bool,
    /// Limits for a chunked body (LimitRequestBody, trailer field limits).
    pub limits: Limits,
}

/// Why an exchange ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// Nothing moved for the timeout.
    Timeout,
    /// The client closed the connection or it failed.
    ClientGone,
    /// The chunked request body is malformed or too large.
    Body(BodyError),
}

enum Kind {
    Length(u64),
    Chunked(Decoder),
}

/// The request body on its way to the script.
struct Body<'a> {
    kind: Kind,
    initial: &'a [u8],
    init_pos: usize,
    raw: Vec<u8>,
    raw_pos: usize,
    pending: Vec<u8>,
    pend_pos: usize,
    done: bool,
    /// Bytes read from the socket past the body's end (a pipelined request): the connection
    /// cannot be kept.
    overread: bool,
    error: Option<BodyError>,
    /// The script closed its stdin: what is left is read and dropped.
    discard: bool,
}

impl<'a> Body<'a> {
    fn new(b: &RequestBody<'a>) -> Body<'a> {
        let (kind, done) = match b.framing {
            BodyFraming::None => (Kind::Length(0), true),
            BodyFraming::Length(n) => (Kind::Length(n), n == 0),
            BodyFraming::Chunked => (Kind::Chunked(Decoder::new(&b.limits)), false),
        };
        Body {
            kind,
            initial: b.buffered,
            init_pos: 0,
            raw: Vec::new(),
            raw_pos: 0,
            pending: Vec::new(),
            pend_pos: 0,
            done,
            overread: false,
            error: None,
            discard: false,
        }
    }

    fn pending(&self) -> &[u8] {
        &self.pending[self.pend_pos..]
    }

    /// The next bytes must come from the socket.
    fn needs_socket(&self) -> bool {
        !self.done
            && self.error.is_none()
            && self.init_pos == self.initial.len()
            && self.raw_pos == self.raw.len()
            && self.pending().is_empty()
    }

    /// Decode buffered bytes into `pending` while it is empty (no I/O).
    fn decode(&mut self) {
        while !self.done && self.error.is_none() && self.pending().is_empty() {
            let from_initial = self.init_pos < self.initial.len();
            let src = if from_initial {
                &self.initial[self.init_pos..]
            } else if self.raw_pos < self.raw.len() {
                &self.raw[self.raw_pos..]
            } else {
                return;
            };
            self.pending.resize(CHUNK, 0);
            self.pend_pos = 0;
            let (consumed, produced) = match &mut self.kind {
                Kind::Length(left) => {
                    let n = src
                        .len()
                        .min(CHUNK)
                        .min(usize::try_from(*left).unwrap_or(CHUNK));
                    self.pending[..n].copy_from_slice(&src[..n]);
                    *left -= n as u64;
                    self.done = *left == 0;
                    (n, n)
                }
                Kind::Chunked(d) => match d.decode(src, &mut self.pending) {
                    Ok(p) => {
                        self.done = p.done;
                        (p.consumed, p.produced)
                    }
                    Err(e) => {
                        self.error = Some(e);
                        (0, 0)
                    }
                },
            };
            self.pending
                .truncate(if self.discard { 0 } else { produced });
            if from_initial {
                self.init_pos += consumed;
            } else {
                self.raw_pos += consumed;
                if self.done && self.raw_pos < self.raw.len() {
                    self.overread = true;
                }
            }
            if consumed == 0 && produced == 0 {
                return;
            }
        }
    }

    /// Read body bytes from the socket, or decrypted from it through `tls`. `Ok(0)`: the client
    /// closed.
    fn read_socket(
        &mut self,
        sock: &TcpStream,
        tls: Option<&mut crate::tls::Session>,
    ) -> io::Result<usize> {
        let want = match &self.kind {
            // Never read past the body: what follows is the next request's.
            Kind::Length(left) => CHUNK.min(usize::try_from(*left).unwrap_or(CHUNK)),
            Kind::Chunked(_) => CHUNK,
        };
        self.raw.resize(want, 0);
        self.raw_pos = 0;
        let r = match tls {
            None => (&*sock).read(&mut self.raw),
            Some(tls) => match tls.read(sock, &mut self.raw) {
                Ok(crate::tls::Received::Bytes { n, .. }) => Ok(n),
                Ok(crate::tls::Received::End) => Ok(0),
                Ok(crate::tls::Received::Drained | crate::tls::Received::Paused) => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Ok(crate::tls::Received::PlainHttp) => Err(io::ErrorKind::InvalidData.into()),
                Err(e) => Err(e),
            },
        };
        match r {
            Ok(n) => {
                self.raw.truncate(n);
                Ok(n)
            }
            Err(e) => {
                self.raw.clear();
                Err(e)
            }
        }
    }
}

/// How the script's body goes to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Exactly this many bytes (the script's Content-Length).
    Length(u64),
    /// Chunked (HTTP/1.1, no length given).
    Chunked,
    /// Until the connection closes (HTTP/1.0, no length given).
    Close,
    /// Nothing (HEAD, 204, 304): the output is read and dropped.
    Discard,
}

/// The response on its way to the client.
#[derive(Debug)]
pub struct Out {
    buf: Vec<u8>,
    pos: usize,
    framing: Framing,
    finished: bool,
    /// Body bytes accepted (before chunk framing).
    pub body_bytes: u64,
    /// The script wrote more than its Content-Length (the rest was dropped) or less: the
    /// connection must close.
    pub mismatch: bool,
}

impl Out {
    /// A response whose head is `head`, followed by the first body bytes `body`.
    pub fn new(head: Vec<u8>, framing: Framing, body: &[u8]) -> Out {
        let mut o = Out {
            buf: head,
            pos: 0,
            framing,
            finished: false,
            body_bytes: 0,
            mismatch: false,
        };
        o.push(body);
        o
    }

    fn flushed(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Everything the head promised has gone out (a Content-Length body, or no body): the
    /// client may close now without cutting the response short.
    fn delivered(&self) -> bool {
        self.flushed() && matches!(self.framing, Framing::Length(0) | Framing::Discard)
    }

    fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if self.flushed() {
            self.buf.clear();
            self.pos = 0;
        }
        match &mut self.framing {
            Framing::Discard => {}
            Framing::Close => {
                self.buf.extend_from_slice(data);
                self.body_bytes += data.len() as u64;
            }
            Framing::Chunked => {
                let mut h = [0u8; 20];
                let n = chunk_header(data.len() as u64, &mut h).unwrap_or(0);
                self.buf.extend_from_slice(&h[..n]);
                self.buf.extend_from_slice(data);
                self.buf.extend_from_slice(b"\r\n");
                self.body_bytes += data.len() as u64;
            }
            Framing::Length(left) => {
                let n = data.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                self.buf.extend_from_slice(&data[..n]);
                *left -= n as u64;
                self.body_bytes += n as u64;
                if n < data.len() {
                    self.mismatch = true;
                }
            }
        }
    }

    /// The script's output has ended.
    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        match self.framing {
            Framing::Chunked => {
                if self.flushed() {
                    self.buf.clear();
                    self.pos = 0;
                }
                self.buf.extend_from_slice(LAST_CHUNK);
            }
            Framing::Length(left) if left > 0 => self.mismatch = true,
            _ => {}
        }
    }
}

/// Where the script's stdout goes in the current phase.
enum Sink<'o> {
    /// The header block is being read.
    Head(&'o mut Vec<u8>),
    /// Dropped (a redirect's body).
    Discard,
    /// To the client.
    Client(&'o mut Out),
}

impl Sink<'_> {
    fn wants_stdout(&self) -> bool {
        match self {
            Sink::Head(b) => b.len() <= headers::MAX_BLOCK,
            Sink::Discard => true,
            Sink::Client(o) => o.flushed() && !o.finished,
        }
    }

    fn wants_write(&self) -> bool {
        matches!(self, Sink::Client(o) if !o.flushed())
    }

    fn delivered(&self) -> bool {
        matches!(self, Sink::Client(o) if o.delivered())
    }

    fn take(&mut self, data: &[u8]) {
        match self {
            Sink::Head(b) => b.extend_from_slice(data),
            Sink::Discard => {}
            Sink::Client(o) => o.push(data),
        }
    }

    fn satisfied(&mut self, stdout_eof: bool) -> bool {
        match self {
            Sink::Head(b) => {
                stdout_eof
                    || b.len() > headers::MAX_BLOCK
                    || !matches!(headers::scan(b, false), headers::Scan::Partial)
            }
            Sink::Discard => stdout_eof,
            Sink::Client(o) => {
                if stdout_eof {
                    o.finish();
                }
                o.finished && o.flushed()
            }
        }
    }
}

/// A script being run for a request.
#[allow(missing_debug_implementations)]
pub struct Exchange<'a> {
    sock: &'a TcpStream,
    /// The connection's TLS session, on an HTTPS connection: the response is encrypted through
    /// it and the body decrypted.
    tls: Option<std::cell::RefMut<'a, crate::tls::Session>>,
    peer: SocketAddr,
    /// SCRIPT_FILENAME, for log lines.
    filename: String,
    process: Running,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    body: Body<'a>,
    /// `100 Continue`, while it has not gone out.
    interim: &'static [u8],
    timeout: Duration,
    last_progress: Instant,
    err_line: Vec<u8>,
    scratch: Vec<u8>,
}

/// A script's header block, and the output bytes that followed it.
#[derive(Debug)]
pub struct Head {
    /// The parsed block.
    pub head: ScriptHead,
    /// Body bytes read together with the block.
    pub rest: Vec<u8>,
}

/// Why no header block came.
#[derive(Debug)]
pub enum HeadFailure {
    /// The exchange ended early.
    Abort(Abort),
    /// The block was malformed or the output ended before it.
    Malformed(HeadError),
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl<'a> Exchange<'a> {
    /// Start `program` (in `dir`, with `env`) for a request from `peer` on `sock`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        program: &std::path::Path,
        dir: &std::path::Path,
        env: &[(std::ffi::OsString, std::ffi::OsString)],
        sock: &'a TcpStream,
        tls: Option<&'a std::cell::RefCell<crate::tls::Session>>,
        peer: SocketAddr,
        body: RequestBody<'a>,
        timeout: Duration,
    ) -> io::Result<Exchange<'a>> {
        // Nothing else holds the session while a worker answers on its connection.
        let tls = match tls.map(std::cell::RefCell::try_borrow_mut) {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(_)) => return Err(io::Error::other("the TLS session is busy")),
        };
        let (
            process,
            Pipes {
                stdin,
                stdout,
                stderr,
            },
        ) = process::spawn(program, dir, env)?;
        let mut b = Body::new(&body);
        b.decode();
        let interim: &'static [u8] = if body.expects_continue && !b.done && b.needs_socket() {
            CONTINUE
        } else {
            b""
        };
        Ok(Exchange {
            sock,
            tls,
            peer,
            filename: program.display().to_string(),
            process,
            stdin,
            stdout,
            stderr,
            body: b,
            interim,
            timeout,
            last_progress: Instant::now(),
            err_line: Vec::new(),
            scratch: vec![0u8; CHUNK],
        })
    }

    /// The script's pid (its process group).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Read the script's header block (moving the body meanwhile). A malformed block is not
    /// logged here: the caller logs it once the script's stderr has been read.
    pub fn read_head(&mut self) -> Result<Head, HeadFailure> {
        let mut buf = Vec::with_capacity(1024);
        self.pump(&mut Sink::Head(&mut buf))
            .map_err(HeadFailure::Abort)?;
        match headers::scan(&buf, self.stdout.is_none()) {
            headers::Scan::Complete(head, n) => Ok(Head {
                head,
                rest: buf.split_off(n),
            }),
            headers::Scan::Error(e) => Err(HeadFailure::Malformed(e)),
            // Only an over-long block stops the pump without a verdict.
            headers::Scan::Partial => Err(HeadFailure::Malformed(HeadError::TooLong)),
        }
    }

    /// Read and drop the rest of the script's output (the body of a redirect).
    pub fn discard_output(&mut self) -> Result<(), Abort> {
        self.pump(&mut Sink::Discard)
    }

    /// Send `out` and then the script's output to the client, until the output ends and the
    /// client has taken all of it.
    pub fn stream(&mut self, out: &mut Out) -> Result<(), Abort> {
        self.pump(&mut Sink::Client(out))
    }

    /// Log an early end, then stop the script's process group and reap it.
    pub fn abort(&mut self, why: &Abort, name: &str, before_head: bool) {
        match why {
            Abort::Timeout => {
                log::warn!(
                    "[client {}] AH01220: Timeout waiting for output from CGI script {}",
                    self.peer,
                    self.filename
                );
                if before_head {
                    log::error!(
                        "[client {}] Script timed out before returning headers: {name}",
                        self.peer
                    );
                }
            }
            Abort::ClientGone => log::info!(
                "[client {}] client closed the connection; stopping CGI script {} (pid {})",
                self.peer,
                self.filename,
                self.process.pid()
            ),
            Abort::Body(e) => log::info!(
                "[client {}] request body for {}: {}",
                self.peer,
                self.filename,
                e.reason()
            ),
        }
        let st = self.kill();
        log::debug!("CGI script {} {}", self.filename, process::describe(st));
    }

    /// Stop the script's process group now and reap it.
    pub fn kill(&mut self) -> ExitStatus {
        let st = self.process.kill_group();
        self.drain_stderr_tail();
        st
    }

    /// The script's output has ended: give it [`process::GRACE`] to exit (logging its stderr
    /// meanwhile), stop its group if it does not, and reap it.
    pub fn finish(&mut self) -> ExitStatus {
        let end = Instant::now() + process::GRACE;
        let st = loop {
            if let Some(st) = self.process.wait_for(Duration::ZERO) {
                break st;
            }
            if Instant::now() >= end {
                break self.process.kill_group();
            }
            match &self.stderr {
                Some(e) => {
                    let mut fds = [libc::pollfd {
                        fd: e.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    }];
                    // SAFETY: poll on one descriptor we own, array length 1.
                    unsafe { libc::poll(fds.as_mut_ptr(), 1, 10) };
                    if fds[0].revents != 0 {
                        self.read_stderr();
                    }
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        self.drain_stderr_tail();
        st
    }

    /// Bytes of the received input (after the head) that belonged to this request's body.
    pub fn input_consumed(&self) -> usize {
        self.body.init_pos
    }

    /// Whether the request body was received whole and nothing beyond it was read: the
    /// connection can carry another request.
    pub fn body_complete(&self) -> bool {
        self.body.done && !self.body.overread && self.body.error.is_none()
    }

    fn drain_stderr_tail(&mut self) {
        for _ in 0..STDERR_TAIL_READS {
            if self.stderr.is_none() || !self.read_stderr() {
                break;
            }
        }
        self.flush_err_line();
        self.stderr = None;
    }

    /// One non-blocking read of stderr, logging complete lines. `false` when nothing more is
    /// there for now (or ever).
    fn read_stderr(&mut self) -> bool {
        let Some(e) = &mut self.stderr else {
            return false;
        };
        let mut buf = [0u8; 4096];
        match e.read(&mut buf) {
            Ok(0) => {
                self.stderr = None;
                self.flush_err_line();
                false
            }
            Ok(n) => {
                for &b in &buf[..n] {
                    if b == b'\n' {
                        self.flush_err_line();
                    } else {
                        self.err_line.push(b);
                        if self.err_line.len() >= ERR_LINE {
                            self.flush_err_line();
                        }
                    }
                }
                true
            }
            Err(e) if would_block(&e) => false,
            Err(_) => {
                self.stderr = None;
                false
            }
        }
    }

    /// httpd's AH01215 line: what the script wrote, then the script.
    fn flush_err_line(&mut self) {
        let mut line = std::mem::take(&mut self.err_line);
        if let [l @ .., b'\r'] = &line[..] {
            line.truncate(l.len());
        }
        if line.is_empty() {
            return;
        }
        let text: String = String::from_utf8_lossy(&line)
            .chars()
            .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
            .collect();
        log::error!("[client {}] AH01215: {text}: {}", self.peer, self.filename);
    }

    fn write_client(&mut self, sink: &mut Sink<'_>) -> Result<bool, Abort> {
        // Encrypted bytes waiting go first; while the socket cannot take them, nothing more is
        // encrypted (the session's send buffer stays bounded).
        if let Some(tls) = &mut self.tls {
            match tls.flush(self.sock) {
                Ok(true) => return Ok(false),
                Ok(false) => {}
                Err(_) => return Err(Abort::ClientGone),
            }
        }
        let (bytes, interim) = if !self.interim.is_empty() {
            (self.interim, true)
        } else {
            match sink {
                Sink::Client(o) if !o.flushed() => (&o.buf[o.pos..], false),
                _ => return Ok(false),
            }
        };
        let sent = match &mut self.tls {
            Some(tls) => tls.write(self.sock, bytes),
            None => crate::sys::send(self.sock, bytes, false),
        };
        match sent {
            Ok(n) => {
                if interim {
                    self.interim = &self.interim[n..];
                } else if let Sink::Client(o) = sink {
                    o.pos += n;
                }
                Ok(n > 0)
            }
            Err(e) if would_block(&e) => Ok(false),
            Err(_) => Err(Abort::ClientGone),
        }
    }

    /// Move bytes until `sink` is satisfied, the time runs out or the client goes away.
    fn pump(&mut self, sink: &mut Sink<'_>) -> Result<(), Abort> {
        const STDIN: usize = 0;
        const STDOUT: usize = 1;
        const STDERR: usize = 2;
        const SOCK: usize = 3;
        loop {
            self.body.decode();
            if let Some(e) = self.body.error {
                return Err(Abort::Body(e));
            }
            if self.body.done && self.body.pending().is_empty() {
                // End of the body: the script sees end of file.
                self.stdin = None;
            }
            if sink.satisfied(self.stdout.is_none()) {
                return Ok(());
            }
            let mut fds = [libc::pollfd {
                fd: -1,
                events: 0,
                revents: 0,
            }; 4];
            if let Some(p) = &self.stdin
                && !self.body.pending().is_empty()
            {
                fds[STDIN] = libc::pollfd {
                    fd: p.as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                };
            }
            if let Some(p) = &self.stdout
                && sink.wants_stdout()
            {
                fds[STDOUT] = libc::pollfd {
                    fd: p.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
            }
            if let Some(p) = &self.stderr {
                fds[STDERR] = libc::pollfd {
                    fd: p.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
            }
            let reading = self.body.needs_socket();
            if reading && self.tls.is_some() {
                // Body bytes the session decrypted already wait in it, where poll cannot see
                // them: take them first.
                match self.body.read_socket(self.sock, self.tls.as_deref_mut()) {
                    Ok(0) => return Err(Abort::ClientGone),
                    Ok(_) => {
                        self.last_progress = Instant::now();
                        continue;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(_) => return Err(Abort::ClientGone),
                }
            }
            let tls_pending = self.tls.as_ref().is_some_and(|t| t.pending());
            let writing = !self.interim.is_empty() || sink.wants_write() || tls_pending;
            let mut ev = 0;
            if reading {
                ev |= libc::POLLIN;
            } else if !sink.delivered() {
                // Only the end of the stream: pipelined bytes stay unread for the next request.
                // (Once the response is complete as far as the client knows, its closing is no
                // reason to stop the script, whose remaining output is only drained.)
                ev |= crate::sys::POLL_PEER_CLOSED;
            }
            if writing {
                ev |= libc::POLLOUT;
            }
            fds[SOCK] = libc::pollfd {
                fd: if ev == 0 { -1 } else { self.sock.as_raw_fd() },
                events: ev,
                revents: 0,
            };
            let waited = self.last_progress.elapsed();
            if waited >= self.timeout {
                return Err(Abort::Timeout);
            }
            let left = self.timeout - waited;
            let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
            // SAFETY: poll on an array of 4 pollfds we own; unused entries have fd -1.
            let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("AH01221: poll failed waiting for CGI child: {e}");
                return Err(Abort::Timeout);
            }
            let mut progress = false;
            let sock_ev = fds[SOCK].revents;
            if sock_ev & libc::POLLNVAL != 0 {
                return Err(Abort::ClientGone);
            }
            if reading && sock_ev & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 {
                match self.body.read_socket(self.sock, self.tls.as_deref_mut()) {
                    Ok(0) => return Err(Abort::ClientGone),
                    Ok(_) => progress = true,
                    Err(e) if would_block(&e) => {}
                    Err(_) => return Err(Abort::ClientGone),
                }
            } else if !reading
                && sock_ev & (crate::sys::POLL_PEER_CLOSED | libc::POLLHUP | libc::POLLERR) != 0
            {
                return Err(Abort::ClientGone);
            }
            if sock_ev & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0 && writing {
                progress |= self.write_client(sink)?;
            }
            if fds[STDIN].revents != 0 {
                if let Some(p) = &mut self.stdin {
                    match p.write(&self.body.pending[self.body.pend_pos..]) {
                        Ok(n) => {
                            self.body.pend_pos += n;
                            progress |= n > 0;
                        }
                        Err(e) if would_block(&e) => {}
                        // EPIPE: the script does not read (all of) its input. The rest is
                        // read from the client and dropped.
                        Err(_) => {
                            self.stdin = None;
                            self.body.discard = true;
                            self.body.pending.clear();
                            self.body.pend_pos = 0;
                        }
                    }
                }
            } else if self.stdin.is_none() && !self.body.pending().is_empty() {
                self.body.discard = true;
                self.body.pending.clear();
                self.body.pend_pos = 0;
            }
            if fds[STDOUT].revents != 0
                && let Some(p) = &mut self.stdout
            {
                match p.read(&mut self.scratch) {
                    Ok(0) => self.stdout = None,
                    Ok(n) => {
                        sink.take(&self.scratch[..n]);
                        progress = true;
                    }
                    Err(e) if would_block(&e) => {}
                    Err(_) => self.stdout = None,
                }
            }
            if fds[STDERR].revents != 0 {
                self.read_stderr();
            }
            if progress {
                self.last_progress = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_output_framing() {
        let mut o = Out::new(b"HEAD\r\n\r\n".to_vec(), Framing::Chunked, b"abc");
        assert_eq!(&o.buf[..], b"HEAD\r\n\r\n3\r\nabc\r\n");
        o.pos = o.buf.len();
        o.push(b"0123456789abcdef0");
        assert_eq!(&o.buf[..], b"11\r\n0123456789abcdef0\r\n");
        o.pos = o.buf.len();
        o.finish();
        assert_eq!(&o.buf[..], b"0\r\n\r\n");
        assert_eq!(o.body_bytes, 20);
        assert!(!o.mismatch);
    }

    #[test]
    fn content_length_output_is_cut_at_the_length() {
        let mut o = Out::new(Vec::new(), Framing::Length(5), b"abc");
        o.push(b"defg");
        assert_eq!(&o.buf[..], b"abcde");
        assert!(o.mismatch);
        let mut short = Out::new(Vec::new(), Framing::Length(5), b"abc");
        short.finish();
        assert!(short.mismatch);
    }

    #[test]
    fn body_decoding_from_buffered_bytes() {
        let rb = RequestBody {
            framing: BodyFraming::Chunked,
            buffered: b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
            expects_continue: false,
            limits: Limits::default(),
        };
        let mut b = Body::new(&rb);
        b.decode();
        assert_eq!(b.pending(), b"abc");
        b.pend_pos = b.pending.len();
        b.decode();
        assert!(b.done);
        assert_eq!(&rb.buffered[b.init_pos..], b"GET / HTTP/1.1\r\n");
        let rb = RequestBody {
            framing: BodyFraming::Length(2),
            buffered: b"abGET",
            expects_continue: false,
            limits: Limits::default(),
        };
        let mut b = Body::new(&rb);
        b.decode();
        assert_eq!(b.pending(), b"ab");
        assert!(b.done);
        assert_eq!(b.init_pos, 2);
    }
}
