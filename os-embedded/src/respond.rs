//! A worker step: answer the requests buffered on a dispatched connection, as the Unix server's
//! worker does — parse, route (server-status, a dynamic handler, the flash tree), write the head,
//! send what the socket takes, and hand the connection back without ever waiting on the client.
//!
//! The decisions are the core's and shared with the Unix server: path normalization
//! ([`http1::path`]), the static-file answer ([`http1::representation`]: conditional GET, ranges,
//! HEAD, and the fields each answer carries), error pages ([`http1::error_page`]), keep-alive
//! ([`conn::keep_alive`]) and the response head ([`ResponseHead`]).

use eventmpm_core::conn::{self, Handback, KeepAlive, MAX_REQUESTS_PER_DISPATCH, Outcome};
use eventmpm_core::http1::conditional::Validators;
use eventmpm_core::http1::discard::{Discard, discard};
use eventmpm_core::http1::error_page::{self, ErrorPage};
use eventmpm_core::http1::representation::{self, Answer, FieldText, Stored};
use eventmpm_core::http1::response::{BodyLength, BodyPlan, Persistence, ResponseHead};
use eventmpm_core::http1::{self, Method, Request, Scan, Status, TargetForm, Version, date, path};
use eventmpm_core::scoreboard::{WorkerScore, WorkerStatus};
use eventmpm_core::status::{Query, ServerInfo};
use eventmpm_core::table::ConnId;

use crate::io::{Body, ConnIo, Sent, Sources};
use crate::runtime::{Runtime, Serving};
use crate::socket::Sockets;
use crate::tree::Entry;

