//! Planning a response: parse the request head, route it, open and examine what a handler
//! serves, and decide the reply — status, fields, body — without writing anything.
//!
//! [`Blocking::Never`] asks for a plan only if it needs nothing that may block the thread:
//! opening or examining a file, running a CGI script, reading a file. Where it would, the plan
//! is [`WouldBlock`], given before any side effect (no log line, no output, no input consumed),
//! so the request can go to a worker thread as it came.

use eventmpm_core::conn;
use eventmpm_core::http1::discard::{Discard, discard};
use eventmpm_core::http1::error_page::{self, ErrorPage};
use eventmpm_core::http1::{
    self, HeadError, Header, Limits, Method, ProtocolOptions, Request, Status, TargetForm, Version,
    path,
};

use super::Worker;
use super::respond::RequestTime;
use crate::child::connio::ConnIo;
use crate::config::Handler;
use crate::modules::{self, Outcome};

/// Whether planning may block the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// A worker thread: open and examine files, run CGI scripts.
    Allowed,
    /// A thread that must not block (the listener): plan only what needs no file system, else
    /// say [`WouldBlock`].
    Never,
}

/// The plan needs what [`Blocking::Never`] forbids; nothing was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WouldBlock;

/// Header fields per request parsed without allocating; a larger LimitRequestFields uses a
/// heap array sized per request.
const STACK_HEADERS: usize = 128;

/// The request's client and the address it reached: for access rules, log lines and URLs to
/// this server.
#[derive(Debug, Clone, Copy)]
pub(super) struct Client {
    pub(super) peer: std::net::SocketAddr,
    pub(super) local: std::net::IpAddr,
    /// The port the request reached.
    pub(super) local_port: u16,
}

/// The methods static files answer: POST is served as GET, its body skipped (httpd's
/// `default_handler`).
const FILE_METHODS: [Method<'static>; 4] =
    [Method::Get, Method::Head, Method::Post, Method::Options];
/// The methods server-status answers.
const STATUS_METHODS: [Method<'static>; 3] = [Method::Get, Method::Head, Method::Options];

/// Room for a request's header fields while it is parsed: `LimitRequestFields + 1` of them (one
/// more, to notice too many) or, fewer, one more than the head has lines; on the stack up to
/// [`STACK_HEADERS`].
pub(super) struct FieldRoom<'h> {
    /// For a head of at most [`FEW_HEADERS`] lines, most requests': only these slots are
    /// written before the parse (writing all 128 cost a request more than parsing its head).
    few: Option<[Header<'h>; FEW_HEADERS]>,
    stack: Option<[Header<'h>; STACK_HEADERS]>,
    heap: Vec<Header<'h>>,
}

/// See [`FieldRoom::few`].
const FEW_HEADERS: usize = 16;

/// How many field slots parsing a head takes at most: `LimitRequestFields + 1` (one more, to
/// notice too many); unlimited, one more than the head has lines (a field takes a line).
fn slots_for(head: &[u8], limits: &Limits) -> usize {
    match limits.fields {
        0 => head.iter().filter(|&&b| b == b'\n').count() + 1,
        limit => limit as usize + 1,
    }
}

impl<'h> FieldRoom<'h> {
    pub(super) fn new() -> FieldRoom<'h> {
        FieldRoom {
            few: None,
            stack: None,
            heap: Vec::new(),
        }
    }

    /// Parse `head` under the limits and HttpProtocolOptions.
    pub(super) fn parse(
        &'h mut self,
        head: &'h [u8],
        limits: &Limits,
        options: &ProtocolOptions,
    ) -> Result<Request<'h>, HeadError> {
        let need = slots_for(head, limits);
        let few = self.few.insert([httparse::EMPTY_HEADER; FEW_HEADERS]);
        if need <= FEW_HEADERS {
            return http1::parse_with(head, limits, options, &mut few[..need]);
        }
        // Most heads have a handful of fields: parse in the few slots first; only a head that
        // fills them (`TooManyFields` from fewer slots than the limit allows) is parsed again
        // with room for all, which costs less than counting every head's lines up front.
        match http1::parse_with(head, limits, options, &mut few[..]) {
            Err(HeadError::TooManyFields) => {}
            done => return done,
        }
        let headers: &'h mut [Header<'h>] = if need <= STACK_HEADERS {
            &mut self.stack.insert([httparse::EMPTY_HEADER; STACK_HEADERS])[..need]
        } else {
            // Over a hundred fields (a LimitRequestFields above the default, or unlimited):
            // rare enough to allocate for.
            self.heap = vec![httparse::EMPTY_HEADER; need];
            &mut self.heap[..]
        };
        http1::parse_with(head, limits, options, headers)
    }
}

