//! `ErrorDocument` at request time: what httpd's `ap_die` and `ap_send_error_response` do with
//! an error once a handler or an access check has given one.
//!
//! - a message replaces the built-in page's body (a `HEAD` still gets no body and no length);
//! - a full URL turns the answer into a 302 to it, whose own `ErrorDocument 302` message, if
//!   any, is its body (httpd looks the 302 up again when it writes the page);
//! - a local URL-path is an internal redirect: that path is answered as a `GET` (a `HEAD`
//!   stays one) without the request's conditionals or range, with the error's status, the
//!   `REDIRECT_*` variables set and the request's variables renamed `REDIRECT_NAME`, and
//!   without mod_deflate (httpd's filters skip non-200 answers); a CGI script there runs for
//!   that request, without the original's body, and its answer keeps the error's status
//!   unless it sends a `Status` ([`Worker::cgi_respond`]). If it fails, the built-in page
//!   is sent with httpd's "Additionally, a … error was encountered" sentence, naming the
//!   original status as httpd does. An error while answering the document's own request is
//!   never redirected again (httpd's `ap_die` gives up on a recursive error); a script there
//!   that redirects (`Status: 200` and a local `Location`) starts requests with statuses of
//!   their own, whose errors get their `ErrorDocument` again, all of it bounded by
//!   `LimitInternalRecursion` (`Worker::cgi_respond`'s callers count the redirects).
//!
//! A local document is read by a worker only: where blocking is not allowed the answer is
//! deferred to one ([`WouldBlock`]) before anything was sent or logged.

use eventmpm_core::http1::{Limits, Method, Request, Status, Version, path};

use super::Worker;
use super::plan::{Blocking, DocumentRun, FieldRoom, Reply, WouldBlock};
use super::respond::RequestTime;
use crate::child::connio::ConnIo;
use crate::modules::error_document::{self, Document};

/// Request fields the internal redirect does not pass on: the document is never a 304 or a
/// 206 (httpd's `no_local_copy`, and its byte-range filter serves only 200s), has no body to
/// read (the original request's is skipped with it), and is not compressed.
const NOT_PASSED_ON: [&str; 10] = [
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
    "content-length",
    "transfer-encoding",
    "expect",
    "accept-encoding",
];

