//! A worker thread: takes a connection with a complete request head, answers it, and hands the
//! connection back — never waiting on the client.
//!
//! Per request: parse the head, route it, build the response (static file, server-status, or an
//! error page), write what the socket takes at once, and log. If the socket cannot take the whole
//! response, the rest (memory and file range) goes back to the listener for write completion. If
//! it can and the connection stays open, the worker looks once for a next request already sent
//! (pipelining, or a quick client) before handing the connection back, saving a trip through the
//! listener. At most [`MAX_REQUESTS_PER_DISPATCH`] requests are served per dispatch.

use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Instant as StdInstant, SystemTime, UNIX_EPOCH};

use eventmpm_core::conn::{self, Handback, KeepAlive, MAX_REQUESTS_PER_DISPATCH, Outcome};
use eventmpm_core::http1::conditional::Validators;
use eventmpm_core::http1::discard::{Discard, discard};
use eventmpm_core::http1::error_page::{self, ErrorPage};
use eventmpm_core::http1::etag::Etag;
use eventmpm_core::http1::representation::{self, Answer, FieldText, Stored};
use eventmpm_core::http1::response::{BodyLength, BodyPlan, Persistence, ResponseHead};
use eventmpm_core::http1::{
    self, BodyFraming, Method, Request, Scan, Status, TargetForm, Version, date, path,
};
use eventmpm_core::scoreboard::{CpuTimes, WorkerScore, WorkerStatus};
use eventmpm_core::status::{self, Format, Query, ServerInfo};

mod cgi;

use super::connio::{ConnIo, Mem, Sent};
use super::{Completion, Job, Serving, Shared};
use crate::board::monotonic_now;
use crate::config::Handler;
use crate::logformat::Entry;
use crate::site::Site;
use crate::sys;

/// Header fields per request a worker parses without allocating; a larger LimitRequestFields
/// uses a heap array sized once per worker.
const STACK_HEADERS: usize = 128;
/// Files up to this size are read into the response buffer and sent with the head in one
/// write; larger ones go out with sendfile.
const SMALL_FILE: u64 = 8 * 1024;
/// Access-log bytes a worker buffers before writing them out (it also writes whenever it goes
/// idle, so a quiet server's log is current).
const LOG_FLUSH: usize = 32 * 1024;

/// The `Date` value, formatted once per second per worker.
struct DateCache {
    secs: i64,
    value: [u8; 29],
}

impl DateCache {
    fn get(&mut self, now: i64) -> &[u8; 29] {
        if now != self.secs {
            self.secs = now;
            self.value = date::format(now);
        }
        &self.value
    }
}

/// The fields of one response besides those the head writer owns.
struct Fields {
    /// (name, start, end) into `bytes`.
    spans: Vec<(&'static str, usize, usize)>,
    bytes: Vec<u8>,
}

impl Fields {
    fn clear(&mut self) {
        self.spans.clear();
        self.bytes.clear();
    }
    fn push(&mut self, name: &'static str, value: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans.push((name, start, self.bytes.len()));
    }
}

/// What a request's answer is, before its head is written.
enum Body {
    None,
    Page(Vec<u8>),
    File {
        file: std::fs::File,
        start: u64,
        len: u64,
    },
    /// A CGI script to run ([`cgi`]): it answers the request itself.
    Cgi(Box<crate::cgi::Script>),
}

struct Reply {
    status: Status,
    body: Body,
    /// Force `Connection: close` (the request's body was not read, or the stream is untrusted).
    close: bool,
    filename: Option<String>,
}

impl Reply {
    fn new(status: Status) -> Reply {
        Reply {
            status,
            body: Body::None,
            close: false,
            filename: None,
        }
    }
}

/// A worker thread's request-answering state: its scoreboard record, its caches and buffered
/// log lines. The event MPM's workers ([`run`]) and the worker MPM's
/// ([`super::worker_mpm`]) answer requests through it alike.
pub(super) struct Worker<'s> {
    shared: &'s Serving,
    site: &'s Site,
    record: Option<&'static WorkerScore>,
    date: DateCache,
    fields: Fields,
    logs: Vec<Vec<u8>>,
    path: Vec<u8>,
    /// Whether the latest response keeps the connection open.
    last_keep_alive: bool,
    /// When this thread last recorded its CPU time.
    cpu: crate::cputime::Sampler,
}