/// The fields of one response besides those the head writer owns, in a buffer kept by the
/// thread (no allocation per request once it has grown to the largest set).
pub(super) struct Fields {
    /// (name, start, end) into `bytes`.
    pub(super) spans: Vec<(FieldName, usize, usize)>,
    pub(super) bytes: Vec<u8>,
}

/// A response field's name: the server's own, or one a `Header` line wrote (in `bytes`).
#[derive(Clone, Copy)]
pub(super) enum FieldName {
    Static(&'static str),
    Bytes(usize, usize),
}

impl Fields {
    pub(super) fn new() -> Fields {
        Fields {
            spans: Vec::with_capacity(8),
            bytes: Vec::with_capacity(256),
        }
    }

    pub(super) fn clear(&mut self) {
        self.spans.clear();
        self.bytes.clear();
    }

    pub(super) fn push(&mut self, name: &'static str, value: &[u8]) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans
            .push((FieldName::Static(name), start, self.bytes.len()));
    }

    /// A field's name.
    pub(super) fn name(&self, name: FieldName) -> &str {
        match name {
            FieldName::Static(n) => n,
            FieldName::Bytes(s, e) => std::str::from_utf8(&self.bytes[s..e]).unwrap_or(""),
        }
    }

    /// The fields as an owned table, for `Header` lines to edit; `self` is left empty.
    fn take_table(&mut self, out: &mut Vec<(String, Vec<u8>)>) {
        out.clear();
        for &(n, s, e) in &self.spans {
            out.push((self.name(n).to_string(), self.bytes[s..e].to_vec()));
        }
        self.clear();
    }