/// Header fields parsed per request at most (a larger `LimitRequestFields` is cut to this: the
/// request gets 431 beyond it).
pub const MAX_HEADERS: usize = 48;
/// Longest decoded path.
const MAX_PATH: usize = 512;
/// Fields a response carries besides those the head writer owns.
const MAX_FIELDS: usize = 6;
/// The methods files answer: POST is served as GET, its body skipped (httpd's
/// `default_handler`, as the Unix server).
const FILE_METHODS: [Method<'static>; 4] =
    [Method::Get, Method::Head, Method::Post, Method::Options];
/// The methods server-status and the dynamic handlers answer.
const PAGE_METHODS: [Method<'static>; 3] = [Method::Get, Method::Head, Method::Options];

/// What a request's body is, before its head is written.
enum Content {
    None,
    Flash(&'static [u8]),
    /// An error document, written after the head.
    Error,
    /// The page buffer's first bytes.
    Page(usize),
    Stream {
        handler: u8,
        length: Option<u64>,
        cursor: u64,
    },
}

struct Reply {
    status: Status,
    content: Content,
    /// Force `Connection: close`.
    close: bool,
}

impl Reply {
    fn new(status: Status, content: Content) -> Reply {
        Reply {
            status,
            content,
            close: false,
        }
    }

    fn error(status: Status) -> Reply {
        Reply {
            status,
            content: Content::Error,
            close: conn::drops_connection(status.code()),
        }
    }
}

/// The response's fields and the scratch they are formatted in.
struct Fields<'t> {
    list: [(&'static str, &'t [u8]); MAX_FIELDS],
    n: usize,
}

impl<'t> Fields<'t> {
    fn push(&mut self, name: &'static str, value: &'t [u8]) {
        if self.n < MAX_FIELDS {
            self.list[self.n] = (name, value);
            self.n += 1;
        }
    }
}

impl Runtime<'_> {
    /// Answer the requests buffered on `id` (at most [`MAX_REQUESTS_PER_DISPATCH`]); `served`
    /// responses were sent on it before. Shown on worker record `step`.
    pub(crate) fn serve<S: Sockets>(
        &mut self,
        sockets: &mut S,
        id: ConnId,
        served: u32,
        step: usize,
    ) -> Handback {
        let i = id.index();
        let Some(s) = self.conns[i].socket.map(usize::from) else {
            return Handback {
                served: 0,
                outcome: Outcome::Close,
            };
        };
        let record = self.serving.scores.worker(step);
        let mono = self.serving.mono_now;
        if let Some(r) = record {
            r.set_status(WorkerStatus::Write, mono);
        }
        let mut done = 0u32;
        let outcome = loop {
            // The connection itself holds no output here (it is sent before a next request).
            self.serving.page_leased = self.conns.iter().any(ConnIo::holds_page);
            let conn = &mut self.conns[i];
            let (sent, keep_alive) =
                self.serving
                    .respond(conn, &mut sockets.socket(s), served + done, record);
            match sent {
                Sent::All if conn.output_empty() => {}
                Sent::All | Sent::Partial { .. } => {
                    break Outcome::WriteCompletion { keep_alive };
                }
                Sent::Failed => break Outcome::Close,
            }
            done += 1;
            if !keep_alive {
                break Outcome::Linger;
            }
            match next_request(conn, &mut sockets.socket(s), &self.serving.settings.limits) {
                Next::Complete if done < MAX_REQUESTS_PER_DISPATCH => continue,
                Next::Complete => break Outcome::Yield,
                Next::Partial(bytes) => break Outcome::PartialHead { bytes },
                Next::Idle => break Outcome::KeepAlive,
                Next::Closed => break Outcome::Close,
            }
        };
        if let Some(r) = record {
            r.set_status(WorkerStatus::Ready, mono);
        }
        Handback {
            served: done,
            outcome,
        }
    }
}

/// httpd's `default_handler` for a method the handler does not implement: 405 for a method httpd
/// knows, 501 (and close) for one it does not ([`Method::refusal`]), naming the allowed ones.
fn refuse_method<'t>(
    method: Method<'_>,
    allowed: &[Method<'_>],
    allow: &'t mut [u8; 32],
    fields: &mut Fields<'t>,
) -> Reply {
    if !method.is_registered() {
        crate::log::info!("Invalid method in request {}", method.as_str());
    }
    let k = error_page::allow_value(allowed, allow).unwrap_or(0);
    fields.push("Allow", &allow[..k]);
    Reply::error(method.refusal())
}

enum Next {
    Complete,
    Partial(u32),
    Idle,
    Closed,
}

/// Look once for a request the client has already sent (pipelining, or a quick client).
fn next_request<K: crate::socket::Socket>(
    conn: &mut ConnIo<'_>,
    sock: &mut K,
    limits: &http1::Limits,
) -> Next {
    for _ in 0..2 {
        match conn.scan(limits) {
            // A complete head, or one the listener must reject, which it does on Yield.
            Scan::Complete { .. } | Scan::Error(_) => return Next::Complete,
            Scan::Partial => {}
        }
        match conn.read_more(sock) {
            None => return Next::Closed,
            Some(0) => break,
            Some(_) => {}
        }
    }
    match conn.buffered().len() {
        0 => Next::Idle,
        n => Next::Partial(n as u32),
    }
}

impl Serving<'_> {
    fn date(&mut self) -> [u8; 29] {
        if self.date.0 != self.unix_now {
            self.date = (self.unix_now, date::format(self.unix_now));
        }
        self.date.1
    }

    /// A complete error response (head and document, `Connection: close`) for the listener's
    /// rejections (400, 408, 431, …) into `out`; its length (0 if it does not fit).
    pub(crate) fn error_response(&mut self, out: &mut [u8], status: u16) -> usize {
        let status = Status::new(status).unwrap_or(Status::BAD_REQUEST);
        let date = self.date();
        let split = out.len() / 2;
        let (head_part, page_part) = out.split_at_mut(split);
        let page_len = ErrorPage {
            status,
            method: "GET",
            server_admin: &self.settings.server_admin,
            location: b"",
            expect: b"",
            notes: "",
            additionally: None,
        }
        .write(page_part)
        .unwrap_or(0);
        let fields = [("Content-Type", error_page::CONTENT_TYPE)];
        let head = ResponseHead {
            status,
            request_version: Version::Http11,
            head_only: false,
            length: BodyLength::Known(page_len as u64),
            date: &date,
            server: self.site.server_software.as_bytes(),
            persistence: Persistence::Close,
            keep_alive_asked: false,
            headers: if page_len > 0 { &fields } else { &[] },
        };
        match head.write(head_part) {
            Ok(w) => {
                out.copy_within(split..split + page_len, w.len);
                w.len + page_len
            }
            Err(_) => 0,
        }
    }

    /// Answer the request whose head is buffered at the start of `conn`'s input: the result of
    /// the first send, and whether the connection stays open.
    fn respond<K: crate::socket::Socket>(
        &mut self,
        conn: &mut ConnIo<'_>,
        sock: &mut K,
        served_before: u32,
        record: Option<&'static WorkerScore>,
    ) -> (Sent, bool) {
        let mono = self.mono_now;
        if let Some(r) = record {
            r.begin_request(mono);
        }
        let date = self.date();
        let limits = self.settings.limits;
        let want = match limits.fields {
            0 => MAX_HEADERS,
            n => (n as usize + 1).min(MAX_HEADERS),
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut decoded = [0u8; MAX_PATH];
        let mut text = FieldText::new();
        let mut allow = [0u8; 32];
        let mut location = [0u8; MAX_PATH + 2];
        let mut fields = Fields {
            list: [("", &[]); MAX_FIELDS],
            n: 0,
        };
        let (head, conn_after_head, out) = conn.head_and_output();
        let head_len = head.len();
        let protocol = self.settings.protocol;
        let parsed = http1::parse_with(head, &limits, &protocol, &mut headers[..want]);
        // Bytes of an unread body to skip with the head when the connection stays open.
        let mut body_len = 0;
        let (reply, version, head_only, client_wants, method, ka_asked) = match &parsed {
            Err(e) => {
                crate::log::info!("request failed: {}", e.reason());
                let mut r = Reply::error(e.status());
                r.close = true;
                // The error page quotes the method as the request line has it.
                let method = head
                    .split(|&b| b == b' ' || b == b'\r' || b == b'\n')
                    .find(|w| !w.is_empty())
                    .and_then(|m| core::str::from_utf8(m).ok())
                    .unwrap_or("GET");
                (r, Version::Http11, false, false, method, false)
            }
            Ok(req) => {
                let mut r = self.route(
                    req,
                    &mut decoded,
                    &mut text,
                    &mut allow,
                    &mut location,
                    &mut fields,
                );
                // A body no handler reads must not be taken for the next request.
                let after_head = conn_after_head;
                match discard(&req.method(), req.body(), after_head, &limits) {
                    Discard::Nothing => {}
                    Discard::Skip { len } => body_len = len,
                    // Lingering close drains what is still coming.
                    Discard::Close => r.close = true,
                    Discard::Invalid(e) => {
                        crate::log::info!("request failed: {}", e.reason());
                        fields.n = 0;
                        r = Reply::error(e.status());
                        r.close = true;
                    }
                }
                (
                    r,
                    req.version(),
                    req.method() == Method::Head,
                    req.keep_alive(),
                    req.method().as_str(),
                    req.connection().keep_alive(),
                )
            }
        };
        let ka = conn::keep_alive(
            &self.settings.keep_alive,
            served_before,
            client_wants && !reply.close,
            true,
            reply.status.code(),
            false,
        );
        let persistence = match ka {
            KeepAlive::Close => Persistence::Close,
            KeepAlive::Open { timeout, remaining } => Persistence::KeepAlive {
                timeout,
                max: remaining,
            },
        };
        // An error document goes into the second half of the output buffer first, so its
        // length is known for the head.
        let split = out.len() / 2;
        let mut error_len = 0;
        if let Content::Error = reply.content {
            let mut loc: &[u8] = &[];
            for (name, value) in &fields.list[..fields.n] {
                if *name == "Location" {
                    loc = value;
                }
            }
            error_len = ErrorPage {
                status: reply.status,
                method,
                server_admin: &self.settings.server_admin,
                location: loc,
                expect: b"",
                notes: "",
                additionally: None,
            }
            .write(&mut out[split..])
            .unwrap_or(0);
            if error_len > 0 {
                fields.push("Content-Type", error_page::CONTENT_TYPE);
            }
        }
        let length = match reply.content {
            Content::None => BodyLength::Known(0),
            Content::Flash(b) => BodyLength::Known(b.len() as u64),
            Content::Error => BodyLength::Known(error_len as u64),
            Content::Page(n) => BodyLength::Known(n as u64),
            Content::Stream { length, .. } => match length {
                Some(n) => BodyLength::Known(n),
                None => BodyLength::Unknown,
            },
        };
        let written = ResponseHead {
            status: reply.status,
            request_version: version,
            head_only,
            length,
            date: &date,
            server: self.site.server_software.as_bytes(),
            persistence,
            keep_alive_asked: ka_asked,
            headers: &fields.list[..fields.n],
        }
        .write(&mut out[..split]);
        let written = match written {
            Ok(w) => w,
            Err(_) => {
                crate::log::warning!("a response head did not fit the output buffer");
                return (Sent::Failed, false);
            }
        };
        let keep_alive = !written.close;
        let send_body = !matches!(written.body, BodyPlan::None);
        let mut head_end = written.len;
        // The page buffer is leased by the connection whose `Body::Page` holds it; a HEAD
        // request's rendered page is simply not sent.
        let body = if !send_body {
            Body::None
        } else {
            match reply.content {
                Content::None => Body::None,
                Content::Flash(b) => Body::Flash(b),
                Content::Error => {
                    out.copy_within(split..split + error_len, head_end);
                    head_end += error_len;
                    Body::None
                }
                Content::Page(n) => Body::Page { pos: 0, end: n },
                Content::Stream {
                    handler, cursor, ..
                } => Body::Stream {
                    handler,
                    cursor,
                    chunked: written.body == BodyPlan::Chunked,
                },
            }
        };
        let body_bytes = match (&body, length) {
            (Body::None, _) => 0,
            (_, BodyLength::Known(n)) => n,
            (_, BodyLength::Unknown) => 0,
        };
        conn.set_output(head_end, body);
        // The request's bytes are done with; pipelined bytes after them stay. A connection that
        // closes keeps its input (lingering close discards it).
        if keep_alive {
            conn.consume(head_len + body_len);
        }
        let mut src = Sources {
            page: &*self.page,
            handlers: &mut *self.site.handlers,
        };
        let sent = conn.send(sock, &mut src);
        if sent == Sent::All {
            conn.release_output();
        }
        if let Some(r) = record {
            r.count_request(written.len as u64 + body_bytes, mono);
        }
        (sent, keep_alive)
    }

    /// Route a parsed request (the Unix server's `handle` / `handle_path`).
    #[allow(clippy::too_many_arguments)]
    fn route<'t>(
        &mut self,
        req: &Request<'_>,
        decoded: &'t mut [u8; MAX_PATH],
        text: &'t mut FieldText,
        allow: &'t mut [u8; 32],
        location: &'t mut [u8; MAX_PATH + 2],
        fields: &mut Fields<'t>,
    ) -> Reply {
        let method = req.method();
        match req.target().form() {
            // `OPTIONS *` asks about the server, not a resource: 200 with no body and no Allow.
            TargetForm::Asterisk => return Reply::new(Status::OK, Content::None),
            // `CONNECT host:port` asks for a tunnel, and this server is no proxy.
            TargetForm::Authority => return refuse_method(method, &FILE_METHODS, allow, fields),
            TargetForm::Origin | TargetForm::Absolute => {}
        }
        let n = match path::normalize(req.target().path().as_bytes(), decoded) {
            Ok(n) => n,
            Err(e) => {
                crate::log::info!("{}", e.reason());
                return Reply::error(e.status());
            }
        };
        let decoded: &'t [u8] = &decoded[..n];
        let status = self.site.status && decoded == b"/server-status";
        let handler = if status {
            None
        } else {
            self.site.handlers.iter().position(|h| h.claims(decoded))
        };
        let allowed: &[Method<'_>] = if status || handler.is_some() {
            &PAGE_METHODS
        } else {
            &FILE_METHODS
        };
        match method {
            Method::Options => {
                let k = error_page::allow_value(allowed, allow).unwrap_or(0);
                fields.push("Allow", &allow[..k]);
                return Reply::new(Status::OK, Content::None);
            }
            m if allowed.contains(&m) => {}
            m => return refuse_method(m, allowed, allow, fields),
        }
        if status {
            return self.status_page(req, allow, fields);
        }
        if let Some(h) = handler {
            let d = self.site.handlers[h].start(req);
            fields.push("Content-Type", d.content_type.as_bytes());
            return Reply::new(
                Status::OK,
                Content::Stream {
                    handler: h as u8,
                    length: d.length,
                    cursor: d.cursor,
                },
            );
        }
        let tree = self.site.tree;
        let file = match tree.lookup(decoded) {
            Entry::File(f) => f,
            Entry::Missing => return Reply::error(Status::NOT_FOUND),
            Entry::Directory if !decoded.ends_with(b"/") => {
                // mod_dir's DirectorySlash: redirect to the directory's canonical URL.
                let raw = req.target().path().as_bytes();
                let q = req.target().query();
                let need = raw.len() + 1 + q.map_or(0, |q| q.len() + 1);
                if need > location.len() {
                    return Reply::error(Status::NOT_FOUND);
                }
                location[..raw.len()].copy_from_slice(raw);
                location[raw.len()] = b'/';
                let mut k = raw.len() + 1;
                if let Some(q) = q {
                    location[k] = b'?';
                    location[k + 1..k + 1 + q.len()].copy_from_slice(q.as_bytes());
                    k += 1 + q.len();
                }
                fields.push("Location", &location[..k]);
                return Reply::error(Status::MOVED_PERMANENTLY);
            }
            Entry::Directory => {
                let mut index = [0u8; MAX_PATH + 10];
                let k = decoded.len();
                if k + 10 > index.len() {
                    return Reply::error(Status::FORBIDDEN);
                }
                index[..k].copy_from_slice(decoded);
                index[k..k + 10].copy_from_slice(b"index.html");
                match tree.lookup(&index[..k + 10]) {
                    Entry::File(f) => f,
                    // No index and no listings: 403, as httpd without mod_autoindex.
                    _ => return Reply::error(Status::FORBIDDEN),
                }
            }
        };
        let size = file.body.len() as u64;
        let validators = Validators {
            etag: Some(file.etag.as_bytes()),
            last_modified: Some(file.modified),
        };
        let answer = representation::answer(req, size, &validators, self.unix_now);
        let stored = Stored {
            size,
            content_type: file.content_type.map(str::as_bytes),
            etag: file.etag.as_bytes(),
            modified: file.modified,
            modified_text: None,
        };
        let mut list = [("", &b""[..]); representation::MAX_FIELDS];
        let k = answer.fields(&stored, self.unix_now, text, &mut list);
        for (name, value) in &list[..k] {
            fields.push(name, value);
        }
        match answer {
            Answer::NotModified => Reply::new(Status::NOT_MODIFIED, Content::None),
            Answer::PreconditionFailed | Answer::NotSatisfiable => Reply::error(answer.status()),
            Answer::Full | Answer::Partial { .. } => {
                let (start, len) = answer.body(size).unwrap_or((0, size));
                let body = &file.body[start as usize..(start + len) as usize];
                Reply::new(answer.status(), Content::Flash(body))
            }
        }
    }

    fn status_page<'t>(
        &mut self,
        req: &Request<'_>,
        scratch: &'t mut [u8; 32],
        fields: &mut Fields<'t>,
    ) -> Reply {
        let query = Query::parse(req.target().query().unwrap_or(""));
        if self.page_leased {
            // One page buffer: a second status request while the first is still being sent
            // is refused rather than queued.
            return Reply::error(Status::SERVICE_UNAVAILABLE);
        }
        let info = ServerInfo {
            server_name: &self.settings.server_name,
            local_ip: self.site.local_ip,
            server_version: self.site.server_software,
            mpm: "event",
            built: self.site.built,
            now: self.unix_now,
            now_monotonic: self.mono_now,
            utc_offset: 0,
            time_zone: "UTC",
            config_generation: 1,
            mpm_generation: 0,
            load: [-1.0; 3],
            clock_ticks: 100,
            threads_per_child: self.settings.worker_steps,
            max_servers: 1,
            is_async: true,
            extended_status: self.site.extended_status,
        };
        match crate::status::render(self.page, &query, &info, &self.scores) {
            Some(n) => {
                fields.push("Content-Type", query.format().content_type().as_bytes());
                if let Some(secs) = query.refresh {
                    // `?refresh=N`, as the Unix server: the page asks to be reloaded.
                    let mut k = scratch.len();
                    let mut v = secs;
                    loop {
                        k -= 1;
                        scratch[k] = b'0' + (v % 10) as u8;
                        v /= 10;
                        if v == 0 || k == 0 {
                            break;
                        }
                    }
                    fields.push("Refresh", &scratch[k..]);
                }
                Reply::new(Status::OK, Content::Page(n))
            }
            None => {
                crate::log::warning!("server-status does not fit the page buffer");
                Reply::error(Status::INTERNAL_SERVER_ERROR)
            }
        }
    }
}