/// The worker thread's body: serve jobs until the dispatch queue is terminated.
pub fn run(n: u32, shared: &Shared) {
    let mut w = Worker::new(n, shared);
    loop {
        let job = shared.dispatch.pop(|| w.on_idle());
        let Some(job) = job else { break };
        w.serve(job, shared);
    }
    w.exit();
}

impl<'s> Worker<'s> {
    /// Worker `n` of this child: claims scoreboard slot `n` (status 'S').
    pub(super) fn new(n: u32, shared: &'s Serving) -> Worker<'s> {
        let record = shared.board.worker(n as usize);
        if let Some(r) = record {
            let tid = crate::sys::thread_id() as u32;
            r.start(std::process::id() as i32, tid, shared.board.generation());
        }
        Worker {
            shared,
            site: &shared.site,
            record,
            date: DateCache {
                secs: -1,
                value: [0; 29],
            },
            fields: Fields {
                spans: Vec::with_capacity(8),
                bytes: Vec::with_capacity(256),
            },
            logs: shared
                .site
                .access_logs
                .iter()
                .map(|_| Vec::with_capacity(LOG_FLUSH))
                .collect(),
            path: vec![0u8; shared.limits.request_line as usize + 1],
            last_keep_alive: false,
            cpu: crate::cputime::Sampler::default(),
        }
    }

    /// The thread ends: write buffered log lines, mark the slot dead ('.').
    pub(super) fn exit(mut self) {
        self.flush_logs();
        if let Some(r) = self.record {
            r.set_status(WorkerStatus::Dead, monotonic_now());
        }
    }
}

impl Worker<'_> {
    pub(super) fn set_status(&self, s: WorkerStatus) {
        if let Some(r) = self.record {
            r.set_status(s, monotonic_now());
        }
    }

    /// Record this thread's CPU time in its scoreboard record, if [`crate::cputime::SAMPLE_EVERY`]
    /// has passed since it last did (httpd calls `times()` at the end of every request).
    fn record_cpu(&mut self, now: eventmpm_core::time::Instant) {
        let Some(r) = self.record else { return };
        if !self.cpu.due(now) {
            return;
        }
        if let Some((user, system)) = crate::cputime::thread_ticks() {
            r.set_cpu_times(CpuTimes {
                user,
                system,
                ..CpuTimes::default()
            });
        }
    }

    /// A request has ended (`bytes` sent): count it, and record the thread's CPU time.
    pub(super) fn request_done(&mut self, bytes: u64) {
        let now = monotonic_now();
        if let Some(r) = self.record {
            r.count_request(bytes, now);
        }
        self.record_cpu(now);
    }

    /// About to wait for work: publish idleness and write buffered log lines. (The listener
    /// learns a worker is free from the completion it just pushed, which also wakes it to
    /// re-check admission: httpd PR 65769.)
    pub(super) fn on_idle(&mut self) {
        self.record_cpu(monotonic_now());
        let stopping = self.shared.stopping.load(Ordering::Relaxed);
        self.set_status(if stopping {
            WorkerStatus::Graceful
        } else {
            WorkerStatus::Ready
        });
        // The listener may have started stopping (and marked the idle workers 'G') between the
        // load above and the '_' just published: look again (pairs with Board::set_stopping).
        if !stopping {
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.shared.stopping.load(Ordering::Relaxed) {
                self.set_status(WorkerStatus::Graceful);
            }
        }
        self.flush_logs();
    }

    pub(super) fn flush_logs(&mut self) {
        for (buf, log) in self.logs.iter_mut().zip(&self.site.access_logs) {
            log.append(buf);
            buf.clear();
        }
    }