    /// Replace the fields by `table`'s.
    fn put_table(&mut self, table: &[(String, Vec<u8>)]) {
        self.clear();
        for (n, v) in table {
            let ns = self.bytes.len();
            self.bytes.extend_from_slice(n.as_bytes());
            let vs = self.bytes.len();
            self.bytes.extend_from_slice(v);
            self.spans
                .push((FieldName::Bytes(ns, vs), vs, self.bytes.len()));
        }
    }
}

/// What a request's answer is, before its head is written.
pub(super) enum Body {
    None,
    Page(Vec<u8>),
    /// A range of a file, read or sent from it when the response is placed.
    File {
        file: std::sync::Arc<crate::open_files::OpenFile>,
        start: u64,
        len: u64,
    },
    /// Bytes `start..start + len` of a small file whose contents the open-file cache holds
    /// ([`OpenFile::contents`](crate::open_files::OpenFile::contents)): copied, not read.
    Contents {
        file: std::sync::Arc<crate::open_files::OpenFile>,
        start: u64,
        len: u64,
    },
    /// `len` bytes of a small file already read into the thread's prefetch buffer
    /// ([`Worker::prefetch`](super::Worker)), where blocking is not allowed: read from the
    /// page cache while planning, so the plan could still be given up if they were not there.
    Prefetched {
        len: u64,
    },
    /// A CGI script to run ([`super::cgi`]): it answers the request itself.
    Cgi(Box<crate::cgi::Script>),
}

impl Body {
    /// The body's length as the head announces it (a script's is its own business).
    pub(super) fn len(&self) -> u64 {
        match self {
            Body::None | Body::Cgi(_) => 0,
            Body::Page(p) => p.len() as u64,
            Body::File { len, .. } | Body::Contents { len, .. } | Body::Prefetched { len } => *len,
        }
    }
}

/// A planned reply; its fields are in the thread's [`Fields`].
pub(super) struct Reply {
    pub(super) status: Status,
    pub(super) body: Body,
    /// Force `Connection: close` (the request's body was not read, or the stream is untrusted).
    pub(super) close: bool,
    pub(super) filename: Option<std::sync::Arc<str>>,
    /// A `HEAD` whose `GET` would stream its body (gzip, a listing), or one answered with an
    /// error page: the head says no length, as httpd's does.
    pub(super) length_unknown: bool,
    /// The body goes out as httpd streams it (see [`streams`]): chunked to an HTTP/1.1
    /// client, delimited by the connection's close to an HTTP/1.0 one, without a length.
    pub(super) streamed: bool,
    /// The body is one of httpd's built-in error pages (`ap_send_error_response`), which an
    /// `ErrorDocument` may replace.
    pub(super) error_page: bool,
    /// The decoded URL-path of the local `ErrorDocument` that answered (its sections' `Header`
    /// lines have applied, not the request's).
    pub(super) document: Option<Vec<u8>>,
    /// A local `ErrorDocument` that is a CGI script ([`Body::Cgi`]): what it runs for.
    pub(super) cgi_document: Option<Box<DocumentRun>>,
}

/// The request a CGI script that is a local `ErrorDocument` runs for.
pub(super) struct DocumentRun {
    /// The document's request head (a GET, or a HEAD for a HEAD, of the document's path with
    /// the original's fields).
    pub(super) head: Vec<u8>,
    /// The error's status: the answer's, unless the script sends a `Status`.
    pub(super) status: Status,
}

impl Reply {
    pub(super) fn new(status: Status) -> Reply {
        Reply {
            status,
            body: Body::None,
            close: false,
            filename: None,
            length_unknown: false,
            streamed: false,
            error_page: false,
            document: None,
            cgi_document: None,
        }
    }
}

/// What httpd's buffered writes (`ap_rputs`, `ap_rprintf`) hold before they pass the output
/// on: `APR_BUCKET_BUFF_SIZE`. A page a handler writes that way reaches the content-length
/// filter whole, with the end of its body, only when it fits; a longer one is passed on in
/// parts and streamed.
#[doc(alias = "APR_BUCKET_BUFF_SIZE")]
pub(super) const HTTPD_WRITE_BUFFER: usize = 8000;

/// Whether httpd streams a page of `len` bytes that a handler writes with its buffered writes
/// (mod_autoindex's listing, mod_status's page), `passed_on` if part of it went out through
/// the filters before the end (a subrequest's output: mod_autoindex's HTML `HeaderName` or
/// `ReadmeName` file). httpd's content-length filter sets `Content-Length` only when the whole
/// body arrives with its end (`ap_content_length_filter`); otherwise the answer is chunked
/// (HTTP/1.1) or ends with the connection (HTTP/1.0).
pub(super) fn streams(len: usize, passed_on: bool) -> bool {
    passed_on || len > HTTPD_WRITE_BUFFER
}

/// What a request asked of its response's form.
#[derive(Debug, Clone, Copy)]
pub(super) struct Asked {
    pub(super) version: Version,
    /// HEAD: the head only.
    pub(super) head_only: bool,
    /// The client would keep the connection open.
    pub(super) keep_alive: bool,
    /// Its Connection field named `keep-alive` (then the answer says Keep-Alive too).
    pub(super) keep_alive_asked: bool,
}

/// A request's plan.
pub(super) struct Decision {
    pub(super) reply: Reply,
    pub(super) asked: Asked,
    /// Bytes of an unread body after the head, skipped with it if the connection stays open.
    pub(super) body_len: usize,
}

/// The request line (the head's first line, without its line ending and any empty lines
/// before it).
pub(super) fn request_line(head: &[u8]) -> &[u8] {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    let rest = &head[start..];
    // Twice per request (scoreboard, log line): memchr's vector search, not a byte loop.
    let end = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
    &rest[..end]
}

/// mod_ssl's error note for a client refused by `SSLStrictSNIVHostCheck`.
const SNI_REQUIRED: &str = "Reason: The client software did not provide a hostname using Server \
     Name Indication (SNI), which is required to access this server.<br />\n";

impl Worker<'_> {
    /// Decide the reply to the request whose head (`head`, parsed as `parsed`) starts
    /// `io.input`.
    pub(super) fn plan(
        &mut self,
        parsed: &Result<Request<'_>, HeadError>,
        io: &ConnIo,
        head: &[u8],
        time: &RequestTime,
        blocking: Blocking,
    ) -> Result<Decision, WouldBlock> {
        self.fields.clear();
        self.modules.reset();
        // The connection's default host answers a request whose head does not parse; a parsed
        // one names its own.
        self.host = self
            .site
            .choose(io.local, parsed.as_ref().ok().and_then(|r| r.host()));
        crate::errorlog::set_current_host(self.host);
        if self.host().signature != crate::config::Signature::Off {
            let named = parsed.as_ref().ok().and_then(|r| r.host());
            let (name, port) = match named {
                Some(h) => super::signature::host_and_port(h),
                None => (self.host().server_name.as_str(), None),
            };
            self.sig_name.clear();
            self.sig_name
                .extend(name.bytes().map(|b| b.to_ascii_lowercase()));
            self.sig_port = port;
        }
        let req = match parsed {
            Err(e) => {
                let method = request_line(head)
                    .split(|&b| b == b' ')
                    .next()
                    .and_then(|m| std::str::from_utf8(m).ok())
                    .unwrap_or("GET");
                let reply = self.error_reply(e.status(), method, b"");
                // Before the log line: a local document defers the request to a worker.
                let mut reply =
                    self.error_document(reply, None, method, io, None, time, blocking)?;
                log::info!("request from {} failed: {}", io.peer.ip(), e.reason());
                reply.close = true;
                let asked = Asked {
                    version: Version::Http11,
                    // httpd has read the method before the error: a HEAD gets no body.
                    head_only: method == "HEAD",
                    keep_alive: false,
                    keep_alive_asked: false,
                };
                return Ok(Decision {
                    reply,
                    asked,
                    body_len: 0,
                });
            }
            Ok(req) => req,
        };
        let mut reply = if self.sni_required(io) {
            log::info!(
                "[client {}] AH02033: No hostname was provided via SNI for a name based virtual host",
                io.peer
            );
            self.error_notes = SNI_REQUIRED;
            self.error_reply(Status::FORBIDDEN, req.method().as_str(), b"")
        } else {
            self.handle(req, io, time, blocking)?
        };
        let mut body_len = 0;
        // A script reads the request's body, but not one that is an error document.
        if !matches!(reply.body, Body::Cgi(_)) || reply.cgi_document.is_some() {
            // A body no handler reads must not be taken for the next request.
            let after_head = io.input.buffered().get(head.len()..).unwrap_or(&[]);
            let limits = self.shared.limits;
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
        let asked = Asked {
            version: req.version(),
            head_only: req.method() == Method::Head,
            // SetEnvIf's `nokeepalive` (Debian's setenvif.conf sets it for old browsers).
            keep_alive: req.keep_alive() && !self.modules.vars.is_set("nokeepalive"),
            keep_alive_asked: req.connection().keep_alive(),
        };
        Ok(Decision {
            reply,
            asked,
            body_len,
        })
    }

    /// mod_ssl's `SSLStrictSNIVHostCheck On`: a TLS client that named no host (SNI) may not
    /// reach name-based virtual hosts (two or more on the connection's address); it gets a 403
    /// for each request, as from mod_ssl's post-read-request check.
    fn sni_required(&self, io: &ConnIo) -> bool {
        io.sent_sni() == Some(false) && self.site.tls.strict_sni() && self.site.name_based(io.local)
    }

    /// Route and answer a parsed request.
    fn handle(
        &mut self,
        req: &Request<'_>,
        io: &ConnIo,
        time: &RequestTime,
        blocking: Blocking,
    ) -> Result<Reply, WouldBlock> {
        let method = req.method();
        match req.target().form() {
            // `OPTIONS *` asks about the server, not a resource: 200 with no body, as httpd
            // answers it (without an Allow field).
            TargetForm::Asterisk => return Ok(Reply::new(Status::OK)),
            // `CONNECT host:port` asks for a tunnel, and this server is no proxy: 405, as httpd
            // without mod_proxy answers.
            TargetForm::Authority => return Ok(self.refuse_method(method, &FILE_METHODS)),
            TargetForm::Origin | TargetForm::Absolute => {}
        }
        // The decoding buffer is taken out for the request so `decoded` can be borrowed while the
        // handlers use the rest of the worker; it is put back below (no allocation per request).
        let mut buf = std::mem::take(&mut self.path);
        let reply = match path::normalize(req.target().path().as_bytes(), &mut buf) {
            Ok(n) => {
                let mut reply = self
                    .handle_path(req, io, &buf[..n], time, blocking)
                    .and_then(|r| {
                        let m = req.method().as_str();
                        self.error_document(r, Some(req), m, io, Some(&buf[..n]), time, blocking)
                    });
                if let Ok(r) = &mut reply
                    && self.host().modules_active
                    && !matches!(r.body, Body::Cgi(_))
                {
                    match r.document.take() {
                        // An error document's own Header lines have applied.
                        Some(_) => {}
                        None => {
                            let code = r.status.code();
                            self.module_headers(req, &buf[..n], code < 300 || code == 304, time)
                        }
                    }
                }
                reply
            }
            Err(e) => {
                let r = self.error_reply(e.status(), method.as_str(), b"");
                let r =
                    self.error_document(r, Some(req), method.as_str(), io, None, time, blocking);
                // After: a local document defers the request to a worker, which logs it.
                if r.is_ok() {
                    log::info!("{} (client {})", e.reason(), io.peer.ip());
                }
                r
            }
        };
        self.path = buf;
        reply
    }

    /// Answer a request for the decoded path `decoded`.
    pub(super) fn handle_path(
        &mut self,
        req: &Request<'_>,
        io: &ConnIo,
        decoded: &[u8],
        time: &RequestTime,
        blocking: Blocking,
    ) -> Result<Reply, WouldBlock> {
        let method = req.method();
        if self.host().modules_active
            && let Some(reply) = self.module_checks(req, io, decoded, blocking)?
        {
            return Ok(reply);
        }
        let route = self.host().route(decoded);
        // Finding a script looks at the file system.
        if blocking == Blocking::Never && self.cgi_may_apply(&route) {
            return Err(WouldBlock);
        }
        if let Some(reply) = self.cgi_route(req, decoded, &route) {
            return Ok(reply);
        }
        let allowed: &[Method<'_>] = match route.handler {
            Handler::ServerStatus => &STATUS_METHODS,
            Handler::Default | Handler::Cgi | Handler::Unset => &FILE_METHODS,
        };
        match method {
            Method::Options => {
                // httpd's type checker has run before OPTIONS is answered: a file (or a
                // directory's index file) gives the reply its Content-Type.
                if route.handler == Handler::Default {
                    let host = self.host();
                    let files = &self.shared.open_files[host.cache];
                    let follow = route.follow_symlinks;
                    let file = match blocking {
                        Blocking::Never => files
                            .lookup(decoded, follow, time.started)
                            .ok_or(WouldBlock)?,
                        Blocking::Allowed => {
                            match files.get_or_open(self.site, host, decoded, follow, time.started)
                            {
                                Ok(f) => f,
                                Err(_) => {
                                    // mod_mime types a missing file by its name all the same.
                                    let name = crate::site::relative_path(decoded);
                                    let rules = &host.output_for(decoded).mime;
                                    if let Some(t) =
                                        self.site.mime.metadata_under(rules, name).content_type
                                    {
                                        self.fields.push("Content-Type", t.as_bytes());
                                    }
                                    self.push_allow(allowed);
                                    return Ok(Reply::new(Status::OK));
                                }
                            }
                        }
                    };
                    let typed = host.typed_for(&self.site.mime, decoded, &file);
                    if let Some(t) = &typed.content_type {
                        self.fields.push("Content-Type", t.as_bytes());
                    }
                }
                self.push_allow(allowed);
                return Ok(Reply::new(Status::OK));
            }
            m if allowed.contains(&m) => {}
            // Refusing logs (an unknown method): a worker does it if it is to redirect.
            m if blocking == Blocking::Never && self.local_error_document(decoded, m.refusal()) => {
                return Err(WouldBlock);
            }
            m => return Ok(self.refuse_method(m, allowed)),
        }
        match route.handler {
            // A worker renders server-status: the page grows with the scoreboard (ServerLimit x
            // ThreadLimit rows), more work than the listener takes on per event, and httpd's
            // page counts the worker that answers it (BusyWorkers is never 0 there).
            Handler::ServerStatus if blocking == Blocking::Never => Err(WouldBlock),
            Handler::ServerStatus => Ok(self.status_page(req, io, time.secs)),
            Handler::Default | Handler::Cgi | Handler::Unset => {
                let client = Client {
                    peer: io.peer,
                    local: io.local.ip(),
                    local_port: io.local.port(),
                };
                self.static_file(req, decoded, route.follow_symlinks, time, blocking, client)
            }
        }
    }

    /// The steps of [`crate::modules`] before a handler: server redirects, SetEnvIf, access and
    /// authentication, section redirects, mod_env. `Some` reply if one of them answers.
    fn module_checks(
        &mut self,
        req: &Request<'_>,
        io: &ConnIo,
        decoded: &[u8],
        blocking: Blocking,
    ) -> Result<Option<Reply>, WouldBlock> {
        let site = self.host();
        let sections = site.sections(decoded);
        // Most paths of most sites: nothing configured for them (one pass over the sections
        // that set something, nothing allocated).
        if site.modules.setenvif.is_empty()
            && site.modules.redirects.is_empty()
            && sections.clone().next().is_none()
        {
            return Ok(None);
        }
        // A password check (bcrypt) is too slow for a thread that must not block.
        if blocking == Blocking::Never && modules::needs_authentication(sections.clone()) {
            return Err(WouldBlock);
        }
        // A denial is logged: where a local ErrorDocument would answer it, a worker answers
        // (and logs) it, once.
        if blocking == Blocking::Never
            && [
                Status::UNAUTHORIZED,
                Status::FORBIDDEN,
                Status::INTERNAL_SERVER_ERROR,
            ]
            .into_iter()
            .any(|s| self.local_error_document(decoded, s))
        {
            return Err(WouldBlock);
        }
        let uri = String::from_utf8_lossy(decoded);
        let protocol = match req.version() {
            Version::Http10 => "HTTP/1.0",
            Version::Http09 => "HTTP/0.9",
            _ => "HTTP/1.1",
        };
        let facts = modules::Request {
            peer: io.peer.ip(),
            local: io.local.ip(),
            local_port: io.local.port(),
            method: req.method().as_str(),
            protocol,
            uri: &uri,
            query: req.target().query(),
            host: req.host().unwrap_or(&site.server_name),
            headers: req.headers(),
        };
        let outcome = modules::translate(&site.modules, &facts)
            .or_else(|| modules::check(&site.modules, sections, &facts, &mut self.modules));
        let method = req.method().as_str();
        Ok(outcome.map(|o| match o {
            Outcome::Redirect { status, location } => {
                let status = Status::new(status).unwrap_or(Status::INTERNAL_SERVER_ERROR);
                self.error_reply(status, method, location.as_deref().unwrap_or("").as_bytes())
            }
            Outcome::Forbidden => self.error_reply(Status::FORBIDDEN, method, b""),
            Outcome::Unauthorized(challenge) => {
                self.fields.push("WWW-Authenticate", challenge.as_bytes());
                self.error_reply(Status::UNAUTHORIZED, method, b"")
            }
            Outcome::ServerError => self.error_reply(Status::INTERNAL_SERVER_ERROR, method, b""),
        }))
    }

    /// mod_headers: the `Header` lines in force edit the response's fields.
    pub(super) fn module_headers(
        &mut self,
        req: &Request<'_>,
        decoded: &[u8],
        success: bool,
        time: &RequestTime,
    ) {
        let site = self.host();
        if !site.any_headers {
            return;
        }
        let sections = site.sections(decoded);
        if !modules::has_headers(sections.clone()) {
            return;
        }
        let mut table = Vec::new();
        self.fields.take_table(&mut table);
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        modules::apply_headers(
            sections,
            &mut self.modules,
            &mut table,
            success,
            req.headers(),
            time.micros,
            now_us,
        );
        self.fields.put_table(&table);
    }

    /// httpd's `default_handler` for a method the handler does not implement
    /// ([`Method::refusal`]), naming the methods that are allowed.
    fn refuse_method(&mut self, method: Method<'_>, allowed: &[Method<'_>]) -> Reply {
        if !method.is_registered() {
            log::info!("Invalid method in request {}", method.as_str());
        }
        let r = self.error_reply(method.refusal(), method.as_str(), b"");
        // TRACE is refused as httpd's `TraceEnable Off` refuses it, before any handler has
        // said what it allows: with an empty Allow.
        self.push_allow(if method == Method::Trace {
            &[]
        } else {
            allowed
        });
        r
    }

