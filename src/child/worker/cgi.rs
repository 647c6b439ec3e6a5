//! The worker's CGI handler: a script's response is produced and sent by the worker that took
//! the request, which keeps the connection (and shows `W` on server-status) until the script is
//! done — the event MPM's documented fallback for content whose end it cannot see. Everything
//! about running the script is in [`crate::cgi`]; this file ties it to the worker's responses,
//! logs and keep-alive decisions.

use eventmpm_core::conn::{self, KeepAlive};
use eventmpm_core::http1::response::{BodyLength, BodyPlan, Persistence, ResponseHead};
use eventmpm_core::http1::{self, BodyFraming, Method, Request, Status, path};

use super::Worker;
use super::access_log::Delivered;
use super::error_document::decoded_path;
use super::plan::{Blocking, Body, DocumentRun, FieldRoom, Reply};
use super::respond::RequestTime;
use crate::cgi::env::{Redirected, ServerFacts};
use crate::cgi::exchange::{Abort, Exchange, Framing, HeadFailure, Out, RequestBody};
use crate::cgi::headers::HeadError;
use crate::cgi::{Lookup, Script, process};
use crate::child::connio::{ConnIo, Sent};
use crate::config::Handler;
use crate::site::Route;

/// What the CGI handler did with a request.
pub(super) enum CgiDone {
    /// It answered (and logged) the request itself; the connection's input up to the offset
    /// given is consumed when it stays open.
    Sent(Sent, usize),
    /// Answer with this reply as any other handler's (an error page).
    Reply(Reply),
    /// The script redirected (httpd does so only from a 200, which an error document's script
    /// must say with `Status`): the client redirect, or the answer of the request redirected
    /// to, directly or down a chain. An error here is a fresh one, answered by its
    /// `ErrorDocument` even under an error document's script, not "Additionally…".
    Redirected(Onward),
}

/// A reply made down a script's redirect ([`CgiDone::Redirected`]).
pub(super) struct Onward {
    pub reply: Reply,
    /// The internal redirects the request had gone through when the reply was made.
    pub redirects: u32,
    /// The decoded path of the request the reply answers (httpd's failing request, whose
    /// sections give its `ErrorDocument`); `None` if it does not decode.
    pub path: Option<Vec<u8>>,
}

/// How one script run ended.
enum Run {
    Reply(Reply),
    /// From a redirect ([`CgiDone::Redirected`]).
    Redirected(Onward),
    /// The client went away before a response began.
    Gone,
    Streamed {
        status: u16,
        head_len: u64,
        body_bytes: u64,
        ok: bool,
        keep_alive: bool,
        consumed: usize,
    },
}

/// The methods a script is assumed to take, for OPTIONS (mod_cgi: "99 out of 100 CGI
/// scripts, this is all they support").
const CGI_ALLOW: &[u8] = b"GET, HEAD, POST, OPTIONS";

/// Request-wide values the script runs need.
#[derive(Clone, Copy)]
struct Ctx<'r> {
    served_before: u32,
    time: &'r RequestTime,
    /// The original request, whose target is `REQUEST_URI` after internal redirects.
    original: &'r Request<'r>,
    /// The request redirected from (httpd's `r->prev`): `REDIRECT_URL` and
    /// `REDIRECT_QUERY_STRING` are its.
    prev: &'r Request<'r>,
    /// The status of an answer whose script sends none: an error document's error (httpd's
    /// redirected request inherits it), else 200.
    status_if_none: Option<Status>,
}