impl Worker<'_> {
    /// Replace `reply`, one of httpd's built-in error pages, by the `ErrorDocument` in force
    /// for its status: the sections of `decoded` (the request's decoded path), or the server's
    /// own where there is none. `req` is the parsed request, `None` for a head that did not
    /// parse, whose `method` (the request line's first word) is then all that is known: a
    /// local document is redirected to from a request of that method (GET if it is not one)
    /// without fields, as httpd redirects from the request it could not read.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn error_document(
        &mut self,
        reply: Reply,
        req: Option<&Request<'_>>,
        method: &str,
        io: &ConnIo,
        decoded: Option<&[u8]>,
        time: &RequestTime,
        blocking: Blocking,
    ) -> Result<Reply, WouldBlock> {
        let host = self.host();
        if !reply.error_page || !host.modules_active {
            return Ok(reply);
        }
        let find = |code: u16| -> Option<Document> {
            match decoded {
                Some(d) => error_document::find(host.sections(d), code).cloned(),
                None => error_document::find(
                    [&host.modules.section, &host.modules.host_section].into_iter(),
                    code,
                )
                .cloned(),
            }
        };
        let mut reply = reply;
        match find(reply.status.code()) {
            None => Ok(reply),
            Some(Document::Text(text)) => {
                reply.body = super::plan::Body::Page(text);
                Ok(reply)
            }
            Some(Document::Remote(url)) => {
                // ap_send_error_response starts the answer over: the error's fields go, and
                // the connection closes if the first status said so.
                self.fields.clear();
                let mut r = self.error_reply(Status::FOUND, method, url.as_bytes());
                if let Some(Document::Text(text)) = find(Status::FOUND.code()) {
                    r.body = super::plan::Body::Page(text);
                }
                r.close |= reply.close;
                Ok(r)
            }
            Some(Document::Local(_)) if blocking == Blocking::Never => Err(WouldBlock),
            Some(Document::Local(uri)) => match req {
                Some(req) => Ok(self.redirect_to_document(reply, req, io, &uri, time)),
                None => {
                    // A request of the method read, or a GET where the method is no token.
                    let limits = self.shared.limits;
                    let line = format!("{method} / HTTP/1.0\r\n\r\n");
                    let (mut room, mut fallback) = (FieldRoom::new(), FieldRoom::new());
                    let parsed = room
                        .parse(line.as_bytes(), &limits, &self.site.protocol)
                        .or_else(|_| {
                            fallback.parse(b"GET / HTTP/1.0\r\n\r\n", &limits, &self.site.protocol)
                        });
                    match parsed {
                        Ok(r) => Ok(self.redirect_to_document(reply, &r, io, &uri, time)),
                        Err(_) => Ok(reply),
                    }
                }
            },
            Some(Document::Default) => Ok(reply),
        }
    }

    /// The `ErrorDocument` for the error a CGI script's run ended with (`reply`, from a
    /// worker, where blocking is allowed): the sections of `req`'s path apply.
    pub(super) fn script_error_document(
        &mut self,
        reply: Reply,
        req: &Request<'_>,
        io: &ConnIo,
        time: &RequestTime,
    ) -> Reply {
        let decoded = decoded_path(req);
        self.error_document_at(reply, req, decoded.as_deref(), io, time)
    }

    /// [`Worker::script_error_document`] with the sections of `decoded` (the path of the
    /// request that failed, `None` if it does not decode).
    fn error_document_at(
        &mut self,
        reply: Reply,
        req: &Request<'_>,
        decoded: Option<&[u8]>,
        io: &ConnIo,
        time: &RequestTime,
    ) -> Reply {
        let method = req.method().as_str();
        let status = reply.status;
        let r = match self.error_document(
            reply,
            Some(req),
            method,
            io,
            decoded,
            time,
            Blocking::Allowed,
        ) {
            Ok(r) => r,
            // Only a thread that must not block is sent to a worker, and this is one.
            Err(WouldBlock) => self.error_reply(status, method, b""),
        };
        // An error page gets the request's `Header always` lines, as httpd's error filter
        // adds them (a local document has had its own path's).
        if r.document.is_none() && !matches!(r.body, super::plan::Body::Cgi(_)) {
            self.error_page_headers(req, decoded, time);
        }
        r
    }

    /// The `ErrorDocument` for an error that came `redirects` internal redirects down from
    /// `req`, at the decoded path `at` (httpd's failing request, whose sections apply): a
    /// local document would be one more redirect, which past `LimitInternalRecursion` is
    /// httpd's 500 naming the error (AH00124).
    pub(super) fn redirected_error_document(
        &mut self,
        reply: Reply,
        req: &Request<'_>,
        at: Option<&[u8]>,
        io: &ConnIo,
        time: &RequestTime,
        redirects: u32,
    ) -> Reply {
        if reply.error_page
            && redirects >= self.host().cgi.redirect_limit
            && let Some(d) = at
            && self.local_error_document(d, reply.status)
        {
            self.fields.clear();
            let mut r = self.redirect_limit_reply(io, req.method().as_str(), Some(reply.status));
            r.close |= reply.close;
            self.error_page_headers(req, Some(d), time);
            return r;
        }
        self.error_document_at(reply, req, at, io, time)
    }

    /// The `Header always` lines of `req`'s path (`decoded`) on an error page made after its
    /// handler ran, as httpd's error filter adds them.
    pub(super) fn error_page_headers(
        &mut self,
        req: &Request<'_>,
        decoded: Option<&[u8]>,
        time: &RequestTime,
    ) {
        if self.host().modules_active
            && let Some(d) = decoded
        {
            self.module_headers(req, d, false, time);
        }
    }

    /// [`Worker::error_page_headers`] for `req`'s own path.
    pub(super) fn request_error_page_headers(&mut self, req: &Request<'_>, time: &RequestTime) {
        let decoded = decoded_path(req);
        self.error_page_headers(req, decoded.as_deref(), time);
    }

    /// Whether a local `ErrorDocument` would answer `status` for `decoded`: the listener
    /// leaves such a request to a worker before a step that logs (a denial, a refused
    /// method) has run, so that the worker's answer is the only one logged.
    pub(super) fn local_error_document(&self, decoded: &[u8], status: Status) -> bool {
        let host = self.host();
        host.local_error_documents
            && matches!(
                error_document::find(host.sections(decoded), status.code()),
                Some(Document::Local(_))
            )
    }

    /// httpd's `ap_internal_redirect` of an error to the local document `uri`.
    fn redirect_to_document(
        &mut self,
        original: Reply,
        req: &Request<'_>,
        io: &ConnIo,
        uri: &str,
        time: &RequestTime,
    ) -> Reply {
        let status = original.status;
        let method = req.method().as_str();
        // What survives the redirect: err_headers_out (WWW-Authenticate) and, for a redirect,
        // its Location.
        let redirect = (300..400).contains(&status.code());
        let mut kept: Vec<(&'static str, Vec<u8>)> = Vec::new();
        for &(name, s, e) in &self.fields.spans {
            let n = self.fields.name(name);
            if n.eq_ignore_ascii_case("WWW-Authenticate") {
                kept.push(("WWW-Authenticate", self.fields.bytes[s..e].to_vec()));
            } else if redirect && n.eq_ignore_ascii_case("Location") {
                kept.push(("Location", self.fields.bytes[s..e].to_vec()));
            }
        }
        let location = kept
            .iter()
            .find(|(n, _)| *n == "Location")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let failed = |w: &mut Self| {
            w.fields.clear();
            for (n, v) in &kept {
                if *n != "Location" {
                    w.fields.push(n, v);
                }
            }
            let mut r = w.error_reply_after(status, method, &location, Some(status));
            r.close |= original.close;
            r
        };

        // The document's request: the same head with the method and target replaced.
        let head_only = req.method() == Method::Head;
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(if head_only { b"HEAD " } else { b"GET " });
        head.extend_from_slice(uri.as_bytes());
        head.extend_from_slice(match req.version() {
            Version::Http10 | Version::Http09 => b" HTTP/1.0\r\n",
            _ => b" HTTP/1.1\r\n",
        });
        for h in req.headers() {
            if NOT_PASSED_ON.iter().any(|n| h.name.eq_ignore_ascii_case(n)) {
                continue;
            }
            head.extend_from_slice(h.name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(h.value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        let limits: Limits = self.shared.limits;
        let mut room = FieldRoom::new();
        let Ok(doc) = room.parse(&head, &limits, &self.site.protocol) else {
            log::error!("AH01580: Invalid error redirection directive: {uri}");
            return failed(self);
        };
        let mut decoded = vec![0u8; uri.len() + 1];
        let Ok(n) = path::normalize(doc.target().path().as_bytes(), &mut decoded) else {
            log::error!("AH01580: Invalid error redirection directive: {uri}");
            return failed(self);
        };
        decoded.truncate(n);

        // The document's variables: the request's renamed, and what ap_die and
        // internal_internal_redirect add (REDIRECT_URL and REDIRECT_QUERY_STRING are a CGI
        // script's only, which httpd adds to its environment, not to the request's).
        let vars: Vec<(String, String)> = self.modules.vars.pairs().to_vec();
        self.modules.vars.clear();
        for (k, v) in &vars {
            self.modules.vars.set(&format!("REDIRECT_{k}"), v);
        }
        self.modules.vars.set("REDIRECT_REQUEST_METHOD", method);
        self.modules
            .vars
            .set("REDIRECT_STATUS", &status.code().to_string());
        // The document's request authenticates for itself, as httpd's new request does.
        self.modules.user = None;

        self.fields.clear();
        let answered = self.handle_path(&doc, io, &decoded, time, Blocking::Allowed);
        let mut r = match answered {
            Ok(r) => r,
            // Not reached: a worker may block.
            Err(WouldBlock) => return failed(self),
        };
        if r.error_page || !(200..300).contains(&r.status.code()) {
            return failed(self);
        }
        if matches!(r.body, super::plan::Body::Cgi(_)) {
            // The script runs when the answer is written ([`Worker::cgi_respond`]), for the
            // document's request.
            r.cgi_document = Some(Box::new(DocumentRun { head, status }));
            r.status = status;
            r.close |= original.close;
            return r;
        }
        // mod_filter runs no filter on a non-200 answer: no gzip, so no Vary either.
        let vary: Vec<usize> = (0..self.fields.spans.len())
            .filter(|&i| {
                self.fields
                    .name(self.fields.spans[i].0)
                    .eq_ignore_ascii_case("Vary")
            })
            .collect();
        for i in vary.into_iter().rev() {
            self.fields.spans.remove(i);
        }
        for (n, v) in &kept {
            self.fields.push(n, v);
        }
        // The document answers as its own request, whose Header lines are those of its path,
        // on the fields a handler's answer has.
        if self.host().modules_active {
            self.module_headers(&doc, &decoded, true, time);
        }
        r.status = status;
        r.close |= original.close;
        r.document = Some(decoded);
        r
    }
}

/// `req`'s URL-path, decoded and normalized; `None` if it does not decode.
pub(super) fn decoded_path(req: &Request<'_>) -> Option<Vec<u8>> {
    let raw = req.target().path().as_bytes();
    let mut decoded = vec![0u8; raw.len() + 1];
    let n = path::normalize(raw, &mut decoded).ok()?;
    decoded.truncate(n);
    Some(decoded)
}