    /// An `Allow` field naming `methods`.
    fn push_allow(&mut self, methods: &[Method<'_>]) {
        let mut allow = [0u8; 64];
        let k = error_page::allow_value(methods, &mut allow).unwrap_or(0);
        self.fields.push("Allow", &allow[..k]);
    }

    /// httpd's error page for `status` (with a `Location` field for a redirect).
    pub(super) fn error_reply(&mut self, status: Status, method: &str, location: &[u8]) -> Reply {
        self.error_reply_after(status, method, location, None)
    }

    /// [`Worker::error_reply`], saying that an `ErrorDocument` for it failed with
    /// `additionally` if given.
    pub(super) fn error_reply_after(
        &mut self,
        status: Status,
        method: &str,
        location: &[u8],
        additionally: Option<Status>,
    ) -> Reply {
        let mut page = vec![0u8; 2048];
        let page_len = ErrorPage {
            status,
            method,
            server_admin: &self.host().server_admin,
            location,
            expect: b"",
            notes: std::mem::take(&mut self.error_notes),
            additionally,
        }
        .write(&mut page)
        .unwrap_or(0);
        page.truncate(page_len);
        let host = self.host();
        super::signature::append(
            &mut page,
            host.signature,
            &self.site.server_software,
            &self.sig_name,
            // httpd: the Host field's port, else the default port for http.
            self.sig_port.unwrap_or(80),
            &host.server_admin,
        );
        if !location.is_empty() {
            self.fields.push("Location", location);
        }
        if page_len > 0 {
            self.fields.push("Content-Type", error_page::CONTENT_TYPE);
        }
        let mut r = Reply::new(status);
        r.close = conn::drops_connection(status.code());
        r.body = Body::Page(page);
        // ap_send_error_response returns before writing the page for a HEAD: the content-length
        // filter never sees a body, so the head has no length.
        r.length_unknown = true;
        r.error_page = true;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_longer_than_httpds_write_buffer_stream() {
        assert!(!streams(0, false));
        assert!(
            !streams(HTTPD_WRITE_BUFFER, false),
            "8000 bytes fit the buffer"
        );
        assert!(streams(HTTPD_WRITE_BUFFER + 1, false));
        assert!(streams(10, true), "a subrequest's output went out first");
    }

    #[test]
    fn the_request_line_skips_leading_empty_lines() {
        assert_eq!(
            request_line(b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            b"GET / HTTP/1.1"
        );
        assert_eq!(request_line(b"GET /\n"), b"GET /");
        assert_eq!(request_line(b""), b"");
    }

    #[test]
    fn field_room_grows_past_the_stack_only_for_large_limits() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n\r\n";
        let mut limits = Limits::DEFAULT;
        let mut room = FieldRoom::new();
        let req = room
            .parse(head, &limits, &ProtocolOptions::DEFAULT)
            .unwrap();
        assert_eq!(req.headers().len(), 2);
        limits.fields = 1;
        let mut room = FieldRoom::new();
        assert!(
            room.parse(head, &limits, &ProtocolOptions::DEFAULT)
                .is_err(),
            "two fields over a limit of one"
        );
        // Unlimited: a heap array bounded by the head's lines.
        limits.fields = 0;
        let mut room = FieldRoom::new();
        let req = room
            .parse(head, &limits, &ProtocolOptions::DEFAULT)
            .unwrap();
        assert_eq!(req.headers().len(), 2);
    }

    fn head_with(fields: usize) -> Vec<u8> {
        let mut h = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 1..fields {
            h.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    }

    #[test]
    fn field_room_parses_any_count_to_the_limit_and_sees_one_too_many() {
        let limits = Limits::DEFAULT;
        let opts = ProtocolOptions::DEFAULT;
        // Around the few slots tried first (16) and up to the limit (100), which then needs 101.
        for fields in [1, 14, 15, 16, 17, 99, 100] {
            let head = head_with(fields);
            assert_eq!(slots_for(&head, &limits), 101, "{fields} fields");
            let mut room = FieldRoom::new();
            let n = room.parse(&head, &limits, &opts).map(|r| r.headers().len());
            assert_eq!(n, Ok(fields), "{fields} fields");
        }
        // A limit under the few slots: one field more than it is refused in the few.
        let three = Limits {
            fields: 3,
            ..Limits::DEFAULT
        };
        let mut room = FieldRoom::new();
        let n = room
            .parse(&head_with(3), &three, &opts)
            .map(|r| r.headers().len());
        assert_eq!(n, Ok(3));
        let mut room = FieldRoom::new();
        assert_eq!(
            room.parse(&head_with(4), &three, &opts)
                .map(|r| r.headers().len()),
            Err(HeadError::TooManyFields)
        );
        // A bad field past the few slots is found by the second parse, not hidden by the first.
        let mut head = head_with(20);
        head.truncate(head.len() - 2);
        head.extend_from_slice(b"Bad Name: x\r\n\r\n");
        let mut room = FieldRoom::new();
        assert!(matches!(
            room.parse(&head, &limits, &opts),
            Err(e) if e != HeadError::TooManyFields
        ));
        // The default limit is 100: the 101st field is refused.
        let head = head_with(101);
        let mut room = FieldRoom::new();
        assert_eq!(
            room.parse(&head, &limits, &opts).map(|r| r.headers().len()),
            Err(HeadError::TooManyFields)
        );
        // Unlimited: 300 fields parse, in a heap array of the head's lines plus one.
        let unlimited = Limits {
            fields: 0,
            ..Limits::DEFAULT
        };
        let head = head_with(300);
        assert_eq!(slots_for(&head, &unlimited), 303);
        let mut room = FieldRoom::new();
        let n = room
            .parse(&head, &unlimited, &opts)
            .map(|r| r.headers().len());
        assert_eq!(n, Ok(300));
    }
}