impl Worker<'_> {
    /// Whether a request on `route` may be for a CGI script: finding out looks at the file
    /// system ([`Self::cgi_route`]).
    pub(super) fn cgi_may_apply(&self, route: &Route<'_>) -> bool {
        self.host().cgi.is_enabled() || route.handler == Handler::Cgi
    }

    /// If `decoded` names a CGI script (or a refused one), the reply that stands for it: a
    /// [`Body::Cgi`] to run, or an error page. `None` for anything else.
    pub(super) fn cgi_route(
        &mut self,
        req: &Request<'_>,
        decoded: &[u8],
        route: &Route<'_>,
    ) -> Option<Reply> {
        if !self.cgi_may_apply(route) {
            return None;
        }
        let host = self.host();
        let found = host.cgi.locate(&host.document_root, route, decoded);
        match found {
            Lookup::NotCgi => None,
            Lookup::Refused(status) => Some(self.error_reply(status, req.method().as_str(), b"")),
            Lookup::Script(_) if req.method() == Method::Options => {
                self.fields.push("Allow", CGI_ALLOW);
                Some(Reply::new(Status::OK))
            }
            Lookup::Script(s) => {
                let mut r = Reply::new(Status::OK);
                r.filename = Some(s.filename.display().to_string().into());
                r.body = Body::Cgi(s);
                Some(r)
            }
        }
    }

    /// The script's response fields as the `Header` lines in force edit them, or `None` when
    /// no line applies.
    fn script_headers(
        &mut self,
        req: &Request<'_>,
        fields: &[(&str, &[u8])],
        status: Status,
        time: &RequestTime,
    ) -> Option<Vec<(String, Vec<u8>)>> {
        let host = self.host();
        if !host.modules_active {
            return None;
        }
        let raw = req.target().path().as_bytes();
        let mut decoded = vec![0u8; raw.len() + 1];
        let n = path::normalize(raw, &mut decoded).ok()?;
        let sections = host.sections(&decoded[..n]);
        if !crate::modules::has_headers(sections.clone()) {
            return None;
        }
        let mut table: Vec<(String, Vec<u8>)> = fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_vec()))
            .collect();
        let code = status.code();
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        crate::modules::apply_headers(
            sections,
            &mut self.modules,
            &mut table,
            code < 300 || code == 304,
            req.headers(),
            time.micros,
            now_us,
        );
        Some(table)
    }

    /// Run `script` for `req` and answer the client. The connection's input holds the head
    /// (`head_bytes`) and whatever of the body has arrived. With `document`, the script is a
    /// local `ErrorDocument` for `req`: it runs for the document's own request, without a body
    /// (the original's, `skipped` bytes after the head, is skipped), and its answer has the
    /// error's status unless it sends one. `redirects`: the internal redirects the request
    /// has gone through to this run (the document's own included).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cgi_respond(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        head_bytes: &[u8],
        script: &Script,
        served_before: u32,
        time: &RequestTime,
        document: Option<&DocumentRun>,
        redirects: u32,
        skipped: usize,
        may_keep: bool,
    ) -> CgiDone {
        let head_len = head_bytes.len();
        let limits = self.shared.limits;
        let mut room = FieldRoom::new();
        let (run_req, body, status_if_none, depth) = match document {
            None => (
                None,
                RequestBody {
                    framing: req.body(),
                    buffered: io.input.buffered().get(head_len..).unwrap_or(&[]),
                    expects_continue: req.expects_continue(),
                    limits,
                },
                None,
                redirects,
            ),
            Some(d) => {
                let Ok(doc) = room.parse(&d.head, &limits, &self.site.protocol) else {
                    return CgiDone::Reply(self.error_reply(
                        Status::INTERNAL_SERVER_ERROR,
                        req.method().as_str(),
                        b"",
                    ));
                };
                let body = RequestBody {
                    framing: BodyFraming::None,
                    buffered: &[],
                    expects_continue: false,
                    limits,
                };
                (Some(doc), body, Some(d.status), redirects)
            }
        };
        let ctx = Ctx {
            served_before,
            time,
            original: req,
            prev: req,
            status_if_none,
        };
        let run = self.run_script(
            io,
            run_req.as_ref().unwrap_or(req),
            script,
            body,
            ctx,
            depth,
            may_keep,
        );
        // Every script of the run has been reaped: its CPU time is now the process's children's.
        if let Some(children) = crate::cputime::children_ticks() {
            self.shared.board.raise_children_cpu(children);
        }
        match run {
            Run::Reply(r) => CgiDone::Reply(r),
            Run::Redirected(o) => CgiDone::Redirected(o),
            Run::Gone => {
                self.last_keep_alive = false;
                self.clean_close = false;
                CgiDone::Sent(Sent::Failed, 0)
            }
            Run::Streamed {
                status,
                head_len: head_out,
                body_bytes,
                ok,
                keep_alive,
                consumed,
            } => {
                self.last_keep_alive = keep_alive;
                // A script's request may have a body still coming: always linger.
                self.clean_close = false;
                let filename = script.filename.display().to_string();
                let ended = std::time::Instant::now();
                let sent = Delivered {
                    status,
                    head_len: head_out,
                    body_bytes,
                    filename: Some(&filename),
                    ended,
                };
                self.log(io, req, head_bytes, &sent, time, served_before);
                self.request_done(head_out + body_bytes, time.started, ended);
                // A response cut short by the client is a failed connection; one cut short by
                // the script (timeout, wrong length) closes normally after what was sent.
                let sent = if ok { Sent::All } else { Sent::Failed };
                CgiDone::Sent(sent, head_len + skipped + consumed)
            }
        }
    }

    /// One script run (and, for an internal redirect, the runs it leads to, at most
    /// `LimitInternalRecursion` deep). `may_keep`: the connection may stay open afterwards as far as
    /// earlier runs are concerned.
    #[allow(clippy::too_many_arguments)]
    fn run_script(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        script: &Script,
        body: RequestBody<'_>,
        ctx: Ctx<'_>,
        depth: u32,
        may_keep: bool,
    ) -> Run {
        let method = req.method().as_str();
        let site = self.site;
        let host = self.host();
        let facts = ServerFacts {
            software: &site.server_software,
            name: &host.server_name,
            admin: &host.server_admin,
            document_root: &host.document_root,
            path: &host.cgi.path_env,
        };
        let redirected = (depth > 0).then(|| Redirected {
            url: ctx.prev.target().path().as_bytes(),
            query: ctx.prev.target().query().map(str::as_bytes),
            status: ctx.status_if_none.map_or(200, |s| s.code()),
            request_uri: ctx.original.target().raw().as_bytes(),
        });
        let mut env = crate::cgi::env::build(req, script, io.peer, io.local, &facts, redirected);
        crate::modules::add_cgi_vars(&self.modules, &mut env);
        if host.modules_active {
            let raw = req.target().path().as_bytes();
            let mut decoded = vec![0u8; raw.len() + 1];
            if let Ok(n) = path::normalize(raw, &mut decoded) {
                let sections = host.sections(&decoded[..n]);
                if let Some(table) = crate::modules::edited_request_fields(
                    sections,
                    &self.modules,
                    req.headers(),
                    ctx.time.micros,
                ) {
                    crate::cgi::env::replace_field_vars(
                        &mut env,
                        table.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
                    );
                }
            }
        }
        if io.tls.is_some() {
            // mod_ssl's fixup sets HTTPS for every request over TLS.
            for (k, v) in env.iter_mut() {
                if k == "REQUEST_SCHEME" {
                    *v = "https".into();
                }
            }
            env.push(("HTTPS".into(), "on".into()));
        }
        let name = script.name();
        let file = script.filename.display().to_string();
        let mut ex = match Exchange::start(
            &script.filename,
            &script.dir,
            &env,
            &io.sock,
            io.tls.as_deref(),
            io.peer,
            body,
            host.cgi.timeout,
        ) {
            Ok(ex) => ex,
            Err(e) => {
                let errno = e.raw_os_error().unwrap_or(0);
                log::error!(
                    "[client {}] AH01215: ({errno}){e}: exec of '{file}' failed: {file}",
                    io.peer
                );
                return Run::Reply(self.error_reply(Status::INTERNAL_SERVER_ERROR, method, b""));
            }
        };
        let head = match ex.read_head() {
            Ok(h) => h,
            Err(HeadFailure::Abort(a)) => {
                ex.abort(&a, &name, true);
                return match a {
                    Abort::ClientGone => Run::Gone,
                    Abort::Timeout => {
                        Run::Reply(self.error_reply(Status::GATEWAY_TIMEOUT, method, b""))
                    }
                    Abort::Body(e) => {
                        let mut r = self.error_reply(e.status(), method, b"");
                        r.close = true;
                        Run::Reply(r)
                    }
                };
            }
            Err(HeadFailure::Malformed(e)) => {
                // Let a script that ended say why on stderr before the verdict is logged.
                let st = match e {
                    HeadError::Ended { .. } => ex.finish(),
                    _ => ex.kill(),
                };
                log::error!("[client {}] {}", io.peer, e.message(&name));
                if matches!(e, HeadError::Ended { .. }) && !st.success() {
                    log::error!(
                        "[client {}] CGI script {file} {}",
                        io.peer,
                        process::describe(st)
                    );
                }
                return Run::Reply(self.error_reply(Status::INTERNAL_SERVER_ERROR, method, b""));
            }
        };
        if let (Some(local), Some(location)) = (
            head.head.redirect(ctx.status_if_none.unwrap_or(Status::OK)),
            &head.head.location,
        ) {
            // mod_cgi: the script's body for a redirect is read and dropped.
            match ex.discard_output() {
                Ok(()) => {
                    ex.finish();
                }
                Err(a) => {
                    ex.abort(&a, &name, false);
                    if a == Abort::ClientGone {
                        return Run::Gone;
                    }
                }
            }
            if !local {
                return Run::Redirected(Onward {
                    reply: self.error_reply(Status::FOUND, method, location),
                    redirects: depth,
                    path: decoded_path(req),
                });
            }
            let keep = may_keep && ex.body_complete() && req.body() == BodyFraming::None;
            drop(ex);
            return self.internal_redirect(io, req, location, ctx, depth + 1, keep);
        }
        self.stream(io, req, &mut ex, head, ctx, may_keep, &name)
    }

    /// Send the script's response: its header block as our head, then its output.
    #[allow(clippy::too_many_arguments)]
    fn stream(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        ex: &mut Exchange<'_>,
        head: crate::cgi::exchange::Head,
        ctx: Ctx<'_>,
        may_keep: bool,
        name: &str,
    ) -> Run {
        let script_head = &head.head;
        let status = match (&script_head.status, ctx.status_if_none) {
            (None, Some(s)) => s,
            _ => script_head.status(),
        };
        let stopping = self
            .shared
            .stopping
            .load(std::sync::atomic::Ordering::Relaxed);
        // The connection can carry another request only if the body has been read whole by
        // now (a script answering while it still reads its input gets `Connection: close`).
        let wants = req.keep_alive() && may_keep && ex.body_complete();
        let persistence = match conn::keep_alive(
            &self.site.keep_alive,
            ctx.served_before,
            wants,
            true,
            status.code(),
            stopping,
        ) {
            KeepAlive::Close => Persistence::Close,
            KeepAlive::Open { timeout, remaining } => Persistence::KeepAlive {
                timeout,
                max: remaining,
            },
        };
        let mut fields: Vec<(&str, &[u8])> = Vec::with_capacity(script_head.fields.len() + 2);
        if let Some(ct) = &script_head.content_type {
            fields.push(("Content-Type", ct));
        }
        if let Some(loc) = &script_head.location {
            fields.push(("Location", loc));
        }
        for (n, v) in &script_head.fields {
            fields.push((n.as_str(), v));
        }
        // `Header` lines apply to a script's fields as to any response's.
        let edited = self.script_headers(req, &fields, status, ctx.time);
        if let Some(table) = &edited {
            fields = table
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_slice()))
                .collect();
        }
        let size: usize = fields.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        let mut buf = vec![0u8; size + 1024];
        let date = *self.date.get(ctx.time.secs);
        let written = ResponseHead {
            status,
            request_version: req.version(),
            head_only: req.method() == Method::Head,
            length: match script_head.content_length {
                Some(n) => BodyLength::Known(n),
                None => BodyLength::Unknown,
            },
            date: &date,
            server: self.site.server_software.as_bytes(),
            persistence,
            keep_alive_asked: req.connection().keep_alive(),
            headers: &fields,
        }
        .write(&mut buf);
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                log::error!(
                    "[client {}] cannot write the response head of {name}: {e}",
                    io.peer
                );
                ex.kill();
                return Run::Reply(self.error_reply(
                    Status::INTERNAL_SERVER_ERROR,
                    req.method().as_str(),
                    b"",
                ));
            }
        };
        buf.truncate(written.len);
        if let Some((_, Some(reason))) = &script_head.status {
            buf = with_reason(buf, reason);
        }
        let head_len = buf.len() as u64;
        let framing = match written.body {
            BodyPlan::None => Framing::Discard,
            BodyPlan::Length(n) => Framing::Length(n),
            BodyPlan::Chunked => Framing::Chunked,
            BodyPlan::UntilClose => Framing::Close,
        };
        let mut out = Out::new(buf, framing, &head.rest);
        let result = ex.stream(&mut out);
        let ok = match &result {
            Ok(()) => {
                let st = ex.finish();
                if !st.success() {
                    log::info!(
                        "[client {}] CGI script {name} {} after its response",
                        io.peer,
                        process::describe(st)
                    );
                }
                true
            }
            Err(a) => {
                ex.abort(a, name, false);
                false
            }
        };
        Run::Streamed {
            status: status.code(),
            head_len,
            body_bytes: out.body_bytes,
            // Only a client that went away fails the connection; other ends close it after
            // what was sent (a truncated body tells the client the response is incomplete).
            ok: !matches!(result, Err(Abort::ClientGone)),
            keep_alive: ok
                && !written.close
                && !out.mismatch
                && ex.body_complete()
                && framing != Framing::Close,
            consumed: ex.input_consumed(),
        }
    }

    /// Serve `location` (a local URL-path a script redirected to) as a GET with the original
    /// request's header fields (those framing a body aside), as httpd's
    /// `ap_internal_redirect_handler` does.
    /// Every reply is [`Run::Redirected`]: the answer of the request redirected to (or
    /// further down its chain), or the refusal of the redirect past `LimitInternalRecursion`.
    fn internal_redirect(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        location: &[u8],
        ctx: Ctx<'_>,
        depth: u32,
        may_keep: bool,
    ) -> Run {
        if depth > self.host().cgi.redirect_limit {
            return Run::Redirected(Onward {
                reply: self.redirect_limit_reply(io, req.method().as_str(), None),
                redirects: depth - 1,
                path: decoded_path(req),
            });
        }
        // A reply follow() could not place is the redirecting request's (its Location).
        let (run, path) = self.follow(io, req, location, ctx, depth, may_keep);
        match run {
            Run::Reply(reply) => Run::Redirected(Onward {
                reply,
                redirects: depth,
                path: path.or_else(|| decoded_path(req)),
            }),
            other => other,
        }
    }

    /// httpd's answer to an internal redirect past `LimitInternalRecursion` (AH00124 logged):
    /// a 500, saying that an `ErrorDocument` for `additionally` failed when the redirect was
    /// to one.
    pub(super) fn redirect_limit_reply(
        &mut self,
        io: &ConnIo,
        method: &str,
        additionally: Option<Status>,
    ) -> Reply {
        let limit = self.host().cgi.redirect_limit;
        log::error!(
            "[client {}] AH00124: Request exceeded the limit of {limit} internal redirects due to probable configuration error. Use 'LimitInternalRecursion' to increase the limit if necessary. Use 'LogLevel debug' to get a backtrace.",
            io.peer
        );
        self.error_reply_after(Status::INTERNAL_SERVER_ERROR, method, b"", additionally)
    }

    /// [`Worker::internal_redirect`] within the limit; with the decoded path of the request
    /// redirected to, once it is known.
    fn follow(
        &mut self,
        io: &ConnIo,
        req: &Request<'_>,
        location: &[u8],
        ctx: Ctx<'_>,
        depth: u32,
        may_keep: bool,
    ) -> (Run, Option<Vec<u8>>) {
        let mut head = Vec::with_capacity(256 + location.len());
        head.extend_from_slice(b"GET ");
        head.extend_from_slice(location);
        head.push(b' ');
        head.extend_from_slice(req.version().as_str().as_bytes());
        head.extend_from_slice(b"\r\n");
        for h in req.headers() {
            let n = h.name;
            if n.eq_ignore_ascii_case("content-length")
                || n.eq_ignore_ascii_case("transfer-encoding")
                || n.eq_ignore_ascii_case("expect")
            {
                continue;
            }
            head.extend_from_slice(n.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(h.value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let mut fields = vec![httparse::EMPTY_HEADER; req.headers().len() + 1];
        let limits = self.shared.limits;
        let target = match http1::parse(&head, &limits, &mut fields) {
            Ok(r) => r,
            Err(e) => {
                log::error!(
                    "[client {}] invalid Location from CGI script: {:?}: {}",
                    io.peer,
                    String::from_utf8_lossy(location),
                    e.reason()
                );
                let r = self.error_reply(Status::INTERNAL_SERVER_ERROR, req.method().as_str(), b"");
                return (Run::Reply(r), None);
            }
        };
        let mut buf = vec![0u8; limits.request_line as usize + 1];
        let decoded = match path::normalize(target.target().path().as_bytes(), &mut buf) {
            Ok(n) => &buf[..n],
            Err(e) => {
                log::info!("{} (client {})", e.reason(), io.peer.ip());
                return (Run::Reply(self.error_reply(e.status(), "GET", b"")), None);
            }
        };
        self.fields.clear();
        let path = Some(decoded.to_vec());
        let Ok(mut reply) = self.handle_path(&target, io, decoded, ctx.time, Blocking::Allowed)
        else {
            // Planning with blocking allowed is never deferred.
            let r = self.error_reply(Status::INTERNAL_SERVER_ERROR, "GET", b"");
            return (Run::Reply(r), path);
        };
        let run = match std::mem::replace(&mut reply.body, Body::None) {
            Body::Cgi(script) => {
                let body = RequestBody {
                    framing: BodyFraming::None,
                    buffered: &[],
                    expects_continue: false,
                    limits,
                };
                // httpd's new request: redirected from this one, with its status (200).
                let ctx = Ctx {
                    prev: req,
                    status_if_none: None,
                    ..ctx
                };
                self.run_script(io, &target, &script, body, ctx, depth, may_keep)
            }
            other => {
                reply.body = other;
                Run::Reply(reply)
            }
        };
        (run, path)
    }
}

/// The head with the script's own reason phrase (`Status: 404 Gone Fishing`) on its status line,
/// as httpd sends it; a phrase with control bytes keeps the standard one.
fn with_reason(head: Vec<u8>, reason: &str) -> Vec<u8> {
    const PREFIX: usize = "HTTP/1.1 NNN ".len();
    let printable = reason
        .bytes()
        .all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
    let Some(eol) = head.windows(2).position(|w| w == b"\r\n") else {
        return head;
    };
    if !printable || reason.len() > 256 || eol < PREFIX || &head[PREFIX..eol] == reason.as_bytes() {
        return head;
    }
    let mut v = Vec::with_capacity(head.len() + reason.len());
    v.extend_from_slice(&head[..PREFIX]);
    v.extend_from_slice(reason.as_bytes());
    v.extend_from_slice(&head[eol..]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_phrases_are_spliced_into_the_status_line() {
        let h = b"HTTP/1.1 404 Not Found\r\nDate: x\r\n\r\n".to_vec();
        assert_eq!(
            with_reason(h.clone(), "Gone Fishing"),
            b"HTTP/1.1 404 Gone Fishing\r\nDate: x\r\n\r\n"
        );
        assert_eq!(with_reason(h.clone(), "Not Found"), h);
        assert_eq!(with_reason(h.clone(), "bad\u{1}"), h);
    }
}