    fn serve(&mut self, job: Job, shared: &Shared) {
        let Job { id, mut io, served } = job;
        let handback = self.serve_requests(&mut io, served);
        shared.completions.push(Completion { id, io, handback });
        if let Err(e) = shared.waker.wake() {
            listener_unreachable(&e);
        }
    }

    /// Answer the request whose head is buffered in `io` and, while the connection stays open
    /// and the next request is already there, the ones after it (at most
    /// [`MAX_REQUESTS_PER_DISPATCH`]). `served` responses were sent on the connection before.
    /// Never waits on the client: says what state the connection is left in.
    pub(super) fn serve_requests(&mut self, io: &mut ConnIo, served: u32) -> Handback {
        self.set_status(WorkerStatus::Write);
        let mut done = 0u32;
        let outcome = loop {
            match self.respond(io, served + done) {
                Sent::All if io.output.is_empty() => {}
                Sent::All | Sent::Partial { .. } => {
                    break Outcome::WriteCompletion {
                        keep_alive: self.last_keep_alive,
                    };
                }
                Sent::Failed => break Outcome::Close,
            }
            done += 1;
            if !self.last_keep_alive {
                break Outcome::Linger;
            }
            match self.next_request(io) {
                Next::Complete if done < MAX_REQUESTS_PER_DISPATCH => continue,
                Next::Complete => break Outcome::Yield,
                Next::Partial(bytes) => break Outcome::PartialHead { bytes },
                Next::Idle => break Outcome::KeepAlive,
                Next::Closed => break Outcome::Close,
            }
        };
        if self.logs.iter().any(|b| b.len() >= LOG_FLUSH) {
            self.flush_logs();
        }
        if matches!(
            outcome,
            Outcome::KeepAlive | Outcome::Linger | Outcome::Close
        ) {
            io.input.release_if_empty();
        }
        Handback {
            served: done,
            outcome,
        }
    }
}

/// The listener's waker failed. A full eventfd counter or pipe is no failure (the OS layers
/// report success: the descriptor is readable, the listener due to wake); what is left is a
/// waker that cannot ring at all (or an event port at its event limit, see the OS layer). The listener may then sleep through the completion just pushed (a
/// connection hanging, a worker it counts as busy) and through every later one, so the child
/// cannot go on: it stops gracefully, its listener woken through the signal pipe instead, as if
/// the parent had sent SIGWINCH. Each completion pushed while it stops takes this way again, so
/// each still reaches the listener; the parent replaces the child.
fn listener_unreachable(e: &std::io::Error) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REPORTED.swap(true, Ordering::Relaxed) {
        log::error!("cannot wake the listener: {e}; stopping this child gracefully");
    }
    if !crate::signals::deliver(libc::SIGWINCH) {
        log::error!("cannot wake the listener through its signal pipe either");
    }
}

/// What follows a response on a kept-alive connection.
enum Next {
    Complete,
    Partial(u32),
    Idle,
    Closed,
}

impl Worker<'_> {
    fn next_request(&mut self, io: &mut ConnIo) -> Next {
        let limits = &self.shared.limits;
        for _ in 0..2 {
            match io.input.scan(limits) {
                // A complete head — or one the listener must reject, which it does on Yield.
                Scan::Complete { .. } | Scan::Error(_) => return Next::Complete,
                Scan::Partial if !io.input.buffered().is_empty() => {}
                Scan::Partial => {}
            }
            match io.read_more(self.shared.pool) {
                None => return Next::Closed,
                Some(0) => break,
                Some(_) => {}
            }
        }
        match io.input.buffered().len() {
            0 => Next::Idle,
            n => Next::Partial(n as u32),
        }
    }
}

/// The request line (the head's first line, without its line ending and any empty lines
/// before it).
fn request_line(head: &[u8]) -> &[u8] {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let rest = &head[start..];
    let end = rest
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// Fill `buf` from `file` at `offset` (a small file read into the response buffer).
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// The methods static files answer: POST is served as GET, its body skipped (httpd's
/// `default_handler`).
const FILE_METHODS: [Method<'static>; 4] =
    [Method::Get, Method::Head, Method::Post, Method::Options];
/// The methods server-status answers.
const STATUS_METHODS: [Method<'static>; 3] = [Method::Get, Method::Head, Method::Options];

impl Worker<'_> {
    /// Answer one request whose head is buffered at the start of `io.input`: parse, handle,
    /// write the head, log, send what the socket takes. Sets `last_keep_alive`.
    fn respond(&mut self, io: &mut ConnIo, served_before: u32) -> Sent {
        let started = StdInstant::now();
        let wall = SystemTime::now();
        let since_epoch = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let now_secs = since_epoch.as_secs() as i64;
        if let Some(r) = self.record {
            r.begin_request(monotonic_now());
        }
        let limits = self.shared.limits;
        let stopping = self.shared.stopping.load(Ordering::Relaxed);
        // The request borrows the input buffer; take it out of the connection for the
        // duration so the connection's output can be filled meanwhile.
        let input = std::mem::take(&mut io.input);
        let head_len = input.head_len.unwrap_or(0);
        let head_bytes = input.head().unwrap_or(&[]);
        let mut stack = [httparse::EMPTY_HEADER; STACK_HEADERS];
        let mut heap;
        let want = limits.fields as usize + 1;
        let headers: &mut [httparse::Header<'_>] = if limits.fields == 0 || want > STACK_HEADERS {
            // LimitRequestFields above the stack array (or unlimited, bounded by the buffer):
            // rare enough to allocate for.
            heap =
                vec![httparse::EMPTY_HEADER; want.max(STACK_HEADERS).min(head_bytes.len() / 2 + 1)];
            &mut heap[..]
        } else {
            &mut stack[..want]
        };
        self.fields.clear();
        let parsed = http1::parse_with(head_bytes, &limits, &self.site.protocol, headers);
        // Bytes of an unread body to skip with the head when the connection stays open.
        let mut body_len = 0;
        let (mut reply, version, head_only, client_wants) = match &parsed {
            Err(e) => {
                log::info!("request from {} failed: {}", io.peer.ip(), e.reason());
                let method = request_line(head_bytes)
                    .split(|&b| b == b' ')
                    .next()
                    .and_then(|m| std::str::from_utf8(m).ok())
                    .unwrap_or("GET");
                let mut r = self.error_reply(e.status(), method, b"");
                r.close = true;
                (r, Version::Http11, false, false)
            }
            Ok(req) => {
                if let Some(r) = self.record
                    && self.site.extended_status
                {
                    r.set_request_line(request_line(head_bytes));
                    let mut ip = [0u8; 48];
                    let mut cur = std::io::Cursor::new(&mut ip[..]);
                    let _ = write!(cur, "{}", io.peer.ip());
                    let n = cur.position() as usize;
                    r.set_client(&ip[..n]);
                    r.set_vhost(self.site.server_name.as_bytes());
                    r.set_protocol(req.version().as_str().as_bytes());
                }
                let mut reply = self.handle(req, io, now_secs, since_epoch.as_micros() as u64);
                if !matches!(reply.body, Body::Cgi(_)) {
                    // A body no handler reads must not be taken for the next request.
                    let after_head = input.buffered().get(head_len..).unwrap_or(&[]);
                    match discard(&req.method(), req.body(), after_head, &limits) {
                        Discard::Nothing => {}
                        Discard::Skip { len } => body_len = len,
                        // Lingering close drains what is still coming.
                        Discard::Close => reply.close = true,
                        Discard::Invalid(e) => {
                            log::info!("request from {} failed: {}", io.peer.ip(), e.reason());
                            self.fields.clear();
                            reply = self.error_reply(e.status(), req.method().as_str(), b"");
                            reply.close = true;
                        }
                    }
                }
                (
                    reply,
                    req.version(),
                    req.method() == Method::Head,
                    req.keep_alive(),
                )
            }
        };
        if let (Body::Cgi(script), Ok(req)) = (&reply.body, &parsed) {
            let has_body = req.body() != BodyFraming::None;
            let done = self.cgi_respond(
                io,
                req,
                head_bytes,
                head_len,
                &input,
                script,
                served_before,
                started,
                wall,
                now_secs,
                since_epoch.as_micros() as u64,
            );
            match done {
                cgi::CgiDone::Sent(sent, consumed) => {
                    io.input = input;
                    if self.last_keep_alive {
                        io.input.consume(consumed);
                    }
                    return sent;
                }
                cgi::CgiDone::Reply(r) => {
                    // What is left of the body must not be read as the next request.
                    reply = r;
                    reply.close |= has_body;
                }
            }
        }
        let ka = conn::keep_alive(
            &self.site.keep_alive,
            served_before,
            client_wants && !reply.close,
            true,
            reply.status.code(),
            stopping,
        );
        let persistence = match ka {
            KeepAlive::Close => Persistence::Close,
            KeepAlive::Open { timeout, remaining } => Persistence::KeepAlive {
                timeout,
                max: remaining,
            },
        };
        let length = match &reply.body {
            Body::None | Body::Cgi(_) => 0,
            Body::Page(p) => p.len() as u64,
            Body::File { len, .. } => *len,
        };
        let Some(mut out) = self.shared.pool.take() else {
            io.input = input;
            self.last_keep_alive = false;
            return Sent::Failed;
        };
        let mut spans = [("", &b""[..]); 8];
        let n = self.fields.spans.len().min(spans.len());
        for (slot, (name, s, e)) in spans.iter_mut().zip(&self.fields.spans) {
            *slot = (*name, &self.fields.bytes[*s..*e]);
        }
        let date = *self.date.get(now_secs);
        let written = ResponseHead {
            status: reply.status,
            request_version: version,
            head_only,
            length: BodyLength::Known(length),
            date: &date,
            server: self.site.server_software.as_bytes(),
            persistence,
            headers: &spans[..n],
        }
        .write(out.as_mut_slice());
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                log::error!("cannot write a response head: {e}");
                drop(out);
                io.input = input;
                self.last_keep_alive = false;
                return Sent::Failed;
            }
        };
        self.last_keep_alive = !written.close;
        let send_body = !matches!(written.body, BodyPlan::None);
        let body_bytes = if send_body { length } else { 0 };
        if let Ok(req) = &parsed {
            self.log(
                io,
                req,
                head_bytes,
                reply.status.code(),
                body_bytes,
                written.len as u64,
                started,
                wall,
                served_before,
                reply.filename.as_deref(),
            );
        }
        io.input = input;
        let mut head_end = written.len;
        match reply.body {
            Body::Page(mut page) if send_body => {
                let mut v = Vec::with_capacity(head_end + page.len());
                v.extend_from_slice(&out.as_slice()[..head_end]);
                v.append(&mut page);
                drop(out);
                let end = v.len();
                io.output.mem = Some((Mem::Heap(v), 0, end));
            }
            Body::File { file, start, len } if send_body => {
                if len <= SMALL_FILE && len as usize <= out.len() - head_end {
                    // One write for head and body.
                    let dst = &mut out.as_mut_slice()[head_end..head_end + len as usize];
                    if let Err(e) = read_at(&file, dst, start) {
                        log::error!(
                            "cannot read {}: {e}",
                            reply.filename.as_deref().unwrap_or("?")
                        );
                        drop(out);
                        self.last_keep_alive = false;
                        return Sent::Failed;
                    }
                    head_end += len as usize;
                    io.output.mem = Some((Mem::Pooled(out), 0, head_end));
                } else {
                    io.output.mem = Some((Mem::Pooled(out), 0, head_end));
                    io.output.file = Some((file, start, start + len));
                }
            }
            _ => io.output.mem = Some((Mem::Pooled(out), 0, head_end)),
        }
        // The request's bytes are done with; pipelined bytes after them stay buffered. A
        // connection that closes keeps its input (lingering close discards it).
        if self.last_keep_alive {
            io.input.consume(head_len + body_len);
        }
        let sent = io.send();
        if sent == Sent::All {
            io.output.release();
        }
        self.request_done(written.len as u64 + body_bytes);
        sent
    }

    /// Route and answer a parsed request.
    fn handle(&mut self, req: &Request<'_>, io: &ConnIo, now: i64, now_us: u64) -> Reply {
        let method = req.method();
        match req.target().form() {
            // `OPTIONS *` asks about the server, not a resource: 200 with no body, as httpd
            // answers it (without an Allow field).
            TargetForm::Asterisk => return Reply::new(Status::OK),
            // `CONNECT host:port` asks for a tunnel, and this server is no proxy: 405, as httpd
            // without mod_proxy answers.
            TargetForm::Authority => return self.refuse_method(method, &FILE_METHODS),
            TargetForm::Origin | TargetForm::Absolute => {}
        }
        // The decoding buffer is taken out for the request so `decoded` can be borrowed while the
        // handlers use the rest of the worker; it is put back below (no allocation per request).
        let mut buf = std::mem::take(&mut self.path);
        let reply = match path::normalize(req.target().path().as_bytes(), &mut buf) {
            Ok(n) => self.handle_path(req, io, &buf[..n], now, now_us),
            Err(e) => {
                log::info!("{} (client {})", e.reason(), io.peer.ip());
                self.error_reply(e.status(), method.as_str(), b"")
            }
        };
        self.path = buf;
        reply
    }

    fn handle_path(
        &mut self,
        req: &Request<'_>,
        io: &ConnIo,
        decoded: &[u8],
        now: i64,
        now_us: u64,
    ) -> Reply {
        let method = req.method();
        let route = self.site.route(decoded);
        if let Some(reply) = self.cgi_route(req, io, decoded, &route) {
            return reply;
        }
        if !Site::allows(&route, io.peer.ip(), io.local.ip()) {
            log::info!(
                "client denied by server configuration: {} (client {})",
                String::from_utf8_lossy(decoded),
                io.peer.ip()
            );
            return self.error_reply(Status::FORBIDDEN, method.as_str(), b"");
        }
        let allowed: &[Method<'_>] = match route.handler {
            Handler::ServerStatus => &STATUS_METHODS,
            Handler::Default | Handler::Cgi => &FILE_METHODS,
        };
        match method {
            Method::Options => {
                self.push_allow(allowed);
                return Reply::new(Status::OK);
            }
            m if allowed.contains(&m) => {}
            m => return self.refuse_method(m, allowed),
        }
        match route.handler {
            Handler::ServerStatus => self.status_page(req, io, now),
            Handler::Default | Handler::Cgi => {
                self.static_file(req, decoded, route.follow_symlinks, now, now_us)
            }
        }
    }

    /// httpd's `default_handler` for a method the handler does not implement
    /// ([`Method::refusal`]), naming the methods that are allowed.
    fn refuse_method(&mut self, method: Method<'_>, allowed: &[Method<'_>]) -> Reply {
        if !method.is_registered() {
            log::info!("Invalid method in request {}", method.as_str());
        }
        let r = self.error_reply(method.refusal(), method.as_str(), b"");
        self.push_allow(allowed);
        r
    }

    /// An `Allow` field naming `methods`.
    fn push_allow(&mut self, methods: &[Method<'_>]) {
        let mut allow = [0u8; 64];
        let k = error_page::allow_value(methods, &mut allow).unwrap_or(0);
        self.fields.push("Allow", &allow[..k]);
    }

    fn error_reply(&mut self, status: Status, method: &str, location: &[u8]) -> Reply {
        let mut page = vec![0u8; 2048];
        let page_len = ErrorPage {
            status,
            method,
            server_admin: &self.site.server_admin,
            location,
            expect: b"",
        }
        .write(&mut page)
        .unwrap_or(0);
        page.truncate(page_len);
        if !location.is_empty() {
            self.fields.push("Location", location);
        }
        if page_len > 0 {
            self.fields.push("Content-Type", error_page::CONTENT_TYPE);
        }
        let mut r = Reply::new(status);
        r.close = conn::drops_connection(status.code());
        r.body = Body::Page(page);
        r
    }

    fn static_file(
        &mut self,
        req: &Request<'_>,
        path: &[u8],
        follow: bool,
        now: i64,
        now_us: u64,
    ) -> Reply {
        let method = req.method().as_str();
        let rel = crate::site::relative_path(path);
        let site = self.site;
        let open = |rel: &Path| {
            sys::open_beneath(&site.root_fd, &site.document_root, rel, follow)
                .and_then(|f| f.metadata().map(|m| (f, m)))
        };
        let (mut file, mut meta) = match open(rel) {
            Ok(x) => x,
            Err(e) => return self.open_error(&e, method, rel),
        };
        let mut served = rel.to_path_buf();
        if meta.is_dir() {
            if !path.ends_with(b"/") {
                // mod_dir's DirectorySlash: redirect to the directory's canonical URL.
                let mut loc = Vec::with_capacity(path.len() + 1 + 64);
                loc.extend_from_slice(req.target().path().as_bytes());
                loc.push(b'/');
                if let Some(q) = req.target().query() {
                    loc.push(b'?');
                    loc.extend_from_slice(q.as_bytes());
                }
                return self.error_reply(Status::MOVED_PERMANENTLY, method, &loc);
            }
            let mut found = None;
            for index in &self.site.directory_index {
                let candidate = rel.join(index);
                if let Ok((f, m)) = open(&candidate)
                    && m.is_file()
                {
                    found = Some((f, m, candidate));
                    break;
                }
            }
            match found {
                Some((f, m, p)) => {
                    (file, meta, served) = (f, m, p);
                }
                // No index and no directory listings: httpd without mod_autoindex answers 403.
                None => return self.error_reply(Status::FORBIDDEN, method, b""),
            }
        }
        if !meta.is_file() {
            log::info!("refusing to serve a non-regular file: {}", served.display());
            return self.error_reply(Status::FORBIDDEN, method, b"");
        }
        let size = meta.len();
        let mtime_us =
            (meta.mtime().max(0) as u64) * 1_000_000 + meta.mtime_nsec().max(0) as u64 / 1000;
        let etag = Etag::for_file(None, size, mtime_us, now_us);
        let validators = Validators {
            etag: Some(etag.as_bytes()),
            last_modified: Some(meta.mtime()),
        };
        let answer = representation::answer(req, size, &validators, now);
        let stored = Stored {
            size,
            content_type: site.mime.lookup(&served).map(str::as_bytes),
            etag: etag.as_bytes(),
            modified: meta.mtime(),
        };
        let mut text = FieldText::new();
        let mut fields = [("", &b""[..]); representation::MAX_FIELDS];
        let n = answer.fields(&stored, now, &mut text, &mut fields);
        for (name, value) in &fields[..n] {
            self.fields.push(name, value);
        }
        match answer {
            Answer::NotModified => Reply::new(Status::NOT_MODIFIED),
            Answer::PreconditionFailed | Answer::NotSatisfiable => {
                self.error_reply(answer.status(), method, b"")
            }
            Answer::Full | Answer::Partial { .. } => {
                let (start, len) = answer.body(size).unwrap_or((0, size));
                Reply {
                    status: answer.status(),
                    body: Body::File { file, start, len },
                    close: false,
                    filename: Some(self.site.document_root.join(&served).display().to_string()),
                }
            }
        }
    }

    fn open_error(&mut self, e: &std::io::Error, method: &str, rel: &Path) -> Reply {
        use std::io::ErrorKind as K;
        let status = match e.kind() {
            K::NotFound | K::NotADirectory => Status::NOT_FOUND,
            K::PermissionDenied => Status::FORBIDDEN,
            K::InvalidFilename => Status::REQUEST_URI_TOO_LONG,
            // Out of descriptors or memory: a passing condition the client may retry (httpd
            // answers 403 to every failed open, which tells it the file is forbidden).
            _ if matches!(
                e.raw_os_error(),
                Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM)
            ) =>
            {
                log::error!("cannot open {}: {e}", rel.display());
                Status::SERVICE_UNAVAILABLE
            }
            _ => {
                log::error!("cannot open {}: {e}", rel.display());
                Status::INTERNAL_SERVER_ERROR
            }
        };
        if status == Status::FORBIDDEN {
            log::info!("access to /{} denied: {e}", rel.display());
        }
        self.error_reply(status, method, b"")
    }

    fn status_page(&mut self, req: &Request<'_>, io: &ConnIo, now: i64) -> Reply {
        let query = Query::parse(req.target().query().unwrap_or(""));
        let st = &self.site.status;
        let (offset, zone) = crate::logformat::local_zone(now);
        let mut load = [-1f32; 3];
        let mut avg = [0f64; 3];
        // SAFETY: getloadavg writes at most 3 doubles into the array we pass.
        if unsafe { libc::getloadavg(avg.as_mut_ptr(), 3) } == 3 {
            load = avg.map(|v| v as f32);
        }
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u32;
        let local_ip = io.local.ip().to_string();
        let info = ServerInfo {
            server_name: &self.site.server_name,
            local_ip: &local_ip,
            server_version: &self.site.server_software,
            mpm: st.mpm,
            built: st.built,
            now,
            now_monotonic: monotonic_now(),
            utc_offset: offset,
            time_zone: &zone,
            config_generation: st.config_generation,
            mpm_generation: st.mpm_generation,
            load,
            clock_ticks: ticks,
            threads_per_child: st.threads_per_child,
            max_servers: st.max_servers,
            is_async: st.is_async,
            extended_status: self.site.extended_status,
        };
        let board = self.shared.board.scoreboard();
        let mut page = String::with_capacity(16 * 1024);
        let format = query.format();
        let r = match format {
            Format::Auto => status::render_auto(&mut page, &info, &board),
            Format::Json => status::render_json(&mut page, &info, &board),
            Format::Html => status::render_html(&mut page, &info, &board, &query),
        };
        if r.is_err() {
            return self.error_reply(Status::INTERNAL_SERVER_ERROR, "GET", b"");
        }
        self.fields
            .push("Content-Type", format.content_type().as_bytes());
        if let Some(secs) = query.refresh {
            self.fields.push("Refresh", secs.to_string().as_bytes());
        }
        let mut r = Reply::new(Status::OK);
        r.body = Body::Page(page.into_bytes());
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn log(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        head: &[u8],
        status: u16,
        body_bytes: u64,
        head_out: u64,
        started: StdInstant,
        wall: SystemTime,
        served_before: u32,
        filename: Option<&str>,
    ) {
        if self.site.access_logs.is_empty() {
            return;
        }
        let mut headers = [("", &b""[..]); 32];
        let mut k = 0;
        for h in req.headers().iter().take(headers.len()) {
            headers[k] = (h.name, h.value);
            k += 1;
        }
        let entry = Entry {
            peer: io.peer,
            local: io.local,
            request_line: request_line(head),
            method: req.method().as_str(),
            path: req.target().path().as_bytes(),
            query: req.target().query().map(str::as_bytes),
            protocol: req.version().as_str(),
            request_headers: &headers[..k],
            response_headers: &[],
            status,
            body_bytes,
            bytes_in: head.len() as u64,
            bytes_out: head_out + body_bytes,
            start: wall,
            duration: started.elapsed(),
            keep_alives: served_before,
            keep_alive: self.last_keep_alive,
            filename,
            server_name: &self.site.server_name,
            host: req.host().map(str::as_bytes),
        };
        for (buf, log) in self.logs.iter_mut().zip(&self.site.access_logs) {
            log.format.render(&entry, buf);
        }
    }
}
